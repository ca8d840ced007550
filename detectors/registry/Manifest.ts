/**
 * The model contract: every detector lives in `detectors/models/<id>/` as `model.onnx`
 * plus this `manifest.json`. The schema is the single source of truth for the TS type.
 * Extra fields are allowed (additionalProperties is not closed) so manifests can carry
 * more provenance than the service reads.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DfdError } from '../../kernel/errors.js';

/**
 * `face-pad`: presentation-attack detection (a printed photo or a screen replayed to the
 * camera), a face-window detector like `face-forgery` but a different threat; the verdict
 * weighs it on its own (pipeline/verdict/ParticipantVerdict.ts, option `pad`).
 */
/**
 * `speaker-embed`: a speaker-embedding model (output: an L2-normalised vector per window, not a
 * logit); the verdict tracks the voice's continuity with it (pipeline/verdict/IdentityContinuity.ts).
 */
export const ModelTasks = ['voice-antispoof', 'face-forgery', 'face-pad', 'face-detect', 'face-landmarks', 'vad', 'speaker-embed', 'face-embed'] as const;
export type ModelTask = (typeof ModelTasks)[number];

/** A dimension: a fixed size or a symbolic (dynamic) name such as "batch". */
const Dim = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })]);

const TensorSpec = Type.Object({
  name: Type.String({ minLength: 1 }),
  dtype: Type.Union([Type.Literal('float32'), Type.Literal('uint8'), Type.Literal('int64'), Type.Literal('int32')]),
  shape: Type.Array(Dim),
});

const AudioSpec = Type.Object({
  sampleRate: Type.Integer({ minimum: 1000, maximum: 192000 }),
  minSeconds: Type.Number({ exclusiveMinimum: 0 }),
  maxSeconds: Type.Number({ exclusiveMinimum: 0 }),
  preprocessing: Type.String(),
  /** Target RMS level in dBFS of the per-window normalisation; default -26. */
  targetDbfs: Type.Optional(Type.Number({ maximum: 0 })),
  /** 'rms' (default): the worker normalises each window to targetDbfs; 'none': the model does its own (in-graph). */
  normalize: Type.Optional(Type.Union([Type.Literal('rms'), Type.Literal('none')])),
});

/** How the verdict uses an embedding model (task `speaker-embed` or `face-embed`), as chosen on its tuning identities. */
const TakeoverSpec = Type.Object({
  /** Windows averaged into the enrolment profile. */
  K: Type.Integer({ minimum: 1, maximum: 100 }),
  /** Consecutive windows below the threshold that make a takeover. */
  M: Type.Integer({ minimum: 1, maximum: 100 }),
  /** Cosine threshold (wideband audio, or faces), and for telephone audio. */
  T: Type.Number({ minimum: -1, maximum: 1 }),
  T_telephone: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
  /** For audio of a sender that suppresses noise (a browser's microphone path); absent: T. */
  T_suppressed: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
});

/** A speaker-embedding model's rule for declared synthetic voices (pipeline/verdict/DeclaredVoices.ts). */
const DeclaredSpec = Type.Object({
  /** Consecutive windows at or above the threshold that make a match (and below it that end one). */
  M: Type.Integer({ minimum: 1, maximum: 100 }),
  /** Cosine threshold to the declared voice's profile (wideband), and for telephone audio. */
  T: Type.Number({ minimum: -1, maximum: 1 }),
  T_telephone: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
  /** For a noise-suppressing (browser) sender's speech; absent: T. */
  T_suppressed: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
  /**
   * Earlier versions of this model whose declared-voice profiles it still matches (their embeddings were measured to
   * agree with this version's); profiles of other versions must be enrolled again (decision/declaredProfileStatus.ts).
   */
  profilesFrom: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 })),
});

const ImageSpec = Type.Object({
  width: Type.Integer({ minimum: 1 }),
  height: Type.Integer({ minimum: 1 }),
  layout: Type.Union([Type.Literal('NCHW'), Type.Literal('NHWC')]),
  channels: Type.Union([Type.Literal('RGB'), Type.Literal('BGR')]),
  scale: Type.Number(),
  mean: Type.Tuple([Type.Number(), Type.Number(), Type.Number()]),
  std: Type.Tuple([Type.Number({ exclusiveMinimum: 0 }), Type.Number({ exclusiveMinimum: 0 }), Type.Number({ exclusiveMinimum: 0 })]),
  crop: Type.String(),
});

