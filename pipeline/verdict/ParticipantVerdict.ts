/**
 * Fuses one participant's audio and video evidence into a `Verdict`.
 *
 *   observe(window)  -> latest input quality per modality, speech seconds / face frames
 *   addScore(score)  -> that modality's EvidenceAccumulator
 *   addDropped(ev)   -> dropped-window counts (lower the confidence); each model's own count in
 *                     `models[].dropped` (a speaker-embed drop is counted there only: it is no
 *                     lost evidence, but the takeover check saw less of the call)
 *   markVerified / markDeepfakeLikely / revokeVerified -> challenge outcomes and operator decisions,
 *                     written by the decision layer (decision/ParticipantDecisions.ts) only
 *   addSpeakerEmbedding(e) -> IdentityContinuity; a change of voice -> markTakeover: `suspicious`
 *                     with reason "takeover:voice", the old voice's audio evidence dropped;
 *   addFaceDescriptor(v) -> IdentityContinuity (faces); a different person in front of the camera
 *                     -> `suspicious` with reason "takeover:face", the old face's video evidence dropped;
 *                     and DeclaredVoiceMatcher: a voice an operator declared as legitimately synthetic
 *                     -> reason "declared-synthetic:<voice id>", the voice's detector evidence set aside
 *                     while it matches (the declared voice is synthetic by design; no alarm on it)
 *
 * Fusion: a modality whose latest input quality is too poor to judge is left out; the
 * others are combined as an evidence-weighted mean of their log-odds (times a per-modality
 * weight). When every modality with evidence is poor, the machine stays `collecting` with
 * the quality reason instead of guessing.
 * Within a modality, the detectors' windows (each log-odds scaled by its detector's verdict
 * weight w and counted with evidence w x seconds) are combined by `detectorFusion`:
 *   'pooled'       one evidence-weighted mean over every window of every detector;
 *   'per-detector' each detector's own decayed mean, the means added up, each scaled by
 *                  min(1, its seconds of input / min(fullEvidence, the best-covered
 *                  detector's seconds)) so that a detector with a window or two leans only
 *                  as far as that evidence allows (one detector alone: unscaled).
 * With one detector the two are the same. They differ for a cascade stage that scores one
 * window in N: pooled, its few windows are outweighed by the first stage's many (and pull
 * the mean toward whichever stage says less); per-detector, each stage's call-level opinion
 * counts at its own weight, as a logistic fusion of the two scores would.
 *
 * confidence = (1 - exp(-evidence / confidenceEvidence)) * (1 - droppedFraction) * coverage
 * where evidence is weighted by the detectors' verdict weights and coverage is the share of
 * observed modalities that contribute usable evidence. The verdict machine's evidence gates
 * (minEvidence, keepEvidence) count the seconds of input scored before weights: the first
 * verdict comes once about a second of speech or face has been scored. Until the weighted
 * evidence reaches `fullEvidence` the fused log-odds are scaled by evidence / fullEvidence
 * (pulled toward 0.5), so an early verdict leans only as far as its evidence allows, and its
 * confidence says how little it rests on.
 * A `verdict` event is emitted only when the state or reason changes, or confidence moves
 * by at least `confidenceDelta` since the last emitted verdict.
 *
 * Presentation-attack (PAD) detectors (scores whose `task` is in `pad.tasks`, i.e. the
 * `face-pad` antispoof/liveness models) target a different threat: a printed photo or a
 * replayed screen in front of the camera, not a face swap injected through a virtual
 * camera, where a live-looking face is expected. So they never enter the video mean and a
 * low PAD score never lowers suspicion. Each PAD detector has its own accumulator; with
 * `pad.mode` 'raise' (default), once one of them is confident (decayed mean pFake >=
 * `pad.minPFake` 0.9 over >= `pad.minEvidence` 2 s) and the video is good enough to
 * judge, the fused pFake is lifted to at least min(that pFake, `pad.maxPFake`) and the
 * verdict's reason says `presentation-attack:<detector>`. maxPFake 0.65 sits above
 * suspiciousEnter (0.6) and below deepfakeExit (0.7): PAD alone can make a participant
 * `suspicious`, never `deepfake-likely`. With 'report' PAD scores are scored and
 * published but change nothing. The gate was set from real faces (face-api photos, the
 * fixture video and 28 real videos): no real 5-frame window reached pFake 0.66 on either
 * model, no real video's mean reached 0.6 (detectors/eval/padCrops.ts).
 */
