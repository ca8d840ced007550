/**
 * Where a packet becomes a verdict. For every media source (an SFU tap, a phone leg):
 *
 *   MediaSource (RTP, main thread) --batched--> MediaWorkerPool (worker threads: decode, VAD,
 *     faces, windows, and the score detectors: each worker's in-thread InferencePool, fair bounded queues)
 *     --WindowScore--> the tenant's own calibration, when it has one (verdict/TenantCalibration.ts)
 *     --> ParticipantVerdict (evidence, fusion, state machine) --> 'verdict'
 *   the speech windows also --> InferencePool (speaker-embedding threads)
 *     --SpeakerEmbedding--> ParticipantVerdict's IdentityContinuity (a change of voice: takeover)
 *   the face windows carry their descriptor (made in the media worker) --> ParticipantVerdict's
 *     face IdentityContinuity (a different person in front of the camera: takeover)
 *
 * Two thread hops from packet to score (main -> media worker -> main; SplitInference). Other
 * placements: every detector on dedicated inference threads (`inferencePlacement:
 * 'inference-threads'`, a main-thread InferencePool: a GPU box batching across every stream) or
 * remote analysis workers (`inferenceBackend`); then every window is submitted on the main
 * thread (four hops).
 *
 * The main thread only copies packets into batches and moves small messages; the media
 * path (what participants receive) never waits on any of it. Taps start paused and are
 * resumed once their worker stream is open.
 */
import type { MediaSource, MediaSourceConsumer } from './MediaSource.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { createLogger } from '../kernel/log.js';
import { counter, histogram, latencyBuckets } from '../kernel/metrics.js';
import { ModelRegistry, type AvailableModel, type DetectorStatus } from '../detectors/registry/ModelRegistry.js';
import { MediaWorkerPool, type MediaWorkerPoolOptions } from './media/MediaWorkerPool.js';
import type { ColocatedInferenceConfig, StreamStats } from './media/protocol.js';
import { InferencePool, type InferencePoolOptions } from './inference/InferencePool.js';
import { SplitInference } from './inference/SplitInference.js';
import { withCascadeSetting } from './inference/cascade.js';
import type { DetectorScore, InferenceBackend } from './inference/InferenceBackend.js';
import { ParticipantVerdict, defaultQualityThresholds, type DeclaredMatchChange, type ParticipantVerdictOptions, type Verdict } from './verdict/ParticipantVerdict.js';
import { DeclaredVoiceSet, declaredRuleFrom, type DeclaredVoice } from './verdict/DeclaredVoices.js';
import { continuityOptionsFrom } from './verdict/IdentityContinuity.js';
import { TenantCalibrationSet, applyTenantCalibration, type ScoreChannel, type TenantCalibration } from './verdict/TenantCalibration.js';
import { DEFAULT_TENANT } from '../kernel/tenant.js';
import type { AudioWindow, StreamRef } from './messages.js';
import { audioCodecOf } from './audio/audioCodec.js';
import type { FaceObservation } from '../detectors/face/FaceObservation.js';

const log = createLogger('pipeline');

export interface AnalysisPipelineOptions {
  modelsDir: string | undefined;
  media: Partial<MediaWorkerPoolOptions>;
  inference: Partial<InferencePoolOptions>;
  verdict: Partial<ParticipantVerdictOptions>;
  /** How often verdicts are re-evaluated without new scores (decay, verified expiry). */
  tickMs: number;
  /** Run the speaker-embedding model (task speaker-embed) for mid-call takeover detection, when it is installed. */
  speakerContinuity: boolean;
  /**
   * Cascade stages (models whose manifest has `cascade`): undefined, each stage's manifest value;
   * 0, off; N > 0, one window in N of each stream (pipeline/inference/cascade.ts).
   */
  cascadeEvery: number | undefined;
  /**
   * Where detector inference runs: undefined, this process's worker threads (InferencePool); or a
   * backend built from the available models (remote analysis workers: cluster/RemoteInference.ts).
   */
  inferenceBackend: ((models: readonly AvailableModel[]) => InferenceBackend) | undefined;
  /**
   * Without a backend: `media-threads` (each media worker scores the windows it makes, with an in-thread
   * pool taking the `inference` options other than the worker count; the speaker-embedding model, off the
   * score path, runs on `inference.workers` dedicated threads) or `inference-threads` (every detector on
   * `inference.workers` dedicated threads fed from the main thread, batching across all streams: a GPU).
   */
  inferencePlacement: 'media-threads' | 'inference-threads';
  /** The tenant of sources that name none (kernel/tenant.ts; DFD_DEFAULT_TENANT). */
  defaultTenant: string;
}

