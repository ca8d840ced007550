/**
 * The event contract: one envelope, six event types, subjects `<prefix>.<room>.<peer>.<type>`.
 *
 * Schemas are built twice from the same description:
 * - `strict` (additionalProperties: false) guards what this service publishes, so a typo in our
 *   own code is caught before it reaches the bus;
 * - `lenient` (unknown properties allowed) guards what we consume, so a newer producer that added
 *   optional fields inside schemaVersion 1 still validates (see docs/events.md, versioning).
 * The lenient schemas are the ones exported to events/schemas/*.json for external consumers.
 */
import { randomUUID } from 'node:crypto';
import { FormatRegistry, Type, type Static, type TLiteral, type TObject, type TProperties, type TUnion } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { DfdError } from '../kernel/errors.js';
import { TENANT_PATTERN } from '../kernel/tenant.js';

export const EVENT_SCHEMA_VERSION = 1 as const;
export const DEFAULT_SUBJECT_PREFIX = 'dfd.v1';
export const EVENT_TYPES = ['score', 'verdict', 'challenge', 'quality', 'decision', 'declared'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Room and peer ids become subject tokens: only these characters, never `.`, `*`, `>` or spaces. */
export const SUBJECT_TOKEN_RE = /^[A-Za-z0-9_-]{1,128}$/;
const TOKEN_PATTERN = '^[A-Za-z0-9_-]{1,128}$';
const PREFIX_RE = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 date-time: the pattern, and a real calendar date and time (Date.parse rolls Feb 30 over to Mar 2). */
function isDateTime(v: string): boolean {
  if (!ISO_RE.test(v) || Number.isNaN(Date.parse(v))) return false;
  const [y, mo, d, h, mi, s] = [v.slice(0, 4), v.slice(5, 7), v.slice(8, 10), v.slice(11, 13), v.slice(14, 16), v.slice(17, 19)].map(Number) as [number, number, number, number, number, number];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] ?? 0;
  return d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59;
}

if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID_RE.test(v));
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isDateTime);

/**
 * What a scored window came through (the calibration families): wideband audio, telephone audio, wideband
 * audio from a sender whose noise suppressor ran ('suppressed': a browser's getUserMedia by default; the
 * shipped detectors calibrate it apart, and a tenant's refit groups it apart), or video.
 */
export const SCORE_CHANNELS = ['wideband', 'telephone', 'suppressed', 'video'] as const;
export type ScoreChannel = (typeof SCORE_CHANNELS)[number];

export const VERDICT_STATES = ['collecting', 'likely-genuine', 'suspicious', 'deepfake-likely', 'verified'] as const;
export type VerdictState = (typeof VERDICT_STATES)[number];

function literals<const T extends readonly string[]>(values: T): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnion<TLiteral<T[number]>[]>;
}