import type { DropEvent, DropReason } from '../inference/InferenceBackend.js';
import { DfdError } from '../../kernel/errors.js';
import { DEFAULT_TENANT } from '../../kernel/tenant.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import type { AnalysisWindow, AudioQuality, MediaKind, VideoQuality, WindowScore } from '../messages.js';
import { EvidenceAccumulator, sigmoid, type EvidenceAccumulatorOptions } from './EvidenceAccumulator.js';
import { verdictWeight, weightedPFake, type CalibrationChannel, type LegCodec, type ModelTask } from '../../detectors/registry/Manifest.js';
import { VerdictMachine, type VerdictMachineOptions, type VerdictState } from './VerdictMachine.js';
import { defaultFaceContinuityOptions, IdentityContinuity, type ContinuityChannel, type IdentityContinuityOptions } from './IdentityContinuity.js';
import { DeclaredVoiceMatcher, DeclaredVoiceSet, type DeclaredVoice, type DeclaredVoiceRule } from './DeclaredVoices.js';

export interface QualityThresholds {
  /** Above this packet loss (0..1) the modality is too poor to judge. */
  maxPacketLoss: number;
  /** Above this concealed fraction (0..1) audio is too poor. */
  maxConcealed: number;
  /** Below this Opus bitrate (bit/s; 0 = unknown) audio is too poor. */
  minBitrate: number;
  /** Opus bandwidths too narrow to judge a voice (not applied to telephone-channel audio, quality.channel). */
  poorBandwidths: readonly string[];
  /** Below this decoded frame rate video is too poor. */
  minFrameRate: number;
  /** Below this face size (px, shorter side) video is too poor. */
  minFaceSize: number;
}

export interface PadOptions {
  /** Score tasks treated as presentation-attack detectors. */
  tasks: readonly string[];
  /** 'raise': a confident PAD detector can lift the verdict; 'report': scores only. */
  mode: 'raise' | 'report';
  /** A PAD detector counts once its decayed mean pFake reaches this ... */
  minPFake: number;
  /** ... over at least this much decayed evidence, seconds. */
  minEvidence: number;
  /** The most a PAD detector can lift the fused pFake to. */
  maxPFake: number;
}

export const defaultPadOptions: PadOptions = {
  tasks: ['face-pad'],
  mode: 'raise',
  minPFake: 0.9,
  minEvidence: 2,
  maxPFake: 0.65,
};

/** How the detectors of one modality are combined: see the file comment. */
export type DetectorFusion = 'pooled' | 'per-detector';
export const DETECTOR_FUSIONS: readonly DetectorFusion[] = ['pooled', 'per-detector'];

export interface ParticipantVerdictOptions {
  accumulator: Partial<EvidenceAccumulatorOptions>;
  pad: Partial<PadOptions>;
  machine: Partial<VerdictMachineOptions>;
  /** Voice continuity (speaker-embed windows): enrolment size, run length, thresholds. */
  speaker: Partial<IdentityContinuityOptions>;
  /** Face continuity (face-embed descriptors, one per face window): the face model's own rule. */
  face: Partial<IdentityContinuityOptions>;
  /** Declared synthetic voices (read at every speaker embedding: the set an operator maintains) and the match rule. */
  declaredVoices: () => DeclaredVoiceSet;
  declared: Partial<DeclaredVoiceRule>;
  quality: QualityThresholds;
  audioWeight: number;
  videoWeight: number;
  /** How the detectors of one modality are combined (see the file comment). */
  detectorFusion: DetectorFusion;
  /** Evidence (s) at which confidence reaches 63 % before other factors. */
  confidenceEvidence: number;
  /**
   * Weighted evidence (s) from which the fused log-odds count in full. Below it they are scaled
   * by evidence / fullEvidence, i.e. pulled toward pFake 0.5: an early verdict (after about a
   * second of input) leans only as far as its evidence allows, so a weak detector's first
   * window cannot make a genuine caller `suspicious` (which hysteresis would then hold).
   */
  fullEvidence: number;
  /** Minimum confidence change that emits a new verdict. */
  confidenceDelta: number;
  /** Confidence reported while `verified`. */
  verifiedConfidence: number;
  /** Drop reasons that say nothing about overload and do not lower confidence. */
  ignoredDropReasons: readonly DropReason[];
  now: () => number;
}

