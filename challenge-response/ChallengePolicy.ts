/**
 * When to challenge whom with what, for one call: triggers (verdict turned suspicious,
 * random spot check on high-risk calls, operator request), cooldown, limits per call and per
 * participant, one active challenge per participant, accessible alternatives (a participant
 * who cannot do audio challenges gets video ones and the reverse; an audio-only call gets
 * audio ones only), and a cryptographically random choice of challenge and parameters.
 */
import { DfdError } from '../kernel/errors.js';
import { catalogue, type CatalogueEntry, type ChallengeSpec, type Modality } from './catalogue.js';
import type { ChallengeTrigger } from './Challenge.js';
import { measuredChallengeWeights } from './challengeWeights.js';
import { cryptoRandom, pick, pickWeighted, type RandomSource } from './random.js';

export interface ChallengePolicyOptions {
  /** Minimum time between two challenges of the same participant, ms (operators bypass it). */
  cooldownMs: number;
  /** Challenges per call, all participants together. */
  maxPerCall: number;
  /** Challenges per participant. */
  maxPerParticipant: number;
  /** Probability of a spot check per `spotCheck` call on a high-risk call. */
  spotCheckProbability: number;
  /** Catalogue ids allowed (empty: all). */
  allowedKinds: readonly string[];
  /** Avoid repeating the participant's previous kind when another fits. */
  avoidRepeat: boolean;
  /**
   * Relative chance of each kind within its modality (kinds not listed: 1). Undefined: the
   * measured clone-discrimination weights (challengeWeights.ts, from eval/cloneEval.ts).
   */
  kindWeights: Readonly<Record<string, number>> | undefined;
  rng: RandomSource;
}

export const defaultChallengePolicyOptions: ChallengePolicyOptions = {
  cooldownMs: 60_000,
  maxPerCall: 6,
  maxPerParticipant: 3,
  spotCheckProbability: 0.02,
  allowedKinds: [],
  avoidRepeat: true,
  kindWeights: undefined,
  rng: cryptoRandom,
};

export interface ParticipantProfile {
  peerId: string;
  /** Media the participant sends. */
  hasAudio: boolean;
  hasVideo: boolean;
  /** Accessibility flags: the participant cannot do challenges of this modality. */
  cannotDoAudio?: boolean;
  cannotDoVideo?: boolean;
}

interface PeerRecord {
  active: string | undefined;
  count: number;
  lastIssuedAt: number;
  lastKind: string | undefined;
}

export class ChallengePolicy {
  readonly options: ChallengePolicyOptions;
  private readonly peers = new Map<string, PeerRecord>();
  private readonly weights: Readonly<Record<string, number>>;
  private callCount = 0;

  constructor(options: Partial<ChallengePolicyOptions> = {}) {
    this.options = { ...defaultChallengePolicyOptions, ...options };
    const p = this.options.spotCheckProbability;
    if (!(p >= 0 && p <= 1)) throw new DfdError('ERR_CONFIG', 'spotCheckProbability must be in [0, 1]');
    this.weights = this.options.kindWeights ?? measuredChallengeWeights();
    for (const [kind, w] of Object.entries(this.weights)) {
      if (!(w > 0 && Number.isFinite(w))) throw new DfdError('ERR_CONFIG', 'challenge weights must be finite and above 0', { kind, weight: w });
    }
  }

  /** Modalities this participant can be challenged with on this call. */
  modalitiesFor(profile: ParticipantProfile, audioOnlyCall: boolean): Modality[] {
    const out: Modality[] = [];
    if (profile.hasAudio && !profile.cannotDoAudio) out.push('audio');
    if (!audioOnlyCall && profile.hasVideo && !profile.cannotDoVideo) out.push('video');
    return out;
  }

  /** Whether a random spot check fires now (only on high-risk calls). */
  spotCheck(highRiskCall: boolean): boolean {
    return highRiskCall && this.options.rng.float() < this.options.spotCheckProbability;
  }

  /** The reason a new challenge may not start now, or undefined when it may. */
  refusal(peerId: string, trigger: ChallengeTrigger, now: number): DfdError | undefined {
    const rec = this.peers.get(peerId);
    if (rec?.active) return new DfdError('ERR_CHALLENGE_ACTIVE', undefined, { peerId, challengeId: rec.active });
    if (this.callCount >= this.options.maxPerCall) return new DfdError('ERR_CHALLENGE_LIMIT', 'call limit reached', { max: this.options.maxPerCall });
    if (rec && rec.count >= this.options.maxPerParticipant) return new DfdError('ERR_CHALLENGE_LIMIT', 'participant limit reached', { max: this.options.maxPerParticipant });
    if (trigger !== 'operator' && rec && rec.count > 0 && now - rec.lastIssuedAt < this.options.cooldownMs) {
      return new DfdError('ERR_CHALLENGE_LIMIT', 'cooldown', { retryInMs: this.options.cooldownMs - (now - rec.lastIssuedAt) });
    }
    return undefined;
  }

  /**
   * Random challenge that fits the participant; `kind` forces one (operator's pick). A modality
   * is picked first (so the few video challenges are not swamped by audio ones), then a kind
   * with a chance proportional to its weight.
   */
  choose(profile: ParticipantProfile, audioOnlyCall: boolean, kind?: string): ChallengeSpec {
    const modalities = this.modalitiesFor(profile, audioOnlyCall);
    const allowed = this.options.allowedKinds;
    let pool: CatalogueEntry[] = catalogue.filter((e) => modalities.includes(e.modality) && (allowed.length === 0 || allowed.includes(e.id)));
    if (kind !== undefined) pool = pool.filter((e) => e.id === kind);
    if (pool.length === 0) throw new DfdError('ERR_CHALLENGE_UNAVAILABLE', undefined, { peerId: profile.peerId, kind, modalities });
    const last = this.peers.get(profile.peerId)?.lastKind;
    if (this.options.avoidRepeat && pool.length > 1) pool = pool.filter((e) => e.id !== last);
    const mods = [...new Set(pool.map((e) => e.modality))];
    const m = pick(mods, this.options.rng);
    const kinds = pool.filter((e) => e.modality === m);
    return pickWeighted(kinds, kinds.map((e) => this.weights[e.id] ?? 1), this.options.rng).make(this.options.rng);
  }

  /** Records the start of a challenge; throws the refusal if it may not start. */
  begin(peerId: string, challengeId: string, kind: string, trigger: ChallengeTrigger, now: number): void {
    const refusal = this.refusal(peerId, trigger, now);
    if (refusal) throw refusal;
    const rec = this.peers.get(peerId) ?? { active: undefined, count: 0, lastIssuedAt: 0, lastKind: undefined };
    rec.active = challengeId;
    rec.count++;
    rec.lastIssuedAt = now;
    rec.lastKind = kind;
    this.peers.set(peerId, rec);
    this.callCount++;
  }

  /** Records the end of the participant's active challenge. */
  end(peerId: string, challengeId: string): void {
    const rec = this.peers.get(peerId);
    if (rec?.active === challengeId) rec.active = undefined;
  }

  activeChallenge(peerId: string): string | undefined {
    return this.peers.get(peerId)?.active;
  }

  get challengesIssued(): number {
    return this.callCount;
  }
}