export const ManifestSchema = Type.Object({
  schemaVersion: Type.Literal(1),
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 64 }),
  version: Type.String({ minLength: 1 }),
  task: Type.Union(ModelTasks.map((t) => Type.Literal(t))),
  /** A plain file name inside the model folder (no path separators). */
  file: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  inputs: Type.Array(TensorSpec, { minItems: 1 }),
  outputs: Type.Array(TensorSpec, { minItems: 1 }),
  audio: Type.Optional(AudioSpec),
  image: Type.Optional(ImageSpec),
  output: Type.Object({ meaning: Type.String() }),
  calibration: Type.Object({
    method: Type.Literal('logistic'),
    a: Type.Number(),
    b: Type.Number(),
    fittedOn: Type.String(),
    /**
     * Optional logistic calibration for telephone audio (8 kHz band, G.711), fitted on a dev split
     * passed through that channel; `calibrationFor(c, 'telephone')` picks it, else the main one.
     */
    telephone: Type.Optional(Type.Object({ a: Type.Number(), b: Type.Number(), fittedOn: Type.String() })),
    /**
     * Optional logistic calibration for wideband audio from a sender that suppresses noise (a
     * browser's getUserMedia does by default): fitted on the same held-out clips behind WebRTC's
     * noise suppressor, which lifts real speech towards fakes; `calibrationFor(c, 'suppressed')`.
     */
    suppressed: Type.Optional(Type.Object({ a: Type.Number(), b: Type.Number(), fittedOn: Type.String() })),
  }),
  license: Type.String({ minLength: 1 }),
  dataCard: Type.String(),
  training: Type.Object({
    command: Type.String(),
    seconds: Type.Number({ minimum: 0 }),
    metrics: Type.Record(Type.String(), Type.Number()),
  }),
  budget: Type.Optional(Type.Object({ gmacPerSecondAudio: Type.Optional(Type.Number({ minimum: 0 })) })),
  takeover: Type.Optional(TakeoverSpec),
  declared: Type.Optional(DeclaredSpec),
  /**
   * How much the verdict trusts this detector, 0..1 (absent: 1). Each window's calibrated
   * log-odds and its evidence are both multiplied by `weight`, so 0 means "scored and
   * published, never moves a verdict or fails a challenge". `basis` says where it came from.
   * `weightTelephone` (absent: `weight`) replaces it for windows scored with the telephone
   * calibration (G.711 phone legs): genuine phone callers drift differently from browser ones,
   * so each channel family may carry the weight its own genuine callers allow (`verdictWeightFor`).
   * `weightG722` (absent: `weight`) replaces `weight` for the wideband windows of a G.722 leg
   * (an HD-voice SIP caller, `AudioQuality.codec`): calibrated as wideband audio, weighted by
   * what real callers through G.722 allow (detectors/training/voice/sip_legs.py --leg g722).
   * `weightSipOpus` (absent: `weight`) does the same for a gateway's Opus leg (a SIP caller whose far
   * end may suppress noise without saying so, `AudioQuality.codec` 'sip-opus'; sip_legs.py --leg sip-opus).
   */
  verdict: Type.Optional(Type.Object({
    weight: Type.Number({ minimum: 0, maximum: 1 }),
    weightTelephone: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    weightG722: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    weightSipOpus: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    basis: Type.String({ minLength: 1 }),
  })),
  /**
   * A second, dearer stage of a cheap detector of the same task: it scores one window in
   * `everyNthWindow` of each stream (the 1st, (N+1)th, ...), after the first stage's windows
   * (pipeline/inference/InferencePool.ts). Windows it leaves out are counted as skipped, not dropped.
   */
  cascade: Type.Optional(Type.Object({ everyNthWindow: Type.Integer({ minimum: 1, maximum: 600 }), basis: Type.String({ minLength: 1 }) })),
});

export type Manifest = Static<typeof ManifestSchema>;
export type TensorSpec = Static<typeof TensorSpec>;
export type AudioSpec = Static<typeof AudioSpec>;
export type ImageSpec = Static<typeof ImageSpec>;
export type TakeoverSpec = Static<typeof TakeoverSpec>;
export type DeclaredSpec = Static<typeof DeclaredSpec>;

const compiled = TypeCompiler.Compile(ManifestSchema);

/** Tasks that need an `audio` block, and those that need an `image` block. */
const audioTasks: readonly ModelTask[] = ['voice-antispoof', 'vad', 'speaker-embed'];
const imageTasks: readonly ModelTask[] = ['face-forgery', 'face-pad', 'face-detect', 'face-landmarks', 'face-embed'];

/**
 * Validates an already-parsed manifest. Throws ERR_MODEL_MANIFEST naming the first few
 * offending paths (never the values).
 */
