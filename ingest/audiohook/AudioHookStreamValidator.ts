/**
 * The rules of an AudioHook session that span messages, applied to each parsed message in
 * arrival order. Pure: no I/O, no clock; the session acts on what it returns.
 *
 *   state      the message type is one the session's state takes          ERR_INGEST_STATE (fatal)
 *   seq        exactly one more than the last client seq (starts at 1)     ERR_INGEST_SEQUENCE (fatal)
 *   serverseq  not beyond the last seq the server sent                      ERR_INGEST_SEQUENCE (fatal)
 *   id         the session id of the upgrade request's Audiohook-Session-Id ERR_INGEST_FRAME (fatal)
 *
 * The protocol has no way to skip a message, so every violation ends the session (the client
 * reconnects with a new session if it wants to).
 */
import { DfdError } from '../../kernel/errors.js';
import { AudioHookSessionState } from './AudioHookSessionState.js';
import type { ClientMessage } from './protocol.js';

export type AudioHookChecked = { ok: true; msg: ClientMessage } | { ok: false; error: DfdError };

export class AudioHookStreamValidator {
  readonly state = new AudioHookSessionState();
  readonly sessionId: string;
  #clientSeq = 0;

  constructor(sessionId: string) {
    this.sessionId = sessionId.toLowerCase();
  }

  /** The last client seq accepted (what server messages carry as `clientseq`). */
  get clientSeq(): number {
    return this.#clientSeq;
  }

  /** `serverSeq`: the seq of the last message the server sent. */
  check(msg: ClientMessage, serverSeq: number): AudioHookChecked {
    if (msg.id.toLowerCase() !== this.sessionId) return fail('ERR_INGEST_FRAME', 'message of another session', { type: msg.type });
    if (msg.seq !== this.#clientSeq + 1) return fail('ERR_INGEST_SEQUENCE', 'seq is not one more than the last', { last: this.#clientSeq, got: msg.seq });
    if (msg.serverseq > serverSeq) return fail('ERR_INGEST_SEQUENCE', 'serverseq is beyond what the server sent', { sent: serverSeq, got: msg.serverseq });
    if (!this.state.accepts(msg.type)) return fail('ERR_INGEST_STATE', `${msg.type} is not allowed in state ${this.state.name}`, { type: msg.type, state: this.state.name });
    this.#clientSeq = msg.seq;
    return { ok: true, msg };
  }
}

function fail(code: 'ERR_INGEST_STATE' | 'ERR_INGEST_FRAME' | 'ERR_INGEST_SEQUENCE', detail: string, details?: Record<string, unknown>): AudioHookChecked {
  return { ok: false, error: new DfdError(code, detail, details) };
}
