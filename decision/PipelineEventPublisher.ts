/**
 * Where the analysis pipeline's domain events become bus events (`events/schema.ts`), so the
 * application root only wires: a verdict becomes a `verdict` event (and a `verdict`
 * notification to every peer of the room, for badges), a detector score a `score` event, and
 * stream statistics a `quality` event per stream at most every `qualityEveryMs`.
 *
 *   pipeline 'verdict' -> verdict(v) -> makeEvent('verdict') -> publish ; notifyRoom('verdict')
 *   pipeline 'score'   -> score(s)   -> makeEvent('score')   -> publish
 *   pipeline 'stats'   -> stats(s)   -> makeEvent('quality') -> publish (throttled per stream)
 *   pipeline 'declared' -> declared(c) -> makeEvent('declared') -> publish (a declared synthetic voice matched or not)
 *
 * The envelope (display name, call id, phone ids) comes from `base`, which the root supplies
 * from its call registry; nothing here reads the registry or the SFU.
 */
import { makeEvent, type DfdEvent, type PhoneRef } from '../events/schema.js';
import type { DeclaredMatchChange, Verdict } from '../pipeline/verdict/ParticipantVerdict.js';
import type { DetectorScore } from '../pipeline/inference/InferenceBackend.js';
import type { StreamStats } from '../pipeline/media/protocol.js';
import { concealedFraction } from '../pipeline/audio/audioCodec.js';

export interface EventEnvelopeBase {
  roomId: string;
  peerId: string;
  displayName: string;
  callId: string;
  tenant?: string;
  phone?: PhoneRef;
}

export interface PipelineEventPublisherDeps {
  publish(event: DfdEvent): void;
  /** The envelope of a participant's events. */
  base(roomId: string, peerId: string): EventEnvelopeBase;
  /** Tells every peer of the room (signalling notification); no-op for a room without peers. */
  notifyRoom(roomId: string, method: string, data: Record<string, unknown>): void;
}

export interface PipelineEventPublisherOptions {
  /** At most one quality event per stream this often, ms. */
  qualityEveryMs: number;
  now: () => number;
}

export const defaultPipelineEventPublisherOptions: PipelineEventPublisherOptions = {
  qualityEveryMs: 5000,
  now: () => Date.now(),
};

const BANDWIDTHS = ['NB', 'MB', 'WB', 'SWB', 'FB'] as const;

export class PipelineEventPublisher {
  readonly options: PipelineEventPublisherOptions;
  readonly #deps: PipelineEventPublisherDeps;
  readonly #lastQuality = new Map<string, number>();

  constructor(deps: PipelineEventPublisherDeps, options: Partial<PipelineEventPublisherOptions> = {}) {
    this.options = { ...defaultPipelineEventPublisherOptions, ...options };
    this.#deps = deps;
  }

  verdict(v: Verdict): void {
    const base = this.#deps.base(v.roomId, v.peerId);
    const bw = (BANDWIDTHS as readonly string[]).includes(v.quality.bandwidth) ? (v.quality.bandwidth as (typeof BANDWIDTHS)[number]) : undefined;
    const payload = {
      state: v.state,
      pFake: v.pFake,
      confidence: v.confidence,
      evidence: { speechSeconds: v.evidence.speechSeconds, faceFrames: Math.round(v.evidence.faceFrames) },
      quality: {
        packetLoss: v.quality.packetLoss,
        concealed: v.quality.concealed,
        bitrate: v.quality.bitrate,
        ...(bw ? { bandwidth: bw } : {}),
        frameRate: v.quality.frameRate,
        faceSize: v.quality.faceSize,
      },
      dropped: { windows: v.dropped.windows },
      ...(v.reason ? { reason: v.reason } : {}),
    };
    this.#deps.publish(makeEvent('verdict', { ...base, models: v.models }, payload));
    // Participants of the room see badges through signalling too.
    this.#deps.notifyRoom(v.roomId, 'verdict', {
      peerId: v.peerId,
      state: v.state,
      confidence: v.confidence,
      pFake: v.pFake,
      evidence: payload.evidence,
      ...(v.reason ? { reason: v.reason } : {}),
    });
  }

  score(s: DetectorScore): void {
    const base = this.#deps.base(s.stream.roomId, s.stream.peerId);
    this.#deps.publish(
      makeEvent('score', { ...base, models: [{ id: s.detector, version: s.modelVersion }] }, {
        detector: s.detector,
        pFake: s.pFake,
        evidence: s.evidence,
        windowSeq: s.seq,
        queueMs: s.queueMs,
        inferenceMs: s.inferenceMs,
        ...(s.weight !== undefined ? { weight: s.weight } : {}),
        ...(s.channel ? { channel: s.channel } : {}),
        ...(s.tenantCalibration ? { tenantCalibration: s.tenantCalibration } : {}),
      }),
    );
  }

  /** A quality event per stream every `qualityEveryMs` (concealment weighed at the stream's clock: Opus 48 kHz, PCMU 8 kHz). */
  stats(s: StreamStats): void {
    const now = this.options.now();
    if (now - (this.#lastQuality.get(s.tapId) ?? -Infinity) < this.options.qualityEveryMs) return;
    this.#lastQuality.set(s.tapId, now);
    const base = this.#deps.base(s.stream.roomId, s.stream.peerId);
    if (s.audio) {
      const a = s.audio;
      const expected = a.packets + a.lost;
      this.#deps.publish(makeEvent('quality', { ...base, models: [] }, { packetLoss: expected > 0 ? a.lost / expected : 0, concealed: concealedFraction(a) }));
    } else if (s.video) {
      const v = s.video;
      const expected = v.packets + v.lost;
      this.#deps.publish(makeEvent('quality', { ...base, models: [] }, { packetLoss: expected > 0 ? v.lost / expected : 0, frameRate: v.frameRate, faceSize: v.faceSize }));
    }
  }

  /** A participant started or stopped matching a declared synthetic voice (one event per change). */
  declared(c: DeclaredMatchChange): void {
    const base = this.#deps.base(c.roomId, c.peerId);
    const cosine = Math.max(-1, Math.min(1, c.cosine));
    // A switch from one declared voice straight to another is two events: the old one ends, the new one begins.
    if (c.previous && c.previous.id !== c.voice?.id) this.#deps.publish(makeEvent('declared', { ...base, models: [] }, { voiceId: c.previous.id, label: c.previous.label, matched: false, cosine }));
    if (c.voice) this.#deps.publish(makeEvent('declared', { ...base, models: [] }, { voiceId: c.voice.id, label: c.voice.label, matched: true, cosine }));
  }

  /** A tapped stream closed: its quality throttle is forgotten. */
  forgetStream(tapId: string): void {
    this.#lastQuality.delete(tapId);
  }
}
