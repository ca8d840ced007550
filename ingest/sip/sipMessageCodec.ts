/**
 * One SIP message (RFC 3261 section 7) as bytes <-> a typed request or response.
 *
 * parseSipMessage reads one datagram or one framed stream message: CRLFs before the start line
 * are skipped (section 7.5), header lines may be folded (a line starting with SP/HTAB continues
 * the previous one), the body is Content-Length bytes (without Content-Length, as on UDP, the rest
 * of the buffer; bytes past Content-Length are dropped, section 18.3). Lines end in CRLF only.
 *
 * Refuses with ERR_SIP_MALFORMED (never anything else): over the limits (message size, header
 * count, header line length), a header section that is not UTF-8 or holds control characters, a
 * start line that is not `METHOD uri SIP/2.0` or `SIP/2.0 NNN reason` (also another SIP version),
 * a header line without a colon or with a bad name, a repeated single-valued header (From, To,
 * Call-ID, CSeq, Max-Forwards, Content-Length, Content-Type), a Content-Length that is not a number
 * or runs past the buffer; for requests and responses a missing or unreadable Via, From, To,
 * Call-ID or CSeq, for requests a CSeq method other than the request's, a Max-Forwards outside
 * 0..255.
 *
 * serializeSipMessage writes the message back, Content-Length set from the body (in the place of
 * the old one, else last).
 */
import { DfdError } from '../../kernel/errors.js';
import { SipHeaders, canonicalHeaderName } from './SipHeaders.js';
import { parseCSeq, parseNameAddr, parseVia } from './sipHeaderValues.js';

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessageT = SipRequest | SipResponse;

export interface SipLimits {
  /** Largest message, bytes (UDP's largest datagram). */
  maxMessageBytes: number;
  /** Most header lines (after unfolding). */
  maxHeaders: number;
  /** Longest header line (after unfolding) or start line, bytes. */
  maxHeaderLineBytes: number;
}

export const defaultSipLimits: SipLimits = {
  maxMessageBytes: 65535,
  maxHeaders: 100,
  maxHeaderLineBytes: 8192,
};

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
const VERSION_RE = /^SIP\/2\.0$/i;
// Control characters other than HTAB are not allowed in header lines.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f]/;
const SINGLE = ['From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length', 'Content-Type'];
const utf8 = new TextDecoder('utf-8', { fatal: true });
const CRLFCRLF = Buffer.from('\r\n\r\n');

const malformed = (why: string, details?: Record<string, unknown>): DfdError => new DfdError('ERR_SIP_MALFORMED', why, details);

/** Whether `buf` is only CRLFs (a keep-alive ping, RFC 5626 section 3.5.1), nothing else. */
export function isKeepAlive(buf: Buffer): boolean {
  if (buf.length === 0 || buf.length % 2 !== 0) return false;
  for (let i = 0; i < buf.length; i += 2) if (buf[i] !== 0x0d || buf[i + 1] !== 0x0a) return false;
  return true;
}

/** Index after the CRLFs that may precede a start line. */
export function skipLeadingCrlf(buf: Buffer, from = 0): number {
  let i = from;
  while (i + 1 < buf.length && buf[i] === 0x0d && buf[i + 1] === 0x0a) i += 2;
  return i;
}

function startLine(line: string): { kind: 'request'; method: string; uri: string } | { kind: 'response'; status: number; reason: string } {
  if (line.startsWith('SIP/') || line.startsWith('sip/')) {
    const m = /^(\S+) (\d{3}) (.*)$/.exec(line) ?? /^(\S+) (\d{3})$/.exec(line);
    if (!m) throw malformed('status line is not "SIP/2.0 NNN reason"');
    if (!VERSION_RE.test(m[1]!)) throw malformed('not SIP/2.0');
    const status = Number(m[2]);
    if (status < 100 || status > 699) throw malformed('status code outside 100..699');
    return { kind: 'response', status, reason: m[3] ?? '' };
  }
  const parts = line.split(' ');
  if (parts.length !== 3) throw malformed('request line is not "METHOD uri SIP/2.0"');
  const [method, uri, version] = parts as [string, string, string];
  if (!TOKEN_RE.test(method)) throw malformed('method is not a token');
  if (!URI_RE.test(uri)) throw malformed('request URI has no scheme');
  if (!VERSION_RE.test(version)) throw malformed('not SIP/2.0');
  return { kind: 'request', method, uri };
}

/** Header section lines (after the start line) -> unfolded `name: value` lines. */
function unfold(lines: string[], limits: SipLimits): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (out.length === 0) throw malformed('continuation line before the first header');
      out[out.length - 1] = `${out[out.length - 1]!.trimEnd()} ${line.trim()}`;
    } else {
      out.push(line);
      if (out.length > limits.maxHeaders) throw malformed('too many headers', { max: limits.maxHeaders });
    }
    if (out[out.length - 1]!.length > limits.maxHeaderLineBytes) throw malformed('header line too long', { max: limits.maxHeaderLineBytes });
  }
  return out;
}