const NO_DECLARED_VOICES = new DeclaredVoiceSet();

export const defaultQualityThresholds: QualityThresholds = {
  maxPacketLoss: 0.15,
  maxConcealed: 0.2,
  minBitrate: 8000,
  poorBandwidths: ['NB', 'MB'],
  minFrameRate: 8,
  minFaceSize: 64,
};

export const defaultParticipantVerdictOptions: ParticipantVerdictOptions = {
  accumulator: {},
  pad: {},
  machine: {},
  speaker: {},
  face: {},
  declaredVoices: () => NO_DECLARED_VOICES,
  declared: {},
  quality: defaultQualityThresholds,
  audioWeight: 1,
  videoWeight: 1,
  detectorFusion: 'per-detector',
  confidenceEvidence: 10,
  fullEvidence: 4,
  confidenceDelta: 0.1,
  verifiedConfidence: 0.95,
  ignoredDropReasons: ['bad-input', 'unjudgeable-audio', 'unjudgeable-video', 'closed'],
  now: Date.now,
};

export interface Verdict {
  roomId: string;
  peerId: string;
  state: VerdictState;
  /** Fused calibrated probability of fake, 0.5 without evidence. */
  pFake: number;
  confidence: number;
  evidence: { speechSeconds: number; faceFrames: number };
  quality: { packetLoss: number; concealed: number; bitrate: number; bandwidth: string; frameRate: number; faceSize: number };
  dropped: { windows: number; fraction: number };
  reason?: string;
  /**
   * The models that ran on this participant, each with the windows it scored (speaker-embed: the
   * embeddings the takeover check received): a cascade stage (one window in N, fewer when it
   * yielded to a backlog) shows here how much of the call it saw. `dropped` (absent when none):
   * that model's windows dropped under load, counted. `task` (the manifest's, when known) tells a
   * scoring detector's drops (lost evidence) from a speaker-embed model's (a thinner takeover check).
   */
  models: { id: string; version: string; task?: ModelTask; windows: number; dropped?: number }[];
  updatedAt: number;
}

/** A participant started or stopped matching a declared synthetic voice. */
export interface DeclaredMatchChange {
  roomId: string;
  peerId: string;
  /** The voice matched now; undefined: no longer matching `previous`. */
  voice: { id: string; label: string } | undefined;
  previous: { id: string; label: string } | undefined;
  /** Cosine of the deciding window to the voice concerned. */
  cosine: number;
}

export type ParticipantVerdictEvents = {
  verdict: [Verdict];
  declared: [DeclaredMatchChange];
};

function audioProblems(q: AudioQuality, t: QualityThresholds): string[] {
  const out: string[] = [];
  if (q.packetLoss > t.maxPacketLoss) out.push('packet-loss');
  if (q.concealed > t.maxConcealed) out.push('concealment');
  if (q.bitrate > 0 && q.bitrate < t.minBitrate) out.push('low-bitrate');
  // Telephone audio is narrowband by nature; the detectors score it with their telephone calibration.
  if (t.poorBandwidths.includes(q.bandwidth) && q.channel !== 'telephone') out.push('narrowband');
  return out;
}

function videoProblems(q: VideoQuality, t: QualityThresholds): string[] {
  const out: string[] = [];
  if (q.packetLoss > t.maxPacketLoss) out.push('packet-loss');
  if (q.frameRate < t.minFrameRate) out.push('low-frame-rate');
  if (q.faceSize < t.minFaceSize) out.push('tiny-face');
  // The face gate's abstention (several faces, face cut off, frozen, dark): pipeline/video/faceGate.ts.
  if (q.issue) out.push(q.issue);
  return out;
}

