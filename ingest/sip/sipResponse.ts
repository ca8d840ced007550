/**
 * A response to a request, as a UAS builds it (RFC 3261 section 8.2.6): the Via header fields in
 * order, From, To, Call-ID and CSeq are copied; a To without a tag gets `toTag` (or a random tag)
 * on every response but 100; a 100 copies Timestamp (8.2.6.1); a 101..299 response copies
 * Record-Route (12.1.1, the responses that can set up a dialog).
 *
 * Refuses (ERR_SIP_MALFORMED): a status outside 100..699, a reason or a header value with CR/LF,
 * a to-tag that is not a token.
 */
import { randomBytes } from 'node:crypto';
import { DfdError } from '../../kernel/errors.js';
import { SipHeaders } from './SipHeaders.js';
import { parseNameAddr } from './sipHeaderValues.js';
import type { SipRequest, SipResponse } from './sipMessageCodec.js';

export interface BuildResponseOptions {
  /** Tag added to To when the request's To has none (RFC 3261 8.2.6.2); random when missing. Use the same one for every response of a dialog. */
  toTag?: string;
  /** Extra header lines, appended in order (Contact, Allow, WWW-Authenticate, ...). */
  headers?: [string, string][];
  body?: Buffer;
  /** Content-Type of `body`. */
  contentType?: string;
}

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** A random To tag (64 bits, hex). */
export function newTag(): string {
  return randomBytes(8).toString('hex');
}

export function buildResponse(req: SipRequest, status: number, reason: string, opts: BuildResponseOptions = {}): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) throw new DfdError('ERR_SIP_MALFORMED', 'status code outside 100..699');
  if (/[\r\n\0]/.test(reason)) throw new DfdError('ERR_SIP_MALFORMED', 'reason phrase contains CR, LF or NUL');
  const h = new SipHeaders();
  for (const via of req.headers.getLines('Via')) h.add('Via', via);
  if (status > 100 && status < 300) for (const rr of req.headers.getLines('Record-Route')) h.add('Record-Route', rr);
  const from = req.headers.get('From');
  if (from !== undefined) h.add('From', from);
  const to = req.headers.get('To');
  if (to !== undefined) {
    let value = to;
    if (status !== 100 && parseNameAddr(to).params['tag'] === undefined) {
      const tag = opts.toTag ?? newTag();
      if (!TOKEN_RE.test(tag)) throw new DfdError('ERR_SIP_MALFORMED', 'to-tag is not a token');
      value = `${to};tag=${tag}`;
    }
    h.add('To', value);
  }
  for (const name of ['Call-ID', 'CSeq']) {
    const v = req.headers.get(name);
    if (v !== undefined) h.add(name, v);
  }
  const ts = req.headers.get('Timestamp');
  if (status === 100 && ts !== undefined) h.add('Timestamp', ts);
  for (const [n, v] of opts.headers ?? []) h.add(n, v);
  if (opts.contentType !== undefined) h.set('Content-Type', opts.contentType);
  return { kind: 'response', status, reason, headers: h, body: opts.body ?? Buffer.alloc(0) };
}
