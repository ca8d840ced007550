/**
 * Operators' decisions (`decision` events, with the call-level scores they carry) become labelled
 * call-level scores of one tenant, grouped by detector and channel: the input of a refit.
 *
 *   the label: confirm a `suspicious` / `deepfake-likely` tag  -> fake
 *              dismiss  a `suspicious` / `deepfake-likely` tag  -> genuine
 *              confirm  a `likely-genuine` / `verified` tag     -> genuine
 *              dismiss  a `likely-genuine` / `verified` tag     -> fake
 *              a decision on `collecting` (no verdict yet)      -> no label (counted)
 *   one label per participant and call: the operator's latest decision on them wins.
 *   a call-level score with less than `minEvidence` seconds behind it is left out (counted).
 */
import type { DecisionEvent, DfdEvent, ScoreChannel } from '../../events/schema.js';
import type { LabelledScore } from './fitTenantCalibration.js';

export type CallLabel = 'fake' | 'genuine';

const ALARM_STATES = new Set(['suspicious', 'deepfake-likely']);
const GENUINE_STATES = new Set(['likely-genuine', 'verified']);

/** What an operator's decision says about the participant; undefined when it says nothing (no verdict yet). */
export function labelOf(decision: string, tagState: string): CallLabel | undefined {
  if (ALARM_STATES.has(tagState)) return decision === 'confirm' ? 'fake' : 'genuine';
  if (GENUINE_STATES.has(tagState)) return decision === 'confirm' ? 'genuine' : 'fake';
  return undefined;
}

export interface LabelledGroup {
  detector: string;
  channel: ScoreChannel;
  points: LabelledScore[];
}

export interface LabelCounts {
  /** Decision events of the tenant read. */
  decisions: number;
  /** Participants of calls with a label (latest decision each). */
  labelled: { fake: number; genuine: number };
  /** Decided participants whose latest decision gives no label (tag `collecting`). */
  unlabelled: number;
  /** Labelled participants whose decision carried no call-level score with enough evidence. */
  withoutScores: number;
  /** Earlier decisions replaced by a later one on the same participant. */
  superseded: number;
}

/** Collects one tenant's labelled call-level scores from decision events (any order; the latest per participant wins). */
export class LabelledCallScores {
  readonly tenant: string;
  readonly minEvidence: number;
  readonly #latest = new Map<string, DecisionEvent>();
  #decisions = 0;
  #superseded = 0;

  constructor(tenant: string, minEvidence: number) {
    this.tenant = tenant;
    this.minEvidence = minEvidence;
  }

  /** Takes one event of the audit trail; anything but a decision of this tenant is ignored. */
  add(event: DfdEvent): void {
    if (event.type !== 'decision' || event.tenant !== this.tenant || event.callId === undefined) return;
    this.#decisions++;
    const key = `${event.callId}\u0000${event.peerId}`;
    const prev = this.#latest.get(key);
    if (prev && prev.id === event.id) return;
    if (prev) this.#superseded++;
    if (!prev || Date.parse(prev.ts) <= Date.parse(event.ts)) this.#latest.set(key, event);
  }

  /** The groups and the counts behind them. */
  result(): { groups: LabelledGroup[]; counts: LabelCounts } {
    const groups = new Map<string, LabelledGroup>();
    const counts: LabelCounts = { decisions: this.#decisions, labelled: { fake: 0, genuine: 0 }, unlabelled: 0, withoutScores: 0, superseded: this.#superseded };
    for (const e of this.#latest.values()) {
      const label = labelOf(e.payload.decision, e.payload.tagState);
      if (!label) {
        counts.unlabelled++;
        continue;
      }
      counts.labelled[label]++;
      const scores = (e.payload.callScores ?? []).filter((s) => s.evidence >= this.minEvidence && Number.isFinite(s.logOdds));
      if (scores.length === 0) counts.withoutScores++;
      for (const s of scores) {
        const k = `${s.detector}\u0000${s.channel}`;
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { detector: s.detector, channel: s.channel, points: [] }));
        g.points.push({ callId: e.callId!, z: s.logOdds, fake: label === 'fake' });
      }
    }
    return { groups: [...groups.values()].sort((x, y) => x.detector.localeCompare(y.detector) || x.channel.localeCompare(y.channel)), counts };
  }
}