export class ParticipantVerdict extends TypedEmitter<ParticipantVerdictEvents> {
  readonly options: ParticipantVerdictOptions;
  readonly roomId: string;
  readonly peerId: string;
  /** The tenant of the participant's room (picks the tenant's calibration). */
  readonly tenant: string;
  private readonly machine: VerdictMachine;
  private readonly acc: Record<MediaKind, EvidenceAccumulator>;
  private readonly pad: PadOptions;
  private readonly voice: IdentityContinuity;
  private readonly face: IdentityContinuity;
  private readonly declared: DeclaredVoiceMatcher;
  /** One accumulator per PAD detector id. */
  private readonly padAcc = new Map<string, EvidenceAccumulator>();
  /** One accumulator per (non-PAD) detector id and modality, kept under 'per-detector' fusion only. */
  private readonly detAcc: Record<MediaKind, Map<string, EvidenceAccumulator>> = { audio: new Map(), video: new Map() };
  private readonly seen: Record<MediaKind, boolean> = { audio: false, video: false };
  private audioQuality: AudioQuality | undefined;
  private videoQuality: VideoQuality | undefined;
  private speechSeconds = 0;
  private faceFrames = 0;
  private readonly models = new Map<string, { version: string; task: ModelTask | undefined; windows: number; dropped: number }>();
  private last: Verdict | undefined;
  private lastEmitted: Verdict | undefined;

  constructor(participant: { roomId: string; peerId: string; tenant?: string }, options: Partial<ParticipantVerdictOptions> = {}) {
    super();
    this.options = { ...defaultParticipantVerdictOptions, ...options };
    this.roomId = participant.roomId;
    this.peerId = participant.peerId;
    this.tenant = participant.tenant ?? DEFAULT_TENANT;
    this.machine = new VerdictMachine(this.options.machine);
    this.acc = { audio: new EvidenceAccumulator(this.options.accumulator), video: new EvidenceAccumulator(this.options.accumulator) };
    this.pad = { ...defaultPadOptions, ...this.options.pad };
    this.voice = new IdentityContinuity(this.options.speaker);
    this.face = new IdentityContinuity({ ...defaultFaceContinuityOptions, ...this.options.face });
    this.declared = new DeclaredVoiceMatcher(this.options.declared);
    const p = this.pad;
    if (!(p.minPFake > 0 && p.minPFake < 1) || !(p.maxPFake > 0 && p.maxPFake < 1) || !(p.minEvidence >= 0) || (p.mode !== 'raise' && p.mode !== 'report')) {
      throw new DfdError('ERR_CONFIG', 'presentation-attack verdict options out of range', { ...p, tasks: [...p.tasks] });
    }
    if (!DETECTOR_FUSIONS.includes(this.options.detectorFusion)) {
      throw new DfdError('ERR_CONFIG', `detectorFusion must be one of ${DETECTOR_FUSIONS.join(', ')}`, { detectorFusion: String(this.options.detectorFusion) });
    }
  }

  /** Records a window's input quality and evidence amount (call before submitting it: submit takes the buffer). */
  observe(window: AnalysisWindow): void {
    if (window.type === 'audio-window') {
      this.seen.audio = true;
      this.audioQuality = { ...window.quality };
      if (Number.isFinite(window.speechSeconds) && window.speechSeconds > 0) this.speechSeconds += window.speechSeconds;
    } else {
      this.seen.video = true;
      this.videoQuality = { ...window.quality };
      if (Number.isInteger(window.frames) && window.frames > 0) this.faceFrames += window.frames;
    }
  }

  /** The calibration family of the participant's audio (its latest audio window's channel; absent: wideband). */
  get audioChannel(): CalibrationChannel {
    return this.audioQuality?.channel ?? 'wideband';
  }

  /** The gateway leg's mark of the participant's latest audio window (AudioQuality.codec): 'g722', 'sip-opus' or absent. */
  get audioCodec(): LegCodec | undefined {
    return this.audioQuality?.codec;
  }

  /**
   * `task` (set by InferencePool) routes presentation-attack scores to their own accumulators.
   * `weight` (the manifest's verdict weight, default 1) scales the window's log-odds and its
   * evidence: a detector with weight 0 is recorded (models, seen) but moves nothing.
   */
  addScore(score: WindowScore & { task?: ModelTask; weight?: number }): void {
    const kind = score.stream.kind;
    this.seen[kind] = true;
    this.countModel(score.detector, score.modelVersion, score.task, 1, 0);
    const w = verdictWeight(score.weight);
    if (w > 0) {
      const acc = this.accumulatorFor(kind, score);
      const pFake = weightedPFake(score.pFake, w);
      const now = this.options.now();
      acc.addScore(pFake, w * score.evidence, now, score.evidence);
      // per-detector means are kept only where they are used (not for PAD detectors, not under 'pooled')
      if (acc === this.acc[kind] && this.options.detectorFusion === 'per-detector') {
        this.detectorAccumulator(kind, score.detector).addScore(pFake, w * score.evidence, now, score.evidence);
      }
    }
    this.evaluate();
  }