export const defaultAnalysisPipelineOptions: AnalysisPipelineOptions = {
  modelsDir: undefined,
  media: {},
  inference: {},
  verdict: {},
  tickMs: 1000,
  speakerContinuity: true,
  cascadeEvery: undefined,
  inferenceBackend: undefined,
  inferencePlacement: 'media-threads',
  defaultTenant: DEFAULT_TENANT,
};

export interface AnalysisPipelineEvents {
  /** Every scored window, with the detector's task and verdict weight. */
  score: [score: DetectorScore];
  verdict: [verdict: Verdict];
  /** Input quality of a stream, about once a second. */
  stats: [stats: StreamStats];
  /** A copy of each speech window (for the challenge checkers). Only emitted with listeners. */
  'audio-window': [w: AudioWindow];
  'face-observation': [stream: StreamRef, o: FaceObservation];
  /** A participant started or stopped matching a declared synthetic voice. */
  declared: [change: DeclaredMatchChange];
}

const tapToWindow = histogram({ name: 'dfd_pipeline_tap_to_window_seconds', help: 'From the last packet of a window arriving to the window reaching the main thread', buckets: latencyBuckets });
const lateResults = counter({ name: 'dfd_pipeline_late_results_total', help: 'Windows, scores and drops that arrived after their participant left (discarded)' });
const participantKey = (roomId: string, peerId: string): string => `${roomId}\u0000${peerId}`;
const windowToVerdict = histogram({ name: 'dfd_pipeline_window_to_verdict_seconds', help: 'From the end of a window to its score updating the verdict', buckets: latencyBuckets });

export class AnalysisPipeline extends TypedEmitter<AnalysisPipelineEvents> implements MediaSourceConsumer {
  readonly options: AnalysisPipelineOptions;
  readonly registry: ModelRegistry;
  readonly media: MediaWorkerPool;
  readonly inference: InferenceBackend;
  readonly #taps = new Map<string, MediaSource>();
  readonly #participants = new Map<string, ParticipantVerdict>();
  readonly #timer: NodeJS.Timeout;
  #declared = new DeclaredVoiceSet();
  #calibrations = new TenantCalibrationSet();
  #faceAnalysis = false;

