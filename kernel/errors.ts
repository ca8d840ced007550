/**
 * Central registry of coded errors. Clients and tests match on `code`, never on text.
 * Every error that crosses a boundary (signalling, REST, NATS, model loading) is a DfdError.
 */
export interface ErrorSpec {
  readonly message: string;
  /** HTTP status when surfaced through REST. */
  readonly status: number;
  /** Whether the same call may succeed if retried later. */
  readonly retryable: boolean;
}

export const ErrorCodes = {
  // signalling / validation
  ERR_BAD_JSON: { message: 'message is not valid JSON', status: 400, retryable: false },
  ERR_BAD_REQUEST: { message: 'message does not match the schema', status: 400, retryable: false },
  ERR_UNKNOWN_METHOD: { message: 'unknown method', status: 400, retryable: false },
  ERR_MESSAGE_TOO_LARGE: { message: 'message exceeds the size limit', status: 413, retryable: false },
  ERR_NOT_JOINED: { message: 'peer has not joined a room', status: 409, retryable: false },
  ERR_ALREADY_JOINED: { message: 'peer has already joined', status: 409, retryable: false },
  ERR_SHUTTING_DOWN: { message: 'service is shutting down', status: 503, retryable: true },
  // auth
  ERR_TOKEN_INVALID: { message: 'token is malformed or its signature is wrong', status: 401, retryable: false },
  ERR_TOKEN_EXPIRED: { message: 'token has expired', status: 401, retryable: false },
  ERR_FORBIDDEN: { message: 'not allowed for this role', status: 403, retryable: false },
  // limits
  ERR_ROOM_FULL: { message: 'room has reached its peer limit', status: 429, retryable: true },
  ERR_TOO_MANY_TRANSPORTS: { message: 'peer has reached its transport limit', status: 429, retryable: false },
  ERR_TOO_MANY_PRODUCERS: { message: 'peer has reached its producer limit', status: 429, retryable: false },
  ERR_RATE_LIMITED: { message: 'too many requests', status: 429, retryable: true },
  ERR_LOCKED_OUT: { message: 'too many failed sign-ins: locked out for a while', status: 429, retryable: true },
  // lookups
  ERR_ROOM_NOT_FOUND: { message: 'room not found', status: 404, retryable: false },
  ERR_PEER_NOT_FOUND: { message: 'peer not found', status: 404, retryable: false },
  ERR_TRANSPORT_NOT_FOUND: { message: 'transport not found', status: 404, retryable: false },
  ERR_PRODUCER_NOT_FOUND: { message: 'producer not found', status: 404, retryable: false },
  ERR_CONSUMER_NOT_FOUND: { message: 'consumer not found', status: 404, retryable: false },
  ERR_CANNOT_CONSUME: { message: 'router cannot consume this producer with these capabilities', status: 400, retryable: false },
  // media / pipeline
  ERR_RTP_MALFORMED: { message: 'RTP packet is malformed', status: 400, retryable: false },
  ERR_RTP_PAYLOAD_TYPE: { message: 'unexpected RTP payload type', status: 400, retryable: false },
  ERR_DECODE_FAILED: { message: 'media decode failed', status: 422, retryable: false },
  ERR_QUEUE_FULL: { message: 'analysis queue is full', status: 503, retryable: true },
  ERR_WORKER_DIED: { message: 'media worker died', status: 503, retryable: true },
  ERR_FRAME_INVALID: { message: 'video frame has invalid dimensions or buffer size', status: 400, retryable: false },
  ERR_RANGE: { message: 'read outside the buffered range', status: 416, retryable: false },
  // models
  ERR_MODEL_MISSING: { message: 'model file is missing', status: 503, retryable: false },
  ERR_MODEL_HASH: { message: 'model file hash does not match its manifest', status: 503, retryable: false },
  ERR_MODEL_SHAPE: { message: 'model inputs or outputs do not match its manifest', status: 503, retryable: false },
  ERR_MODEL_MANIFEST: { message: 'model manifest is invalid', status: 503, retryable: false },
  ERR_MODEL_UNAVAILABLE: { message: 'detector is unavailable', status: 503, retryable: true },
  ERR_INFERENCE_FAILED: { message: 'inference failed', status: 500, retryable: true },
  // configuration
  ERR_CONFIG: { message: 'invalid configuration', status: 500, retryable: false },
  ERR_PRIORITY: { message: 'the scheduling priority could not be set', status: 500, retryable: false },
  // evaluation tool
  ERR_EVAL_TSV: { message: 'evaluation list (TSV) is invalid', status: 400, retryable: false },
  ERR_EVAL_UNJUDGEABLE: { message: 'no window of the clip can be judged (silent, clipped or non-finite audio)', status: 422, retryable: false },
  // challenge-response
  ERR_CHALLENGE_ACTIVE: { message: 'participant already has an active challenge', status: 409, retryable: true },
  ERR_CHALLENGE_STATE: { message: 'illegal challenge state transition', status: 409, retryable: false },
  ERR_CHALLENGE_LIMIT: { message: 'challenge limit or cooldown reached', status: 429, retryable: true },
  ERR_CHALLENGE_UNAVAILABLE: { message: 'no challenge fits this participant', status: 422, retryable: false },
  ERR_PROMPT_FAILED: { message: 'challenge prompt synthesis failed', status: 500, retryable: true },
  // evidence bundles (export and offline verification, evidence/)
  ERR_EVIDENCE_READ: { message: 'evidence bundle cannot be read', status: 400, retryable: false },
  ERR_EVIDENCE_ENCODING: { message: 'evidence bundle is not valid UTF-8', status: 422, retryable: false },
  ERR_EVIDENCE_JSON: { message: 'evidence bundle is not valid JSON', status: 422, retryable: false },
  ERR_EVIDENCE_FORM: { message: 'evidence bundle is not in its canonical layout (bytes were changed)', status: 422, retryable: false },
  ERR_EVIDENCE_FORMAT: { message: 'not an evidence bundle of a known format and version', status: 422, retryable: false },
  ERR_EVIDENCE_SIGNATURE: { message: 'evidence bundle seal does not verify', status: 422, retryable: false },
  ERR_EVIDENCE_KEY: { message: 'evidence bundle is sealed by another key than expected', status: 422, retryable: false },
  ERR_EVIDENCE_DIGEST: { message: 'an evidence bundle section does not match its sealed digest', status: 422, retryable: false },
  ERR_EVIDENCE_SCHEMA: { message: 'an event in the evidence bundle does not match the event schema', status: 422, retryable: false },
  ERR_EVIDENCE_CHAIN: { message: 'the audit hash chain of the evidence bundle is broken', status: 422, retryable: false },
  ERR_EVIDENCE_ANCHOR: { message: 'an audit anchor does not match the chain or its signature', status: 422, retryable: false },
  // phone ingest (ingest/): media-stream WebSockets such as Twilio Media Streams
  ERR_INGEST_AUTH: { message: 'ingest key is missing or wrong', status: 401, retryable: false },
  ERR_INGEST_FRAME: { message: 'ingest frame does not match the protocol', status: 400, retryable: false },
  ERR_INGEST_PAYLOAD: { message: 'media payload is not valid base64 or has a wrong size', status: 400, retryable: false },
  ERR_INGEST_SEQUENCE: { message: 'ingest frame is out of sequence', status: 400, retryable: false },
  ERR_INGEST_STATE: { message: 'ingest frame is not allowed in the state of the stream', status: 409, retryable: false },
  ERR_INGEST_FORMAT: { message: 'media format is not supported', status: 415, retryable: false },
  ERR_INGEST_TIMEOUT: { message: 'ingest stream did not start or went silent', status: 408, retryable: true },
  ERR_INGEST_CALL_EXISTS: { message: 'a stream for this call is already open', status: 409, retryable: false },
  ERR_INGEST_TOO_MANY_ERRORS: { message: 'too many invalid ingest frames', status: 400, retryable: false },
  ERR_INGEST_CAPACITY: { message: 'ingest stream limit reached', status: 503, retryable: true },
  // SIP user agent server (ingest/sip/): the SIP status each is answered with is in ingest/sip/sipStatus.ts
  ERR_SIP_MALFORMED: { message: 'SIP message or SDP is malformed', status: 400, retryable: false },
  ERR_SIP_UNSUPPORTED: { message: 'no usable media in the SDP offer (codec, transport or direction)', status: 415, retryable: false },
  ERR_SIP_AUTH: { message: 'SIP digest authentication is missing or wrong', status: 401, retryable: false },
  ERR_SIP_FORBIDDEN: { message: 'SIP source address is not allowed', status: 403, retryable: false },
  ERR_SIP_NO_DIALOG: { message: 'no such SIP call or transaction', status: 404, retryable: false },
  // remote analysis (cluster/): work messages between service nodes and analysis workers
  ERR_WORK_MESSAGE: { message: 'work message is malformed or of an unknown version', status: 400, retryable: false },
  ERR_WORKER_BUSY: { message: 'analysis worker has too much work pending', status: 503, retryable: true },
  ERR_WRONG_NODE: { message: 'the room is served by another service node (details.url)', status: 421, retryable: false },
  ERR_ROOM_REGISTRY: { message: 'the room registry (NATS) is unavailable', status: 503, retryable: true },
  ERR_ACTION_MESSAGE: { message: 'forwarded operator action is malformed or of an unknown version', status: 400, retryable: false },
  ERR_NODE_UNREACHABLE: { message: 'the service node serving the room did not answer (details.url)', status: 503, retryable: true },
  // declared synthetic voices (decision/DeclaredVoiceRegistry.ts)
  ERR_DECLARED_VOICES_FULL: { message: 'the declared voice registry is full', status: 409, retryable: false },
  ERR_REFERENCE_TOO_SHORT: { message: 'not enough speech in the reference audio', status: 422, retryable: false },
  // tenants and per-tenant calibration (decision/calibration/)
  ERR_TENANT_MISMATCH: { message: 'the room belongs to another tenant', status: 403, retryable: false },
  ERR_CALIBRATION_REJECTED: { message: 'the refit calibration failed a guardrail; the current one stays (details.reason)', status: 422, retryable: false },
  ERR_CALIBRATION_STORE: { message: 'the calibration store (NATS) is unavailable', status: 503, retryable: true },
  // generic
  ERR_NOT_FOUND: { message: 'not found', status: 404, retryable: false },
  ERR_METHOD_NOT_ALLOWED: { message: 'method not allowed', status: 405, retryable: false },
  ERR_INTERNAL: { message: 'internal error', status: 500, retryable: true },
  ERR_CLOSED: { message: 'object is closed', status: 410, retryable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorCodes;

export class DfdError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Structured, non-sensitive details (field names, limits). Never media or personal data. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, detail?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    const spec = ErrorCodes[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options);
    this.name = 'DfdError';
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.details ? { details: { ...this.details } } : {}),
    };
  }
}

export function isDfdError(e: unknown, code?: ErrorCode): e is DfdError {
  return e instanceof DfdError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a DfdError without leaking internals to clients. */
export function toDfdError(e: unknown): DfdError {
  if (e instanceof DfdError) return e;
  return new DfdError('ERR_INTERNAL', undefined, undefined, { cause: e });
}
