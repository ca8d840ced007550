/**
 * Challenge-response inside the running service: one ChallengeManager per room, fed by
 * the analysis pipeline (speech windows, detector scores, face observations, verdicts),
 * prompts injected into the live call for the challenged participant only, outcomes and
 * operator decisions emitted for the decision layer (decision/ParticipantDecisions.ts, which
 * alone writes them into verdicts), and every phase published as a `challenge` event.
 */
import { randomInt } from 'node:crypto';
import type { RoomManager } from '../sfu/RoomManager.js';
import type { Room } from '../sfu/Room.js';
import type { AnalysisPipeline } from '../pipeline/AnalysisPipeline.js';
import { ChallengeManager } from './ChallengeManager.js';
import type { ChallengeManagerOptions } from './ChallengeManagerOptions.js';
import type { ChallengeEvent, ChallengeOutcome, OperatorDecision } from './ChallengeOutcome.js';
import { legFamily, type LegFamily } from '../detectors/registry/Manifest.js';
import { AnalysisWorker, type AnalysisWorkerOptions } from './dsp/AnalysisWorker.js';
import { PromptInjector } from './prompt/PromptInjector.js';
import { promptPlayer } from './prompt/promptPlayer.js';
import { playOnSink, type PromptSink } from './prompt/PromptSink.js';
import { catalogue, catalogueEntry, type Modality } from './catalogue.js';
import { DfdError, toDfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { makeEvent, type DfdEvent } from '../events/schema.js';

const log = createLogger('challenge.service');

const sinkKey = (roomId: string, peerId: string): string => `${roomId}\u0000${peerId}`;

/** The label under which a prompt producer is offered to the challenged participant. */
export const PROMPT_PEER_LABEL = 'dfd-challenge';

export interface ChallengeServiceOptions {
  manager: Partial<Omit<ChallengeManagerOptions, 'callId' | 'analyser' | 'playPrompt'>>;
  /** The response-analysis worker (its queue, timeout, thread priority). */
  analysis: Partial<AnalysisWorkerOptions>;
  /**
   * Weak evidence: a participant whose verdict is `likely-genuine` with a fused pFake at or above
   * this is challenged, once per call (ChallengeManager.onWeakEvidence); 1 = never. The service's
   * default (DFD_CHALLENGE_LEAN_P) comes from held-out calls (detectors/training/voice/README.md,
   * "Decision: a weak-evidence challenge threshold").
   */
  leanPFake: number;
  /**
   * The same threshold for a participant whose audio is scored with the telephone calibration (a G.711
   * phone leg: SIP, Twilio, Genesys), read from the channel of its latest audio score; absent,
   * `leanPFake` serves both. The service's default (DFD_CHALLENGE_LEAN_P_TELEPHONE) comes from held-out
   * phone-leg calls ("Decision: a weak-evidence threshold for phone legs").
   */
  leanPFakeTelephone: number;
  /**
   * The same threshold for a participant whose audio comes from a G.722 leg (an HD-voice SIP caller,
   * scored with the wideband calibration and the manifests' `verdict.weightG722`), read from its latest
   * audio score; absent, `leanPFake`. The service's default (DFD_CHALLENGE_LEAN_P_G722) comes from
   * held-out calls through G.722 ("Decision: a weak-evidence threshold for G.722 legs").
   */
  leanPFakeG722: number;
  /**
   * The same threshold for a participant whose audio comes from a gateway's Opus leg (a SIP or plain-RTP
   * caller, scored with the wideband calibration and the manifests' `verdict.weightSipOpus`: such a leg
   * cannot say its far end suppressed noise), read from its latest audio score; absent, `leanPFake`. The
   * service's default (DFD_CHALLENGE_LEAN_P_SIP_OPUS) comes from held-out calls through Opus judged so
   * ("Decision: a family of their own for Opus SIP legs").
   */
  leanPFakeSipOpus: number;
}

export interface ChallengeServiceDeps {
  rooms: RoomManager;
  pipeline: AnalysisPipeline;
  publish(event: DfdEvent): void;
  /** Envelope fields (display name, call id) for a participant. */
  base(roomId: string, peerId: string): { roomId: string; peerId: string; displayName: string; callId: string; tenant?: string };
}

interface RoomEntry {
  room: Room;
  manager: ChallengeManager;
  injectors: Map<string, Promise<PromptInjector>>;
  /** Participants whose latest audio score names a family with a weak-evidence threshold of its own. */
  family: Map<string, Exclude<LegFamily, 'wideband'>>;
}

export interface ChallengeServiceEvents {
  /** Every phase of every challenge (issued, response, outcome, cancelled), as the manager reports it. */
  challenge: [roomId: string, event: ChallengeEvent];
  /** A challenge ended with an outcome (the decision layer turns it into the participant's verdict). */
  outcome: [roomId: string, outcome: ChallengeOutcome];
  /** An operator confirmed or dismissed a participant's last challenge outcome. */
  decision: [roomId: string, decision: OperatorDecision];
}

export class ChallengeService extends TypedEmitter<ChallengeServiceEvents> {
  readonly #deps: ChallengeServiceDeps;
  readonly #options: ChallengeServiceOptions;
  readonly #analysis: AnalysisWorker;
  readonly #rooms = new Map<string, RoomEntry>();
  /** Challenge id -> kind and modality, for the phases whose events do not carry them. */
  readonly #kinds = new Map<string, { kind: string; modality: Modality }>();
  /** Prompt sinks of phone legs, by room and peer. */
  readonly #sinks = new Map<string, PromptSink>();

  constructor(deps: ChallengeServiceDeps, options: Partial<ChallengeServiceOptions> = {}) {
    super();
    this.#deps = deps;
    const leanPFake = options.leanPFake ?? 1;
    this.#options = { manager: {}, analysis: {}, leanPFake, leanPFakeTelephone: leanPFake, leanPFakeG722: leanPFake, leanPFakeSipOpus: leanPFake, ...options };
    // each leg family's weak-evidence threshold, by the option that sets it
    const optionOf = { wideband: 'leanPFake', telephone: 'leanPFakeTelephone', g722: 'leanPFakeG722', 'sip-opus': 'leanPFakeSipOpus' } as const satisfies Record<LegFamily, keyof ChallengeServiceOptions>;
    const thresholds = {} as Record<LegFamily, number>;
    for (const [family, name] of Object.entries(optionOf) as [LegFamily, (typeof optionOf)[LegFamily]][]) {
      const t = this.#options[name];
      if (!(t >= 0 && t <= 1)) throw new DfdError('ERR_CONFIG', `${name} must be in [0, 1]`);
      thresholds[family] = t;
    }
    this.#analysis = new AnalysisWorker(this.#options.analysis);
    deps.rooms.on('roomopen', (room) => this.#open(room));
    for (const room of deps.rooms.list()) this.#open(room);
    const { pipeline } = deps;
    pipeline.on('audio-window', (w) => this.#rooms.get(w.stream.roomId)?.manager.pushAudio(w.stream.peerId, w));
    pipeline.on('score', (s) => {
      const entry = this.#rooms.get(s.stream.roomId);
      if (!entry) return;
      // the participant's channel family, as its latest audio window was scored (video scores say nothing of it)
      if (s.channel !== undefined && s.channel !== 'video') {
        const family = legFamily(s.channel, s.codec);
        if (family === 'wideband') entry.family.delete(s.stream.peerId);
        else entry.family.set(s.stream.peerId, family);
      }
      entry.manager.pushScore(s.stream.peerId, s);
    });
    pipeline.on('face-observation', (st, o) => this.#rooms.get(st.roomId)?.manager.pushFace(st.peerId, o));
    pipeline.on('verdict', (v) => {
      const entry = this.#rooms.get(v.roomId);
      const family: LegFamily = entry?.family.get(v.peerId) ?? 'wideband';
      const threshold = thresholds[family];
      const weak = v.state === 'likely-genuine' && threshold < 1 && v.pFake >= threshold;
      if (v.state !== 'suspicious' && !weak) return;
      try {
        if (weak) entry?.manager.onWeakEvidence(v.peerId, { pFake: v.pFake, threshold, family });
        else entry?.manager.onSuspicious(v.peerId);
      } catch (e) {
        log.debug('no automatic challenge on verdict', { state: v.state, code: toDfdError(e).code });
      }
    });
  }

  /**
   * Operator request (REST API / dashboard). Throws typed errors (unknown peer, already active, limits).
   * `kind` picks one catalogue challenge (e.g. "whisper-phrase"); otherwise one of `modality` at random.
   */
  request(roomId: string, peerId: string, modality: Modality | undefined, kind?: string): { challengeId: string; challengeType: string } {
    const entry = this.#rooms.get(roomId);
    if (!entry) throw new DfdError('ERR_ROOM_NOT_FOUND');
    if (kind !== undefined) {
      const e = catalogueEntry(kind);
      if (!e) throw new DfdError('ERR_BAD_REQUEST', 'unknown challenge kind', { kind: String(kind).slice(0, 64) });
      if (modality && e.modality !== modality) throw new DfdError('ERR_BAD_REQUEST', 'challenge kind does not match the modality', { kind, modality });
    } else if (modality) {
      const kinds = catalogue.filter((c) => c.modality === modality);
      kind = kinds.length > 0 ? kinds[randomInt(kinds.length)]?.id : undefined;
    }
    const c = entry.manager.requestChallenge(peerId, 'operator', kind);
    return { challengeId: c.id, challengeType: c.spec.kind };
  }

  recordDecision(roomId: string, peerId: string, decision: 'confirm' | 'dismiss', operator: string): void {
    const entry = this.#rooms.get(roomId);
    if (!entry) return;
    try {
      entry.manager.recordDecision(peerId, decision, operator);
    } catch (e) {
      // A decision on a verdict with no challenge behind it is still recorded as an event by the caller.
      log.debug('decision without challenge', { code: toDfdError(e).code });
    }
  }

  /**
   * A participant reached by phone (ingest/): audio-only challenges, and prompts played
   * through `sink` (the phone leg plays them to the caller) instead of an SFU producer.
   * Call after the peer joined the room. Returns the detach function (call it when the leg ends).
   */
  attachPhoneLeg(roomId: string, peerId: string, sink: PromptSink): () => void {
    const key = sinkKey(roomId, peerId);
    this.#sinks.set(key, sink);
    try {
      this.#rooms.get(roomId)?.manager.addParticipant({ peerId, hasAudio: true, hasVideo: false, cannotDoAudio: false });
    } catch (e) {
      log.debug('phone leg not added to challenges', { code: toDfdError(e).code });
    }
    return () => {
      if (this.#sinks.get(key) === sink) this.#sinks.delete(key);
    };
  }

  #open(room: Room): void {
    if (this.#rooms.has(room.id)) return;
    const injectors = new Map<string, Promise<PromptInjector>>();
    const injectorFor = (peerId: string): Promise<PromptInjector> => {
      let p = injectors.get(peerId);
      if (!p) {
        p = PromptInjector.create(room.router, peerId).then((inj) => {
          room.offerPrivateProducer(inj.producer, peerId, PROMPT_PEER_LABEL);
          return inj;
        });
        p.catch(() => injectors.delete(peerId));
        injectors.set(peerId, p);
      }
      return p;
    };
    const player = promptPlayer(injectorFor);
    const manager = new ChallengeManager({
      ...this.#options.manager,
      callId: this.#deps.base(room.id, '_').callId,
      analyser: this.#analysis.analyse,
      playPrompt: (peerId, spec) => {
        const sink = this.#sinks.get(sinkKey(room.id, peerId));
        return sink ? playOnSink(sink, spec) : player(peerId, spec);
      },
    });
    const entry: RoomEntry = { room, manager, injectors, family: new Map() };
    this.#rooms.set(room.id, entry);
    room.on('peerjoined', (peer) => {
      if (peer.role !== 'observer') manager.addParticipant({ peerId: peer.id, hasAudio: true, hasVideo: true, cannotDoAudio: false });
    });
    for (const peer of room.peers.values()) if (peer.role !== 'observer') manager.addParticipant({ peerId: peer.id, hasAudio: true, hasVideo: true, cannotDoAudio: false });
    room.on('peerleft', (peer) => {
      manager.removeParticipant(peer.id);
      entry.family.delete(peer.id);
      void injectors.get(peer.id)?.then((i) => i.close());
      injectors.delete(peer.id);
    });
    room.once('close', () => {
      manager.close();
      for (const p of injectors.values()) void p.then((i) => i.close()).catch(() => undefined);
      this.#rooms.delete(room.id);
    });
    manager.on('challenge', (e) => {
      this.#onChallenge(room, e);
      this.safeEmit('challenge', room.id, e);
    });
    // Outcomes and operator decisions go up to the decision layer (decision/), which owns the verdicts.
    manager.onOutcome((o) => this.safeEmit('outcome', room.id, o));
    manager.on('decision', (d) => this.safeEmit('decision', room.id, d));
  }

  #onChallenge(room: Room, e: ChallengeEvent): void {
    const base = this.#deps.base(room.id, e.peerId);
    if (e.phase === 'issued') this.#kinds.set(e.challengeId, { kind: e.kind, modality: e.modality });
    const known = this.#kinds.get(e.challengeId);
    if (e.phase === 'outcome' || e.phase === 'cancelled') {
      this.#kinds.delete(e.challengeId);
      // A prompt still playing to a phone caller is cut (Twilio: `clear`).
      this.#sinks.get(sinkKey(room.id, e.peerId))?.stop();
    }
    const kind = e.phase === 'outcome' ? e.kind : known?.kind;
    const modality = e.phase === 'outcome' ? e.modality : known?.modality;
    const measurements =
      e.phase === 'outcome'
        ? Object.fromEntries(
            Object.entries(e.measurements)
              .filter(([k, v]) => Number.isFinite(v) && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(k))
              .slice(0, 32),
          )
        : undefined;
    const payload = {
      challengeId: e.challengeId,
      challengeType: kind ?? 'unknown',
      modality: modality ?? 'audio',
      phase: e.phase,
      ...(e.phase === 'issued'
        ? {
            promptText: e.promptText.slice(0, 500),
            expectedDurationSec: e.expectedDurationSec,
            trigger: e.trigger,
            ...(e.side ? { side: e.side } : {}),
            ...(e.basis ? { basis: { pFake: e.basis.pFake, threshold: e.basis.threshold, family: e.basis.family } } : {}),
            // Where the platform cannot play audio, the agent relays the prompt.
            deliveredTo: this.#sinks.get(sinkKey(room.id, e.peerId))?.audience === 'agent' ? ('agent' as const) : ('participant' as const),
          }
        : {}),
      ...(e.phase === 'outcome' ? { outcome: e.outcome, reason: e.reason.slice(0, 500), measurements, trigger: e.trigger } : {}),
      ...(e.phase === 'cancelled' ? { reason: e.reason.slice(0, 500) } : {}),
    } as const;
    this.#deps.publish(makeEvent('challenge', { ...base, models: [] }, payload));
    // The challenged participant sees the prompt through signalling (spoken prompt plays too).
    room.peers.get(e.peerId)?.notify('challenge', { peerId: e.peerId, ...payload });
  }

  async close(): Promise<void> {
    for (const e of this.#rooms.values()) e.manager.close();
    this.#rooms.clear();
    await this.#analysis.close();
  }
}