function build(strict: boolean) {
  const obj = <P extends TProperties>(props: P, opts: Record<string, unknown> = {}): TObject<P> =>
    Type.Object(props, { additionalProperties: !strict, ...opts });

  const Token = Type.String({ pattern: TOKEN_PATTERN });
  const Prob = Type.Number({ minimum: 0, maximum: 1 });
  const NonNeg = Type.Number({ minimum: 0 });
  const Count = Type.Integer({ minimum: 0 });
  const ShortText = (max: number) => Type.String({ minLength: 1, maxLength: max });
  const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });

  /**
   * windows: how many windows the model scored for this participant, dropped: how many of its windows were dropped
   * under load, task: the model manifest's task (verdict events; a speaker-embed model's drops cost no evidence).
   */
  const ModelRef = obj({
    id: ShortText(128),
    version: ShortText(64),
    task: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' })),
    windows: Type.Optional(Count),
    dropped: Type.Optional(Count),
  });
  const Quality = obj(
    {
      packetLoss: Type.Optional(Prob),
      concealed: Type.Optional(Prob),
      bitrate: Type.Optional(NonNeg),
      bandwidth: Type.Optional(literals(['NB', 'MB', 'WB', 'SWB', 'FB'] as const)),
      frameRate: Type.Optional(NonNeg),
      faceSize: Type.Optional(NonNeg),
    },
    { description: 'input quality measured over the window(s) the event is about' },
  );
  const Audit = obj(
    {
      index: Count,
      prevHash: Hash,
      hash: Hash,
    },
    { description: 'hash chain link of this record inside its call (see docs/events.md)' },
  );

  const Phone = obj(
    {
      platform: literals(['twilio', 'audiohook', 'sip', 'rtp'] as const),
      /** The platform's own id of the call: Twilio CallSid, Genesys conversationId. */
      platformCallId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' })),
      /** The ingest key's tenant. */
      tenant: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' })),
    },
    { description: 'how a phone call reached the service (absent for meeting participants)' },
  );
  const envelope = {
    schemaVersion: Type.Literal(EVENT_SCHEMA_VERSION),
    id: Type.String({ format: 'uuid' }),
    roomId: Token,
    peerId: Token,
    callId: Type.Optional(Token),
    displayName: Type.String({ maxLength: 256 }),
    ts: Type.String({ format: 'date-time' }),
    seq: Type.Optional(Count),
    models: Type.Array(ModelRef, { maxItems: 32 }),
    /** The tenant the room and call belong to (kernel/tenant.ts). */
    tenant: Type.Optional(Type.String({ pattern: TENANT_PATTERN })),
    phone: Type.Optional(Phone),
    audit: Type.Optional(Audit),
  };
  const ScoreChannel = literals(SCORE_CHANNELS);

  const ScorePayload = obj({
    detector: ShortText(128),
    pFake: Prob,
    evidence: NonNeg,
    windowSeq: Count,
    queueMs: NonNeg,
    inferenceMs: NonNeg,
    /** The detector's verdict weight (manifest), 0..1: 0 = published, never moves a verdict. */
    weight: Type.Optional(Prob),
    /** What the window came through: wideband or telephone audio, or video. */
    channel: Type.Optional(ScoreChannel),
    /**
     * Present when the tenant's own calibration (refit from its operators' decisions) made `pFake`:
     * its version, and the probability the shipped calibration gave.
     */
    tenantCalibration: Type.Optional(obj({ version: Type.Integer({ minimum: 1 }), shippedPFake: Prob })),
  });
  const VerdictPayload = obj({
    state: literals(VERDICT_STATES),
    pFake: Prob,
    confidence: Prob,
    evidence: obj({ speechSeconds: NonNeg, faceFrames: Count }),
    quality: Quality,
    dropped: Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' }), Count, {
      additionalProperties: false,
      maxProperties: 32,
      description: 'counts of windows/frames dropped by reason, e.g. {"audioWindows": 2}',
    }),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  });
  const ChallengePayload = obj({
    challengeId: Token,
    challengeType: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' }),
    modality: literals(['audio', 'video', 'audio-video'] as const),
    phase: literals(['issued', 'response', 'outcome', 'cancelled'] as const),
    /** What the participant is asked to do (phase "issued"); shown by the meeting page and the badge SDK. */
    promptText: Type.Optional(Type.String({ maxLength: 500 })),
    expectedDurationSec: Type.Optional(NonNeg),
    /** The side asked for (head turn, hand, finger; phase "issued"), the participant's own left or right. */
    side: Type.Optional(literals(['left', 'right'] as const)),
    trigger: Type.Optional(literals(['suspicious', 'weak-evidence', 'spot-check', 'operator'] as const)),
    /**
     * What a weak-evidence challenge acted on (phase "issued"): the participant's fused pFake, the threshold it
     * reached (DFD_CHALLENGE_LEAN_P, DFD_CHALLENGE_LEAN_P_TELEPHONE for a phone leg, DFD_CHALLENGE_LEAN_P_G722 for a
     * G.722 leg, DFD_CHALLENGE_LEAN_P_SIP_OPUS for a gateway's Opus leg) and whose threshold that is.
     */
    basis: Type.Optional(obj({ pFake: Prob, threshold: Prob, family: literals(['wideband', 'telephone', 'g722', 'sip-opus'] as const) })),
    /**
     * Who is given the prompt (phase "issued"): the participant (played or shown to them), or the
     * agent on the call, who asks the caller (a phone platform that cannot play audio, e.g. AudioHook).
     */
    deliveredTo: Type.Optional(literals(['participant', 'agent'] as const)),
    outcome: Type.Optional(literals(['passed', 'failed', 'non-compliant', 'unclear', 'timed-out'] as const)),
    /** Why the outcome was reached, or why the challenge was cancelled. */
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    measurements: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' }), Type.Number(), { additionalProperties: false, maxProperties: 32 }),
    ),
  });
  const QualityPayload = Quality;
  const DecisionPayload = obj({
    decision: literals(['confirm', 'dismiss'] as const),
    tagState: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'the verdict state the operator acted on, e.g. "deepfake-likely"' }),
    operator: ShortText(128),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    /**
     * The participant's call-level detector scores when the operator decided: per detector and channel,
     * the evidence-weighted mean log-odds of fake under the shipped calibration. With the decision as
     * its label, this is what the per-tenant calibration is refit from (decision/calibration/).
     */
    callScores: Type.Optional(
      Type.Array(obj({ detector: ShortText(128), channel: ScoreChannel, logOdds: Type.Number({ minimum: -20, maximum: 20 }), evidence: NonNeg, windows: Count }), { maxItems: 32 }),
    ),
  });

  /** A participant started (matched: true) or stopped matching a declared synthetic voice (pipeline/verdict/DeclaredVoices.ts). */
  const DeclaredPayload = obj({
    voiceId: Token,
    label: ShortText(128),
    matched: Type.Boolean(),
    /** Cosine of the deciding speech window to the voice's profile. */
    cosine: Type.Number({ minimum: -1, maximum: 1 }),
  });

  const ScoreEvent = obj({ ...envelope, type: Type.Literal('score'), payload: ScorePayload }, { $id: 'dfd.v1.score', title: 'score event' });
  const VerdictEvent = obj({ ...envelope, type: Type.Literal('verdict'), payload: VerdictPayload }, { $id: 'dfd.v1.verdict', title: 'verdict event' });
  const ChallengeEvent = obj({ ...envelope, type: Type.Literal('challenge'), payload: ChallengePayload }, { $id: 'dfd.v1.challenge', title: 'challenge event' });
  const QualityEvent = obj({ ...envelope, type: Type.Literal('quality'), payload: QualityPayload }, { $id: 'dfd.v1.quality', title: 'quality event' });
  const DecisionEvent = obj({ ...envelope, type: Type.Literal('decision'), payload: DecisionPayload }, { $id: 'dfd.v1.decision', title: 'decision event' });
  const DeclaredEvent = obj({ ...envelope, type: Type.Literal('declared'), payload: DeclaredPayload }, { $id: 'dfd.v1.declared', title: 'declared-voice match event' });
  const Event = Type.Union([ScoreEvent, VerdictEvent, ChallengeEvent, QualityEvent, DecisionEvent, DeclaredEvent], { $id: 'dfd.v1.event', title: 'any dfd event' });
  return { ScoreEvent, VerdictEvent, ChallengeEvent, QualityEvent, DecisionEvent, DeclaredEvent, Event };
}