  /**
   * Counts dropped windows, except reasons in `ignoredDropReasons` (not overload): on the model
   * (`models[].dropped`, when its version is known: `modelVersion` or an earlier window's) and,
   * for a scoring detector, against the evidence (the verdict's confidence).
   */
  addDropped(ev: Pick<DropEvent, 'stream'> & { reason?: DropReason; detector?: string; task?: ModelTask; modelVersion?: string }, count = 1): void {
    if (ev.reason && this.options.ignoredDropReasons.includes(ev.reason)) return;
    const version = ev.detector !== undefined ? (ev.modelVersion ?? this.models.get(ev.detector)?.version) : undefined;
    if (ev.detector !== undefined && version !== undefined) this.countModel(ev.detector, version, ev.task, 0, count);
    if (ev.task !== 'speaker-embed') this.accumulatorFor(ev.stream.kind, ev).addDropped(count, this.options.now());
    this.evaluate();
  }

  /** `models`: windows scored and dropped per model; a new version starts its counts again. */
  private countModel(detector: string, version: string, task: ModelTask | undefined, windows: number, dropped: number): void {
    const seen = this.models.get(detector);
    const same = seen !== undefined && seen.version === version;
    this.models.set(detector, { version, task: task ?? (same ? seen.task : undefined), windows: (same ? seen.windows : 0) + windows, dropped: (same ? seen.dropped : 0) + dropped });
  }

  /** Decayed state of each presentation-attack detector (for inspection; not in the verdict event). */
  padSnapshots(): { detector: string; pFake: number; evidence: number; windows: number }[] {
    const now = this.options.now();
    return [...this.padAcc].map(([detector, a]) => {
      const s = a.snapshot(now);
      return { detector, pFake: s.pFake, evidence: s.evidence, windows: s.windows };
    });
  }

  private detectorAccumulator(kind: MediaKind, detector: string): EvidenceAccumulator {
    let a = this.detAcc[kind].get(detector);
    if (!a) {
      a = new EvidenceAccumulator(this.options.accumulator);
      this.detAcc[kind].set(detector, a);
    }
    return a;
  }

  /**
   * 'per-detector' fusion: the modality's log-odds as the sum of each detector's decayed mean,
   * each scaled by its coverage (file comment). The pooled snapshot keeps its evidence,
   * seconds and drop counts (the same input, whichever way its scores are combined).
   */
  private fusedLogOdds(kind: MediaKind, pooled: number, now: number): number {
    if (this.detAcc[kind].size === 0) return pooled;
    const snaps = [...this.detAcc[kind].values()].map((a) => a.snapshot(now)).filter((s) => s.evidence > 0);
    // A detector's share: its seconds against fullEvidence, or against the best-covered detector's while that has
    // less (early in a call the overall fullEvidence scaling already holds every detector back).
    const most = Math.max(0, ...snaps.map((s) => s.seconds));
    const full = Math.min(this.options.fullEvidence, most);
    let z = 0;
    for (const s of snaps) z += s.logOdds * (full > 0 ? Math.min(1, s.seconds / full) : 1);
    return z;
  }

  private accumulatorFor(kind: MediaKind, ev: { detector?: string; task?: ModelTask }): EvidenceAccumulator {
    if (ev.task === undefined || ev.detector === undefined || !this.pad.tasks.includes(ev.task)) return this.acc[kind];
    let a = this.padAcc.get(ev.detector);
    if (!a) {
      a = new EvidenceAccumulator(this.options.accumulator);
      this.padAcc.set(ev.detector, a);
    }
    return a;
  }

  /** The most confident PAD detector past the gate, or undefined. */
  private padAlarm(now: number): { detector: string; pFake: number; evidence: number; seconds: number } | undefined {
    if (this.pad.mode !== 'raise') return undefined;
    let best: { detector: string; pFake: number; evidence: number; seconds: number } | undefined;
    for (const [detector, a] of this.padAcc) {
      const s = a.snapshot(now);
      if (s.evidence < this.pad.minEvidence || s.evidence <= 0 || s.pFake < this.pad.minPFake) continue;
      if (!best || s.pFake > best.pFake) best = { detector, pFake: s.pFake, evidence: s.evidence, seconds: s.seconds };
    }
    return best;
  }