function readHeaders(lines: string[]): SipHeaders {
  const headers = new SipHeaders();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('header line without a name and ":"');
    const name = line.slice(0, colon).replace(/[ \t]+$/, '');
    // canonicalHeaderName refuses names that are not tokens.
    headers.add(name, line.slice(colon + 1));
  }
  return headers;
}

function checkMandatory(headers: SipHeaders, request: { method: string } | undefined): void {
  for (const name of SINGLE) if (headers.getLines(name).length > 1) throw malformed(`repeated ${name}`);
  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) if (!headers.get(name)) throw malformed(`missing ${name}`);
  for (const via of headers.getAll('Via')) parseVia(via);
  parseNameAddr(headers.get('From')!);
  parseNameAddr(headers.get('To')!);
  if (/\s/.test(headers.get('Call-ID')!)) throw malformed('Call-ID contains white space');
  const cseq = parseCSeq(headers.get('CSeq')!);
  if (request && cseq.method !== request.method) throw malformed('CSeq method differs from the request method');
  const mf = headers.get('Max-Forwards');
  if (request && mf !== undefined && (!/^\d{1,3}$/.test(mf) || Number(mf) > 255)) throw malformed('Max-Forwards is not 0..255');
}

/** Parses one SIP message; throws DfdError('ERR_SIP_MALFORMED') (never anything else). */
export function parseSipMessage(buf: Buffer, limits?: Partial<SipLimits>): SipMessageT {
  const lim: SipLimits = { ...defaultSipLimits, ...limits };
  if (buf.length > lim.maxMessageBytes) throw malformed('message too large', { max: lim.maxMessageBytes });
  const start = skipLeadingCrlf(buf);
  if (start >= buf.length) throw malformed('empty message');
  const end = buf.indexOf(CRLFCRLF, start);
  if (end < 0) throw malformed('no empty line after the headers');
  let head: string;
  try {
    head = utf8.decode(buf.subarray(start, end));
  } catch {
    throw malformed('header section is not UTF-8');
  }
  const lines = head.split('\r\n');
  for (const l of lines) if (CONTROL_RE.test(l)) throw malformed('control character in the header section');
  const first = lines[0]!;
  if (first.length > lim.maxHeaderLineBytes) throw malformed('start line too long', { max: lim.maxHeaderLineBytes });
  const sl = startLine(first);
  const headers = readHeaders(unfold(lines.slice(1), lim));
  checkMandatory(headers, sl.kind === 'request' ? sl : undefined);

  const bodyStart = end + 4;
  const cl = headers.get('Content-Length');
  let body: Buffer;
  if (cl === undefined) body = buf.subarray(bodyStart);
  else {
    if (!/^\d{1,10}$/.test(cl)) throw malformed('Content-Length is not a number');
    const n = Number(cl);
    if (n > buf.length - bodyStart) throw malformed('body shorter than Content-Length');
    body = buf.subarray(bodyStart, bodyStart + n);
  }
  body = Buffer.from(body); // own copy: the caller may reuse its buffer
  return sl.kind === 'request' ? { kind: 'request', method: sl.method, uri: sl.uri, headers, body } : { kind: 'response', status: sl.status, reason: sl.reason, headers, body };
}

/** Writes a message; Content-Length is the body's length. Throws ERR_SIP_MALFORMED for a start line that could not be parsed back. */
export function serializeSipMessage(m: SipMessageT): Buffer {
  let first: string;
  if (m.kind === 'request') {
    if (!TOKEN_RE.test(m.method)) throw malformed('method is not a token');
    if (!URI_RE.test(m.uri)) throw malformed('request URI has no scheme or contains white space');
    first = `${m.method} ${m.uri} SIP/2.0`;
  } else {
    if (!Number.isInteger(m.status) || m.status < 100 || m.status > 699) throw malformed('status code outside 100..699');
    if (CONTROL_RE.test(m.reason)) throw malformed('reason phrase contains control characters');
    first = `SIP/2.0 ${m.status} ${m.reason}`;
  }
  const lines = [first];
  let wroteLength = false;
  const lengthName = canonicalHeaderName('Content-Length');
  for (const [name, value] of m.headers) {
    if (name === lengthName) {
      if (!wroteLength) lines.push(`Content-Length: ${m.body.length}`);
      wroteLength = true;
    } else lines.push(`${name}: ${value}`);
  }
  if (!wroteLength) lines.push(`Content-Length: ${m.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), m.body]);
}