export const StrictSchemas = build(true);
export const LenientSchemas = build(false);

export type ScoreEvent = Static<typeof StrictSchemas.ScoreEvent>;
export type VerdictEvent = Static<typeof StrictSchemas.VerdictEvent>;
export type ChallengeEvent = Static<typeof StrictSchemas.ChallengeEvent>;
export type QualityEvent = Static<typeof StrictSchemas.QualityEvent>;
export type DecisionEvent = Static<typeof StrictSchemas.DecisionEvent>;
export type DeclaredEvent = Static<typeof StrictSchemas.DeclaredEvent>;
export type DfdEvent = ScoreEvent | VerdictEvent | ChallengeEvent | QualityEvent | DecisionEvent | DeclaredEvent;
/** How a phone call reached the service: the envelope's `phone`. */
export type PhoneRef = NonNullable<DfdEvent['phone']>;
export type EventOfType<T extends EventType> = Extract<DfdEvent, { type: T }>;
export type AuditLink = NonNullable<DfdEvent['audit']>;

/** JSON Schemas keyed by file name, for events/schemas/*.json (lenient: for consumers). */
export function jsonSchemas(): Record<string, unknown> {
  const plain = (s: unknown): unknown => JSON.parse(JSON.stringify(s));
  return {
    'score.json': plain(LenientSchemas.ScoreEvent),
    'verdict.json': plain(LenientSchemas.VerdictEvent),
    'challenge.json': plain(LenientSchemas.ChallengeEvent),
    'quality.json': plain(LenientSchemas.QualityEvent),
    'decision.json': plain(LenientSchemas.DecisionEvent),
    'declared.json': plain(LenientSchemas.DeclaredEvent),
    'event.json': plain(LenientSchemas.Event),
  };
}

let strictCheck: TypeCheck<typeof StrictSchemas.Event> | undefined;
let lenientCheck: TypeCheck<typeof LenientSchemas.Event> | undefined;

