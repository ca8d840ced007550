/**
 * SIP over a stream transport (TCP, TLS; RFC 3261 section 18.3): bytes in any chunking ->
 * one `message` event per complete message (its raw bytes, for parseSipMessage). A message ends
 * Content-Length bytes after the empty line that ends its headers, so Content-Length is mandatory
 * here. CRLFs before a message (keep-alive pings, RFC 5626 section 3.5.1) are skipped; each
 * double CRLF is a `keepalive` event (a UAS may answer it with one CRLF).
 *
 * Only framing is checked here; the message itself is parseSipMessage's job. push() throws
 * DfdError('ERR_SIP_MALFORMED') once the stream cannot be framed any more: no Content-Length,
 * one that is not a number or repeated with another value, a header section or a message over
 * limits.maxMessageBytes, more than maxBufferedBytes waiting. Messages framed before the fault
 * are still emitted; the framer then stays broken (every later push throws the same error) and
 * the connection should be closed: a byte stream cannot be resynchronised.
 */
import { DfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { defaultSipLimits, skipLeadingCrlf, type SipLimits } from './sipMessageCodec.js';

export interface SipStreamFramerOptions {
  limits: Partial<SipLimits>;
  /** Most bytes held while waiting for the rest of a message. */
  maxBufferedBytes: number;
}

export const defaultSipStreamFramerOptions: SipStreamFramerOptions = {
  limits: {},
  maxBufferedBytes: 2 * defaultSipLimits.maxMessageBytes,
};

export interface SipStreamFramerEvents {
  /** One complete message: start line, headers, empty line, Content-Length bytes of body. */
  message: [raw: Buffer];
  /** A double CRLF between messages (RFC 5626 ping). */
  keepalive: [];
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH_RE = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/i;

/** The Content-Length of a header section (latin1 text, folded lines joined); throws when missing, repeated with another value, or not a number. */
function contentLength(head: string): number {
  const lines: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
  }
  let found: string | undefined;
  for (const line of lines) {
    const m = CONTENT_LENGTH_RE.exec(line);
    if (!m) continue;
    if (found !== undefined && found !== m[1]) throw new DfdError('ERR_SIP_MALFORMED', 'Content-Length repeated with another value');
    found = m[1];
  }
  if (found === undefined) throw new DfdError('ERR_SIP_MALFORMED', 'Content-Length is mandatory on a stream transport');
  if (!/^\d{1,10}$/.test(found)) throw new DfdError('ERR_SIP_MALFORMED', 'Content-Length is not a number');
  return Number(found);
}

export class SipStreamFramer extends TypedEmitter<SipStreamFramerEvents> {
  readonly #limits: SipLimits;
  readonly #maxBuffered: number;
  #buf: Buffer = Buffer.alloc(0);
  /** Where the search for the end of the headers goes on (bytes before it hold no CRLFCRLF). */
  #scanFrom = 0;
  /** Size of the message at the front once its headers are complete. */
  #total: number | undefined;
  /** A lone CRLF skipped before (the first half of a ping split across chunks). */
  #halfPing = false;
  #broken: DfdError | undefined;

  constructor(options: Partial<SipStreamFramerOptions> = {}) {
    super();
    const o = { ...defaultSipStreamFramerOptions, ...options };
    this.#limits = { ...defaultSipLimits, ...o.limits };
    this.#maxBuffered = o.maxBufferedBytes;
  }

  /** Bytes waiting for the rest of a message. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Whether the stream could not be framed (see the header); every push now throws. */
  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /** Takes the next bytes of the stream; emits and returns the messages they complete. */
  push(chunk: Buffer): Buffer[] {
    if (this.#broken) throw this.#broken;
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    try {
      for (let m = this.#next(); m !== undefined; m = this.#next()) {
        out.push(m);
        this.safeEmit('message', m);
      }
      if (this.#buf.length > this.#maxBuffered) throw new DfdError('ERR_SIP_MALFORMED', 'too many bytes buffered', { max: this.#maxBuffered });
    } catch (e) {
      this.#broken = e instanceof DfdError ? e : new DfdError('ERR_SIP_MALFORMED', 'framing failed', undefined, { cause: e });
      this.#buf = Buffer.alloc(0);
      throw this.#broken;
    }
    return out;
  }

  /** The next complete message at the front of the buffer, or undefined when more bytes are needed. */
  #next(): Buffer | undefined {
    if (this.#total === undefined) {
      const skip = skipLeadingCrlf(this.#buf);
      if (skip > 0) {
        let pairs = skip / 2 + (this.#halfPing ? 1 : 0);
        while (pairs >= 2) {
          this.safeEmit('keepalive');
          pairs -= 2;
        }
        this.#halfPing = pairs === 1;
        this.#buf = this.#buf.subarray(skip);
        this.#scanFrom = 0;
      }
    }
    if (this.#buf.length === 0) return undefined;
    let total = this.#total;
    if (total === undefined) {
      // A lone CR may be the start of a CRLF: wait for the next byte.
      if (this.#buf.length === 1 && this.#buf[0] === 0x0d) return undefined;
      this.#halfPing = false;
      const end = this.#buf.indexOf(CRLFCRLF, this.#scanFrom);
      if (end < 0) {
        if (this.#buf.length > this.#limits.maxMessageBytes) throw new DfdError('ERR_SIP_MALFORMED', 'header section over the message limit', { max: this.#limits.maxMessageBytes });
        this.#scanFrom = Math.max(0, this.#buf.length - 3);
        return undefined;
      }
      total = end + 4 + contentLength(this.#buf.toString('latin1', 0, end));
      if (total > this.#limits.maxMessageBytes) throw new DfdError('ERR_SIP_MALFORMED', 'message over the limit', { max: this.#limits.maxMessageBytes });
      this.#total = total;
    }
    if (this.#buf.length < total) return undefined;
    const raw = Buffer.from(this.#buf.subarray(0, total));
    this.#buf = this.#buf.subarray(total);
    this.#scanFrom = 0;
    this.#total = undefined;
    return raw;
  }
}