  markVerified(untilMs: number): void {
    this.machine.markVerified(untilMs, this.options.now());
    this.evaluate();
  }

  markDeepfakeLikely(reason: string): void {
    this.machine.markDeepfakeLikely(reason, this.options.now());
    this.evaluate();
  }

  /** Withdraws `verified` (an operator dismissed the pass behind it); the evidence is judged afresh. */
  revokeVerified(reason: string): void {
    this.machine.revokeVerified(reason, this.options.now());
    this.evaluate();
  }

  /**
   * One speech window's speaker embedding (task speaker-embed). When the voice is no longer the
   * one enrolled at the start of the call, it is a takeover: see markTakeover.
   */
  addSpeakerEmbedding(e: { vector: Float32Array; channel: ContinuityChannel; detector?: string; modelVersion?: string }): void {
    if (e.detector !== undefined && e.modelVersion !== undefined) this.countModel(e.detector, e.modelVersion, 'speaker-embed', 1, 0);
    const r = this.voice.add(e.vector, e.channel);
    if (r.state === 'takeover') this.markTakeover('takeover:voice', 'audio');
    const set = this.options.declaredVoices();
    if (set.size === 0 && !this.declared.matched) return;
    const previous = this.declared.matched;
    const m = this.declared.add(e.vector, set, e.channel);
    if (!m.changed) return;
    const ref = (v: DeclaredVoice | undefined) => (v ? { id: v.id, label: v.label } : undefined);
    this.safeEmit('declared', { roomId: this.roomId, peerId: this.peerId, voice: ref(this.declared.matched), previous: ref(previous), cosine: m.cosine });
    this.evaluate();
  }

  /** The declared synthetic voice this participant matches now, if any. */
  get declaredVoice(): { id: string; label: string } | undefined {
    const v = this.declared.matched;
    return v ? { id: v.id, label: v.label } : undefined;
  }

  /**
   * Holds the voice- and face-continuity checks while the participant answers a challenge: a whisper,
   * a tune, a turned head or a hand over the face change them on purpose.
   */
  holdContinuity(on: boolean): void {
    this.voice.suspend(on);
    this.face.suspend(on);
  }

  /**
   * One face window's descriptor (task face-embed). When the face is no longer the one enrolled
   * at the start of the call, it is a takeover: see markTakeover.
   */
  addFaceDescriptor(vector: Float32Array): void {
    if (this.face.add(vector).state === 'takeover') this.markTakeover('takeover:face', 'video');
  }

  /** Voice and face changes seen so far (after enrolment). */
  get takeovers(): number {
    return this.voice.takeovers + this.face.takeovers;
  }

  /**
   * Someone else is speaking, or in front of the camera, now: the evidence gathered on the
   * previous voice or face (`modality`) no longer speaks for this one (dropped), a passed challenge
   * no longer vouches for it, and the verdict is `suspicious` with `reason`, held while the new
   * voice or face gathers its own evidence.
   */
  markTakeover(reason: string, modality: 'audio' | 'video' = 'audio'): void {
    this.acc[modality].reset();
    this.detAcc[modality].clear();
    this.machine.markTakeover(reason, this.options.now());
    this.evaluate();
  }

  /** Re-evaluates without new input (verified expiry, evidence decay). Call periodically. */
  tick(): void {
    this.evaluate();
  }

  current(): Verdict {
    return this.last ?? this.evaluate(false);
  }