  private constructor(options: AnalysisPipelineOptions, registry: ModelRegistry, media: MediaWorkerPool, inference: InferenceBackend) {
    super();
    this.options = options;
    this.registry = registry;
    this.media = media;
    this.inference = inference;
    media.on('window', (w) => {
      if (w.type === 'audio-window') {
        tapToWindow.observe(Math.max(0, Date.now() - w.wallEnd) / 1000);
        if (this.listenerCount('audio-window') > 0) this.safeEmit('audio-window', { ...w, samples: w.samples.slice() });
      }
      const p = this.#known(w.stream);
      if (!p) return;
      p.observe(w);
      // Made where the face was analysed (media worker, FaceDescriber): who is in front of the camera.
      if (w.type === 'face-window' && w.descriptor) p.addFaceDescriptor(w.descriptor);
      // Never blocks; when the detector's queue is full the pool thins fairly and counts it. (media-threads:
      // scored already where it was made; only the speaker-embedding threads take it from here.)
      inference.submit(w);
    });
    media.on('keyframe-needed', (tapId) => void this.#taps.get(tapId)?.requestKeyFrame?.());
    media.on('face-observation', (stream, o) => this.safeEmit('face-observation', stream, o));
    media.on('stats', (s) => this.safeEmit('stats', s));
    inference.on('score', (s) => {
      windowToVerdict.observe(Math.max(0, Date.now() - s.wallEnd) / 1000);
      const p = this.#known(s.stream);
      if (!p) return;
      const scored = this.#calibrated(p, s);
      p.addScore(scored);
      this.safeEmit('score', scored);
    });
    // Speaker-embedding windows track the voice's continuity; their drops are counted on the model
    // (verdict.models), not as lost evidence (ParticipantVerdict.addDropped).
    inference.on('embedding', (e) => this.#known(e.stream)?.addSpeakerEmbedding(e));
    inference.on('dropped', (d) => this.#known(d.stream)?.addDropped(d));
    this.#timer = setInterval(() => {
      for (const p of this.#participants.values()) p.tick();
    }, options.tickMs);
    this.#timer.unref();
  }

  static async create(options: Partial<AnalysisPipelineOptions> = {}): Promise<AnalysisPipeline> {
    const o: AnalysisPipelineOptions = { ...defaultAnalysisPipelineOptions, ...options };
    const registry = new ModelRegistry(o.modelsDir ? { dir: o.modelsDir } : {});
    const statuses = await registry.load();
    for (const s of statuses) if (!s.available) log.warn('detector unavailable', { id: s.id, code: s.error?.code });
    const models = withCascadeSetting(registry.available(), o.cascadeEvery).filter((m) => o.speakerContinuity || m.manifest.task !== 'speaker-embed');
    const inMedia = !o.inferenceBackend && o.inferencePlacement === 'media-threads';
    const isEmbed = (m: AvailableModel): boolean => m.manifest.task === 'speaker-embed';
    // Off the score path, on the inference threads: the speaker model and cascade stages (one long run
    // of a second stage in a media worker would hold up the decoding, VAD and first-stage scores of its streams).
    const offScorePath = (m: AvailableModel): boolean => isEmbed(m) || m.manifest.cascade !== undefined;
    const media = new MediaWorkerPool(inMedia ? { ...o.media, inference: colocatedConfig(models.filter((m) => !offScorePath(m)), o.inference) } : o.media);
    let inference: InferenceBackend;
    if (o.inferenceBackend) inference = o.inferenceBackend(models);
    else if (media.inference) inference = new SplitInference(media.inference, models.some(offScorePath) ? new InferencePool(models.filter(offScorePath), o.inference) : undefined);
    else inference = new InferencePool(models, o.inference);
    const fps = media.options.videoFps;
    // Video quality is judged on the analysis frame rate, which the decoder limits to `videoFps`.
    // The voice-continuity rule is the speaker model's own (its manifest's `takeover`, chosen on tuning speakers).
    const speakerModel = models.find(isEmbed)?.manifest;
    const takeover = speakerModel?.takeover;
    const speaker = continuityOptionsFrom(takeover);
    // The declared-voice match rule is the speaker model's too (its manifest's `declared`, chosen for a low false-match rate).
    // Both rules have a threshold per channel: wideband, telephone, a noise-suppressing sender's.
    const rule = speakerModel?.declared;
    const declared = declaredRuleFrom(rule);
    // The face-continuity rule is the face model's own (its manifest's `takeover`, chosen on tuning identities).
    const faceRule = registry.available().find((m) => m.manifest.task === 'face-embed')?.manifest.takeover;
    // faces have no telephone or suppressed channel: one T
    const face = faceRule ? { ...continuityOptionsFrom(faceRule), thresholdTelephone: faceRule.T, thresholdSuppressed: faceRule.T } : {};
    const verdict: Partial<ParticipantVerdictOptions> = {
      ...o.verdict,
      quality: { ...defaultQualityThresholds, minFrameRate: fps * 0.6, ...o.verdict.quality },
      speaker: { ...speaker, ...o.verdict.speaker },
      face: { ...face, ...o.verdict.face },
      declared: { ...declared, ...o.verdict.declared },
    };
    const p = new AnalysisPipeline({ ...o, verdict }, registry, media, inference);
    const [m] = await Promise.all([media.ready(), inference.ready()]);
    p.#faceAnalysis = m.faceAnalysis;
    return p;
  }

  /** Detector availability for /healthz. */
  health(): { ok: boolean; detectors: DetectorStatus[]; faceAnalysis: boolean; streams: number } {
    const detectors = this.registry.status();
    const usable = new Set(this.inference.detectors().map((d) => d.id));
    return {
      // The service stays up with a detector unavailable; health says so.
      ok: detectors.filter((d) => d.task === 'voice-antispoof' || d.task === 'face-forgery').every((d) => d.available && usable.has(d.id)),
      detectors,
      faceAnalysis: this.#faceAnalysis,
      streams: this.#taps.size,
    };
  }

  addSource(tap: MediaSource): void {
    const { info } = tap;
    const stream: StreamRef = { roomId: info.roomId, peerId: info.peerId, producerId: info.producerId, kind: info.kind };
    this.#taps.set(info.id, tap);
    this.#participant(info);
    tap.on('rtp', (packet, arrivalMs) => this.media.push(info.id, packet, arrivalMs));
    tap.on('close', () => {
      this.#taps.delete(info.id);
      this.media.close(info.id);
    });
    // Sources start paused; resume once the worker is ready for the stream.
    const codec = info.kind === 'audio' ? audioCodecOf(info.codec.mimeType) : undefined;
    void this.media
      .open(info.id, stream, {
        payloadType: info.codec.payloadType,
        clockRate: info.codec.clockRate,
        ...(codec ? { codec } : {}),
        senderNoiseSuppression: info.senderNoiseSuppression === true,
        gatewayLeg: info.gatewayLeg === true,
      })
      .then(() => tap.resume())
      .catch((error: unknown) => {
        // The source went away while it was being resumed (its SFU worker died, the call or the service is
        // closing): nothing to analyse. A source still open that cannot resume is worth a warning.
        if (this.#taps.has(info.id)) log.warn('could not resume a media source', { id: info.id, error });
      });
  }

  participantLeft(roomId: string, peerId: string): void {
    this.#forget(roomId, peerId);
  }

  roomClosed(roomId: string): void {
    for (const p of [...this.#participants.values()]) if (p.roomId === roomId) this.#forget(roomId, p.peerId);
  }

  /** The verdict of a participant with media in the pipeline (undefined once it left). */
  participant(roomId: string, peerId: string): ParticipantVerdict | undefined {
    return this.#participants.get(participantKey(roomId, peerId));
  }

  verdicts(): Verdict[] {
    return [...this.#participants.values()].map((p) => p.current());
  }

  /**
   * The declared synthetic voices every participant's speech is compared with (replaced whole; the
   * registry calls this on every change). Needs the speaker-embedding model to match anything.
   */
  setDeclaredVoices(voices: readonly DeclaredVoice[]): void {
    this.#declared = new DeclaredVoiceSet(voices);
  }

  /**
   * Every tenant's own calibration (decision/calibration/; replaced whole on every change). It applies
   * from each participant's next scored window on.
   */
  setTenantCalibrations(calibrations: readonly TenantCalibration[]): void {
    this.#calibrations = new TenantCalibrationSet(calibrations);
  }

  /** The tenant calibrations in force. */
  get tenantCalibrations(): TenantCalibrationSet {
    return this.#calibrations;
  }

  /**
   * The score with its channel (and 'g722' for a G.722 leg's audio), and with the participant's
   * tenant calibration applied when it has one.
   */
  #calibrated(p: ParticipantVerdict, s: DetectorScore): DetectorScore {
    const channel: ScoreChannel = s.stream.kind === 'audio' ? p.audioChannel : 'video';
    const legCodec = s.stream.kind === 'audio' ? p.audioCodec : undefined;
    const codec = legCodec !== undefined ? { codec: legCodec } : {};
    const c = this.#calibrations.for(p.tenant, s.detector, channel);
    if (!c) return { ...s, channel, ...codec };
    return { ...s, channel, ...codec, pFake: applyTenantCalibration(s.pFake, c.entry), tenantCalibration: { version: c.version, shippedPFake: s.pFake } };
  }

  /** Created when a participant's first source arrives. */
  #participant(s: Pick<StreamRef, 'roomId' | 'peerId'> & { tenant?: string }): ParticipantVerdict {
    const key = participantKey(s.roomId, s.peerId);
    let p = this.#participants.get(key);
    if (!p) {
      p = new ParticipantVerdict({ roomId: s.roomId, peerId: s.peerId, tenant: s.tenant ?? this.options.defaultTenant }, { ...this.options.verdict, declaredVoices: () => this.#declared });
      p.on('verdict', (v) => this.safeEmit('verdict', v));
      p.on('declared', (c) => this.safeEmit('declared', c));
      this.#participants.set(key, p);
    }
    return p;
  }

  /**
   * A window, score or drop of a participant that already left (its worker was still busy
   * with it) is discarded and counted: it must not bring the participant's verdict back.
   */
  #known(s: Pick<StreamRef, 'roomId' | 'peerId'>): ParticipantVerdict | undefined {
    const p = this.#participants.get(participantKey(s.roomId, s.peerId));
    if (!p) lateResults.inc();
    return p;
  }

  #forget(roomId: string, peerId: string): void {
    const key = participantKey(roomId, peerId);
    this.#participants.get(key)?.removeAllListeners();
    this.#participants.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    // The media workers close their own detectors (media-threads placement) on shutdown.
    for (const tap of this.#taps.values()) tap.close();
    await this.media.shutdown();
    await this.inference.close();
  }
}

/** The plain-data part of the inference options each media worker's pool takes (it travels as workerData). */
function colocatedConfig(models: readonly AvailableModel[], o: Partial<InferencePoolOptions>): ColocatedInferenceConfig {
  const keys = ['intraOpNumThreads', 'interOpNumThreads', 'executionProvider', 'cpuModels', 'queueCapacity', 'maxBatchFrames', 'faceForgeryFrames', 'maxAudioBatch', 'embeddingSlackMs', 'embeddingThinFill', 'cascadeYieldFill', 'maxWaitMs', 'maxQueueAgeMs', 'lagWarnMs', 'lagWarnIntervalMs'] as const;
  const pool: ColocatedInferenceConfig['pool'] = {};
  for (const k of keys) if (o[k] !== undefined) Object.assign(pool, { [k]: o[k] });
  return { models: models.map((m) => ({ id: m.id, dir: m.dir, modelPath: m.modelPath, manifest: m.manifest })), pool };
}
