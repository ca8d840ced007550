/**
 * The work contract between service nodes and remote analysis workers (`DFD_ANALYSIS=remote`,
 * `npm run worker`, cluster/): one request per analysis window, one reply with its results.
 *
 *   request  = "DFW" 0x01 | u32 BE header length | header JSON (UTF-8) | body
 *              header: the window without its samples or crops (WorkRequestHeader below)
 *              body:   audio: PCM, header.samples values, little-endian: int16 (header.encoding
 *                      's16', what service nodes send: half the bytes) or float32 ('f32', the
 *                      default when the field is absent); face: RGB bytes
 *   reply    = JSON (UTF-8): { v: 1, results: [...] } or { v: 1, error: { code, message } }
 *
 * PCM and crops travel as raw bytes (2 s of 16 kHz audio: 64 KiB as int16), never as base64 JSON. Both
 * directions are versioned (`v`, and the request's 4th magic byte) and validated against the
 * TypeBox schemas below (exported to events/schemas/work-*.json): a message that does not parse
 * or validate is ERR_WORK_MESSAGE, never a crash. Limits bound what a message may carry.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DfdError } from '../kernel/errors.js';

export const WORK_VERSION = 1 as const;
const MAGIC = [0x44, 0x46, 0x57, WORK_VERSION] as const; // "DFW" + version
/** Largest request: 10 s of 48 kHz float audio, or 16 face crops of 256x256. */
export const MAX_WORK_BODY_BYTES = 4 * 1024 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_REPLY_BYTES = 256 * 1024;

const Token = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' });
const NonNeg = Type.Number({ minimum: 0 });
const Prob = Type.Number({ minimum: 0, maximum: 1 });
const Count = Type.Integer({ minimum: 0 });

const Stream = Type.Object({ roomId: Token, peerId: Token, producerId: Token, kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]) }, { additionalProperties: false });

const AudioHeader = Type.Object(
  {
    v: Type.Literal(WORK_VERSION),
    type: Type.Literal('audio-window'),
    stream: Stream,
    seq: Count,
    sampleRate: Type.Integer({ minimum: 4000, maximum: 96000 }),
    /** Number of PCM values in the body. */
    samples: Type.Integer({ minimum: 1, maximum: MAX_WORK_BODY_BYTES / 4 }),
    /** The body's sample format: 's16' (int16, full scale 32767) or 'f32' (float32, the default when absent). */
    encoding: Type.Optional(Type.Union([Type.Literal('s16'), Type.Literal('f32')])),
    rtpStart: Type.Number(),
    rtpEnd: Type.Number(),
    wallStart: Type.Number(),
    wallEnd: Type.Number(),
    speechSeconds: NonNeg,
    quality: Type.Object(
      {
        packetLoss: Prob,
        concealed: Prob,
        bitrate: NonNeg,
        bandwidth: Type.String({ maxLength: 8 }),
        channel: Type.Optional(Type.Union([Type.Literal('wideband'), Type.Literal('telephone'), Type.Literal('suppressed')])),
        /** A gateway leg's window: the worker weighs its score with the manifests' verdict.weightG722 / weightSipOpus. */
        codec: Type.Optional(Type.Union([Type.Literal('g722'), Type.Literal('sip-opus')])),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'dfd.work.v1.audio-request', title: 'work request header: an audio window' },
);

const FaceHeader = Type.Object(
  {
    v: Type.Literal(WORK_VERSION),
    type: Type.Literal('face-window'),
    stream: Stream,
    seq: Count,
    width: Type.Integer({ minimum: 1, maximum: 1024 }),
    height: Type.Integer({ minimum: 1, maximum: 1024 }),
    frames: Type.Integer({ minimum: 1, maximum: 64 }),
    wallStart: Type.Number(),
    wallEnd: Type.Number(),
    quality: Type.Object(
      {
        frameRate: NonNeg,
        faceSize: NonNeg,
        packetLoss: Prob,
        // the media worker's face gate (pipeline/video/faceGate.ts): the remote pool abstains on such a window
        issue: Type.Optional(Type.Union([Type.Literal('several-faces'), Type.Literal('face-at-edge'), Type.Literal('frozen'), Type.Literal('dark')])),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'dfd.work.v1.face-request', title: 'work request header: a face window' },
);

export const WorkRequestHeader = Type.Union([AudioHeader, FaceHeader], { $id: 'dfd.work.v1.request', title: 'work request header' });
export type WorkRequestHeader = Static<typeof WorkRequestHeader>;

const ModelTaskName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' });
const DetectorId = Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,128}$' });

const ScoreResult = Type.Object(
  {
    type: Type.Literal('score'),
    detector: DetectorId,
    task: ModelTaskName,
    weight: Prob,
    modelVersion: Type.String({ minLength: 1, maxLength: 64 }),
    pFake: Prob,
    evidence: NonNeg,
    queueMs: NonNeg,
    inferenceMs: NonNeg,
  },
  { additionalProperties: false },
);
const EmbeddingResult = Type.Object(
  {
    type: Type.Literal('embedding'),
    detector: DetectorId,
    modelVersion: Type.String({ minLength: 1, maxLength: 64 }),
    vector: Type.Array(Type.Number(), { minItems: 1, maxItems: 4096 }),
    channel: Type.Union([Type.Literal('wideband'), Type.Literal('telephone')]),
  },
  { additionalProperties: false },
);
const DroppedResult = Type.Object(
  {
    type: Type.Literal('dropped'),
    detector: DetectorId,
    task: Type.Optional(ModelTaskName),
    // optional on the wire: a worker from before it existed leaves it out (the coordinator then takes its own list's)
    modelVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    reason: Type.String({ pattern: '^[a-z][a-z-]{0,31}$' }),
  },
  { additionalProperties: false },
);
export const WorkResult = Type.Union([ScoreResult, EmbeddingResult, DroppedResult]);
export type WorkResult = Static<typeof WorkResult>;

export const WorkReply = Type.Union(
  [
    Type.Object({ v: Type.Literal(WORK_VERSION), results: Type.Array(WorkResult, { maxItems: 64 }) }, { additionalProperties: false }),
    Type.Object({ v: Type.Literal(WORK_VERSION), error: Type.Object({ code: Type.String({ pattern: '^ERR_[A-Z_]{1,40}$' }), message: Type.String({ maxLength: 500 }) }, { additionalProperties: false }) }, { additionalProperties: false }),
  ],
  { $id: 'dfd.work.v1.reply', title: 'work reply' },
);
export type WorkReply = Static<typeof WorkReply>;

const headerCheck = TypeCompiler.Compile(WorkRequestHeader);
const replyCheck = TypeCompiler.Compile(WorkReply);
const resultCheck = TypeCompiler.Compile(WorkResult);

const bad = (why: string): DfdError => new DfdError('ERR_WORK_MESSAGE', why);

/** Header + body in one buffer. The body's bytes are copied once. */
export function encodeWorkRequest(header: WorkRequestHeader, body: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + body.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, h.length, false);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

/** Validates and splits a request; the body is a copy aligned for Float32Array. ERR_WORK_MESSAGE when anything is off. */
export function decodeWorkRequest(data: Uint8Array): { header: WorkRequestHeader; body: Uint8Array } {
  if (data.length < 8 || data[0] !== MAGIC[0] || data[1] !== MAGIC[1] || data[2] !== MAGIC[2]) throw bad('not a work request');
  if (data[3] !== WORK_VERSION) throw bad(`unknown work version ${data[3]}`);
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4, false);
  if (len > MAX_HEADER_BYTES || 8 + len > data.length) throw bad('header length out of range');
  if (data.length - 8 - len > MAX_WORK_BODY_BYTES) throw bad('body too large');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(8, 8 + len)));
  } catch {
    throw bad('header is not UTF-8 JSON');
  }
  if (!headerCheck.Check(header)) {
    const e = headerCheck.Errors(header).First();
    throw bad(`header does not match the schema${e ? ` at ${e.path || '/'}: ${e.message}` : ''}`);
  }
  // A copy at offset 0 (Float32Array needs 4-byte alignment); not data.slice(): on a Node Buffer that is a view.
  const body = new Uint8Array(data.subarray(8 + len));
  const expected = header.type === 'audio-window' ? header.samples * (header.encoding === 's16' ? 2 : 4) : header.frames * header.width * header.height * 3;
  if (body.length !== expected) throw bad(`body is ${body.length} bytes, the header says ${expected}`);
  return { header, body };
}