  private evaluate(emit = true): Verdict {
    const now = this.options.now();
    const t = this.options.quality;
    const snaps = { audio: this.acc.audio.snapshot(now), video: this.acc.video.snapshot(now) };
    const problems = {
      audio: this.audioQuality ? audioProblems(this.audioQuality, t) : [],
      video: this.videoQuality ? videoProblems(this.videoQuality, t) : [],
    };
    const weights = { audio: this.options.audioWeight, video: this.options.videoWeight };
    let num = 0;
    let den = 0;
    let evidence = 0;
    let seconds = 0;
    let contributing = 0;
    const poor: string[] = [];
    // A declared synthetic voice: its voice evidence is set aside while it matches (synthetic by design).
    const declared = this.declared.matched;
    for (const kind of ['audio', 'video'] as const) {
      const s = snaps[kind];
      if (kind === 'audio' && declared) continue;
      if (problems[kind].length > 0) {
        if (s.evidence > 0 || this.seen[kind]) poor.push(...problems[kind].map((p) => `${kind}:${p}`));
        continue;
      }
      if (s.evidence <= 0) continue;
      num += weights[kind] * s.evidence * this.fusedLogOdds(kind, s.logOdds, now);
      den += weights[kind] * s.evidence;
      evidence += s.evidence;
      seconds += s.seconds;
      contributing++;
    }
    const full = this.options.fullEvidence > 0 ? Math.min(1, evidence / this.options.fullEvidence) : 1;
    let pFake = den > 0 ? sigmoid((full * num) / den) : 0.5;
    // A confident presentation-attack detector lifts pFake (never lowers it), on judgeable video only.
    const alarm = problems.video.length === 0 ? this.padAlarm(now) : undefined;
    const lifted = alarm !== undefined && Math.min(alarm.pFake, this.pad.maxPFake) > pFake;
    if (alarm && lifted) {
      pFake = Math.min(alarm.pFake, this.pad.maxPFake);
      evidence = Math.max(evidence, alarm.evidence);
      seconds = Math.max(seconds, alarm.seconds);
      if (contributing === 0) contributing = 1;
    }
    // Too poor to judge only when nothing usable remains.
    const poorQuality = contributing === 0 && poor.length > 0 ? poor.join(',') : undefined;
    this.machine.update({ pFake, evidence: seconds, ...(poorQuality ? { poorQuality } : {}), now });

    const observed = (this.seen.audio && !declared ? 1 : 0) + (this.seen.video ? 1 : 0);
    const coverage = observed > 0 ? contributing / observed : 0;
    const scored = snaps.audio.windows + snaps.video.windows;
    const droppedWindows = snaps.audio.dropped + snaps.video.dropped;
    const fractions = [snaps.audio, snaps.video].filter((s) => s.windows + s.dropped > 0).map((s) => s.droppedFraction);
    const droppedFraction = fractions.length > 0 ? Math.max(...fractions) : 0;
    let confidence = (1 - Math.exp(-evidence / this.options.confidenceEvidence)) * (1 - droppedFraction) * coverage;
    if (this.machine.state === 'verified') confidence = Math.max(confidence, this.options.verifiedConfidence);
    const aq = this.audioQuality;
    const vq = this.videoQuality;
    const state = this.machine.state;
    const reason =
      alarm && lifted && (state === 'suspicious' || state === 'deepfake-likely') && !this.machine.reason
        ? `presentation-attack:${alarm.detector}`
        : declared && (state === 'collecting' || !this.machine.reason)
          ? // The declared voice is why there is no voice verdict: say so rather than "insufficient evidence".
            `declared-synthetic:${declared.id}`
          : this.machine.reason;
    const verdict: Verdict = {
      roomId: this.roomId,
      peerId: this.peerId,
      state: this.machine.state,
      pFake,
      confidence: Math.max(0, Math.min(1, confidence)),
      evidence: { speechSeconds: this.speechSeconds, faceFrames: this.faceFrames },
      quality: {
        packetLoss: Math.max(aq?.packetLoss ?? 0, vq?.packetLoss ?? 0),
        concealed: aq?.concealed ?? 0,
        bitrate: aq?.bitrate ?? 0,
        bandwidth: aq?.bandwidth ?? '',
        frameRate: vq?.frameRate ?? 0,
        faceSize: vq?.faceSize ?? 0,
      },
      dropped: { windows: droppedWindows, fraction: scored + droppedWindows > 0 ? droppedFraction : 0 },
      ...(reason ? { reason } : {}),
      models: [...this.models]
        .map(([id, m]) => ({ id, version: m.version, ...(m.task !== undefined ? { task: m.task } : {}), windows: m.windows, ...(m.dropped > 0 ? { dropped: m.dropped } : {}) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      updatedAt: now,
    };
    this.last = verdict;
    if (emit) {
      const prev = this.lastEmitted;
      const significant =
        !prev || prev.state !== verdict.state || prev.reason !== verdict.reason || Math.abs(prev.confidence - verdict.confidence) >= this.options.confidenceDelta;
      if (significant) {
        this.lastEmitted = verdict;
        this.safeEmit('verdict', verdict);
      }
    }
    return verdict;
  }
}