export function parseManifest(value: unknown): Manifest {
  if (!compiled.Check(value)) {
    const errors = [...compiled.Errors(value)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new DfdError('ERR_MODEL_MANIFEST', errors.join('; '), { errors });
  }
  const m = value;
  if (audioTasks.includes(m.task) && !m.audio) throw new DfdError('ERR_MODEL_MANIFEST', `task ${m.task} needs an audio block`);
  if (imageTasks.includes(m.task) && !m.image) throw new DfdError('ERR_MODEL_MANIFEST', `task ${m.task} needs an image block`);
  if (m.cascade && m.task !== 'voice-antispoof') throw new DfdError('ERR_MODEL_MANIFEST', `a cascade stage must be a voice-antispoof model, not ${m.task}`);
  if (m.audio && m.audio.minSeconds > m.audio.maxSeconds) throw new DfdError('ERR_MODEL_MANIFEST', 'audio.minSeconds exceeds audio.maxSeconds');
  return m;
}

/** pFake = sigmoid(a * logit + b). */
export function calibrate(calibration: Manifest['calibration'], logit: number): number {
  const z = calibration.a * logit + calibration.b;
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * The audio channel a score came through: wideband (WebRTC Opus, SIP G.722; the default),
 * telephone (8 kHz, G.711) or suppressed (wideband from a sender whose noise suppressor ran,
 * as a browser's does by default).
 */
export type CalibrationChannel = 'wideband' | 'telephone' | 'suppressed';

/**
 * The calibration to use for audio that came through `channel`: the manifest's telephone or
 * suppressed one when it has it and the channel is that, otherwise the main one. Returns the
 * shape `calibrate()` takes (without the nested ones).
 */
export function calibrationFor(calibration: Manifest['calibration'], channel: CalibrationChannel): Manifest['calibration'] {
  const t = channel === 'telephone' ? calibration.telephone : channel === 'suppressed' ? calibration.suppressed : undefined;
  if (t) return { method: 'logistic', a: t.a, b: t.b, fittedOn: t.fittedOn };
  return { method: 'logistic', a: calibration.a, b: calibration.b, fittedOn: calibration.fittedOn };
}

/** A score's verdict weight (`Manifest.verdict.weight`): 1 when absent or not finite, else clamped to 0..1. */
export function verdictWeight(weight: number | undefined): number {
  return weight === undefined || !Number.isFinite(weight) ? 1 : Math.max(0, Math.min(1, weight));
}

/**
 * The mark on the wideband windows of a gateway's leg (AudioQuality.codec): 'g722' for a G.722
 * leg (an HD-voice SIP caller), 'sip-opus' for an Opus leg of a gateway (SIP or plain RTP). Such a
 * leg never says whether its far end suppressed noise, so it is calibrated as plain wideband audio
 * and weighed (and challenged) by what real callers on that kind of leg allow.
 */
export type LegCodec = 'g722' | 'sip-opus';

/**
 * Which kind of leg a window came from, for what is chosen per leg (a verdict weight here, a
 * weak-evidence threshold in the challenge service): a phone leg (telephone calibration), a G.722
 * leg or a gateway's Opus leg (wideband audio marked with its `LegCodec`), or any other (wideband
 * browser audio, including noise-suppressed senders).
 */
export type LegFamily = 'wideband' | 'telephone' | LegCodec;

/** The leg family of a window of `channel` (its calibration family) and `codec` (AudioQuality.codec). */
export function legFamily(channel: CalibrationChannel, codec?: LegCodec): LegFamily {
  if (channel === 'telephone') return 'telephone';
  return channel === 'wideband' && codec !== undefined ? codec : 'wideband';
}

/**
 * The verdict weight of a window that came through `channel` (and `codec`): its leg family's
 * (`legFamily`): `weightTelephone` for a phone leg, `weightG722` for a G.722 leg, `weightSipOpus` for
 * a gateway's Opus leg, when the manifest has one; else `weight` (1 without a `verdict`); clamped as
 * `verdictWeight`.
 */
export function verdictWeightFor(verdict: Manifest['verdict'], channel: CalibrationChannel, codec?: LegCodec): number {
  if (verdict === undefined) return 1;
  const own = { wideband: undefined, telephone: verdict.weightTelephone, g722: verdict.weightG722, 'sip-opus': verdict.weightSipOpus }[legFamily(channel, codec)];
  return verdictWeight(own ?? verdict.weight);
}

/** pFake with its log-odds scaled by a verdict weight (1: unchanged, 0: 0.5). */
export function weightedPFake(pFake: number, weight: number): number {
  if (weight === 1) return pFake;
  const p = Math.min(1 - 1e-9, Math.max(1e-9, pFake));
  return calibrate({ method: 'logistic', a: weight, b: 0, fittedOn: '' }, Math.log(p / (1 - p)));
}