/**
 * Float samples in [-1, 1] as little-endian int16 (rounded, clipped): the precision the audio had
 * when it was decoded from Opus or G.711.
 */
export function pcmToS16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round((samples[i] ?? 0) * 32767);
    view.setInt16(2 * i, v > 32767 ? 32767 : v < -32768 ? -32768 : Number.isNaN(v) ? 0 : v, true);
  }
  return out;
}

/** The body of an audio request as float samples: int16 scaled by 1/32767, or float32 as sent. */
export function pcmOf(encoding: 's16' | 'f32' | undefined, body: Uint8Array): Float32Array {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (encoding === 's16') {
    const out = new Float32Array(body.byteLength / 2);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32767;
    return out;
  }
  // decodeWorkRequest's body is a copy at offset 0: aligned for a float32 view, no second copy.
  return new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4);
}

export function encodeWorkReply(reply: WorkReply): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(reply));
}

export function decodeWorkReply(data: Uint8Array): WorkReply {
  if (data.length > MAX_REPLY_BYTES) throw bad('reply too large');
  let reply: unknown;
  try {
    reply = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw bad('reply is not UTF-8 JSON');
  }
  if (!replyCheck.Check(reply)) {
    // The union's own error says only "expected union value": name the first result that fails, and why.
    const results: unknown = (reply as { results?: unknown } | null)?.results;
    const list: unknown[] = Array.isArray(results) ? results : [];
    const i = list.findIndex((r) => !resultCheck.Check(r));
    const e = i >= 0 ? resultCheck.Errors(list[i]).First() : replyCheck.Errors(reply).First();
    const what = i >= 0 ? ` (result ${i}: ${JSON.stringify(list[i]).slice(0, 200)})` : ` (${JSON.stringify(reply).slice(0, 200)})`;
    throw bad(`reply does not match the schema${what}${e ? ` at ${e.path || '/'}: ${e.message}` : ''}`);
  }
  return reply;
}

/** JSON Schemas of the work contract, for events/schemas/. */
export function workJsonSchemas(): Record<string, unknown> {
  const plain = (s: unknown): unknown => JSON.parse(JSON.stringify(s));
  return { 'work-request.json': plain(WorkRequestHeader), 'work-reply.json': plain(WorkReply) };
}