function firstError(check: TypeCheck<typeof StrictSchemas.Event>, value: unknown): { path: string; message: string } | undefined {
  // The union reports only "expected union"; re-check against the branch named by `type` for a useful path.
  const t = (value as { type?: unknown } | null)?.type;
  const idx = EVENT_TYPES.indexOf(t as EventType);
  if (idx >= 0) {
    const branch = (check.Schema().anyOf as unknown[])[idx];
    const e = TypeCompiler.Compile(branch as typeof StrictSchemas.ScoreEvent).Errors(value).First();
    if (e) return { path: e.path, message: e.message };
  }
  const e = check.Errors(value).First();
  return e ? { path: e.path, message: e.message } : undefined;
}

/** Throws DfdError('ERR_BAD_REQUEST') unless `value` is a valid event this service may publish. */
export function assertEvent(value: unknown): asserts value is DfdEvent {
  strictCheck ??= TypeCompiler.Compile(StrictSchemas.Event);
  if (!strictCheck.Check(value)) {
    const err = firstError(strictCheck, value);
    throw new DfdError('ERR_BAD_REQUEST', 'invalid event', err ? { path: err.path, problem: err.message } : undefined);
  }
}

/**
 * Parses and validates an event consumed from the bus (boundary). Unknown extra properties are
 * allowed (forward compatible within schemaVersion 1). Throws DfdError on bad JSON or schema.
 */
export function parseEvent(data: Uint8Array | string, maxBytes = 64 * 1024): DfdEvent {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (size > maxBytes) throw new DfdError('ERR_MESSAGE_TOO_LARGE', undefined, { size, maxBytes });
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (e) {
    throw new DfdError('ERR_BAD_JSON', undefined, undefined, { cause: e });
  }
  lenientCheck ??= TypeCompiler.Compile(LenientSchemas.Event);
  if (!lenientCheck.Check(value)) {
    const err = firstError(lenientCheck as unknown as TypeCheck<typeof StrictSchemas.Event>, value);
    throw new DfdError('ERR_BAD_REQUEST', 'invalid event', err ? { path: err.path, problem: err.message } : undefined);
  }
  return value as DfdEvent;
}

export function assertSubjectToken(value: string, field: string): void {
  if (!SUBJECT_TOKEN_RE.test(value)) throw new DfdError('ERR_BAD_REQUEST', 'id is not a valid subject token', { field });
}

export function assertSubjectPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) throw new DfdError('ERR_CONFIG', 'invalid subject prefix', { prefix });
}

/** `<prefix>.<room>.<peer>.<type>`; throws DfdError on ids that are not safe subject tokens. */
export function subjectFor(prefix: string, ev: { roomId: string; peerId: string; type: EventType }): string {
  assertSubjectPrefix(prefix);
  assertSubjectToken(ev.roomId, 'roomId');
  assertSubjectToken(ev.peerId, 'peerId');
  if (!EVENT_TYPES.includes(ev.type)) throw new DfdError('ERR_BAD_REQUEST', 'unknown event type', { type: String(ev.type) });
  return `${prefix}.${ev.roomId}.${ev.peerId}.${ev.type}`;
}

export interface SubjectFilter {
  roomId?: string;
  peerId?: string;
  type?: EventType;
}

/** A subscription subject with `*` for every part left out of the filter. */
export function subjectFilter(prefix: string, f: SubjectFilter = {}): string {
  assertSubjectPrefix(prefix);
  if (f.roomId !== undefined) assertSubjectToken(f.roomId, 'roomId');
  if (f.peerId !== undefined) assertSubjectToken(f.peerId, 'peerId');
  if (f.type !== undefined && !EVENT_TYPES.includes(f.type)) throw new DfdError('ERR_BAD_REQUEST', 'unknown event type', { type: String(f.type) });
  return `${prefix}.${f.roomId ?? '*'}.${f.peerId ?? '*'}.${f.type ?? '*'}`;
}

type Base = Pick<DfdEvent, 'roomId' | 'peerId' | 'displayName' | 'models'> & { seq?: number; callId?: string; tenant?: string; phone?: PhoneRef };

/** Fills `schemaVersion`, `id` and `ts` for a new event. The result still goes through validation on publish. */
export function makeEvent<T extends EventType>(type: T, base: Base, payload: EventOfType<T>['payload'], now: Date = new Date()): EventOfType<T> {
  return {
    schemaVersion: EVENT_SCHEMA_VERSION,
    type,
    id: randomUUID(),
    ts: now.toISOString(),
    ...base,
    payload,
  } as unknown as EventOfType<T>;
}
