/**
 * The header fields of one SIP message (RFC 3261 section 7.3): ordered, case-insensitive,
 * multi-valued. Compact forms (`v`, `f`, `t`, `i`, `m`, `l`, `c`, `k`, `s`, `e`, and the
 * extension ones `o`, `r`, `b`, `u`, `x`) are stored under their long names, well-known names
 * are stored in their usual spelling (`call-id` -> `Call-ID`), other names as written.
 *
 * `getAll` splits comma-separated lists (Via, Contact, Route, ...: the header fields whose grammar
 * is a list) outside quoted strings and <...>; other header fields (WWW-Authenticate, Date, ...)
 * come back one value per header line, unsplit. `get` is the first of `getAll`: for Via that is the
 * topmost Via even when several share one line.
 *
 * Refuses (ERR_SIP_MALFORMED): a name that is not an RFC 3261 token, a value with CR, LF or NUL
 * (header injection).
 */
import { DfdError } from '../../kernel/errors.js';

/** Compact forms (RFC 3261 section 7.3.3 and the IANA SIP header registry). */
const COMPACT: Readonly<Record<string, string>> = {
  v: 'Via',
  f: 'From',
  t: 'To',
  i: 'Call-ID',
  m: 'Contact',
  l: 'Content-Length',
  c: 'Content-Type',
  k: 'Supported',
  s: 'Subject',
  e: 'Content-Encoding',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  u: 'Allow-Events',
  x: 'Session-Expires',
};

const WELL_KNOWN = [
  'Accept', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events', 'Authentication-Info', 'Authorization',
  'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition', 'Content-Encoding', 'Content-ID', 'Content-Language', 'Content-Length',
  'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Event', 'Expires', 'From', 'In-Reply-To', 'Max-Forwards', 'Min-Expires', 'Min-SE',
  'MIME-Version', 'Organization', 'P-Asserted-Identity', 'Priority', 'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require',
  'RAck', 'Reason', 'Record-Route', 'Refer-To', 'Referred-By', 'Reply-To', 'Require', 'Retry-After', 'Route', 'RSeq', 'Server',
  'Session-Expires', 'Subject', 'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning',
  'WWW-Authenticate',
];
const CANONICAL = new Map(WELL_KNOWN.map((n) => [n.toLowerCase(), n]));

/** Header fields whose grammar is a comma-separated list (RFC 3261 section 7.3.1). */
const LIST_HEADERS = new Set(
  [
    'Accept', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events', 'Call-Info', 'Contact', 'Content-Encoding',
    'Content-Language', 'Error-Info', 'In-Reply-To', 'P-Asserted-Identity', 'Proxy-Require', 'Reason', 'Record-Route', 'Require',
    'Route', 'Supported', 'Unsupported', 'Via', 'Warning',
  ].map((n) => n.toLowerCase()),
);

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const BAD_VALUE_RE = /[\r\n\0]/;

/** The stored spelling of a header name: compact form expanded, well-known names canonical. */
export function canonicalHeaderName(name: string): string {
  if (!TOKEN_RE.test(name)) throw new DfdError('ERR_SIP_MALFORMED', 'header name is not a token');
  const lower = name.toLowerCase();
  const long = name.length === 1 ? COMPACT[lower] : undefined;
  return long ?? CANONICAL.get(lower) ?? name;
}

/** Whether `name` (any spelling) is a comma-separated list header. */
export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(canonicalHeaderName(name).toLowerCase());
}

/**
 * Splits a comma-separated header value at the commas outside quoted strings (with backslash
 * escapes) and <...>; trims each element and drops empty ones. An unterminated quote or <
 * throws ERR_SIP_MALFORMED.
 */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (angle) {
      if (ch === '>') angle = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') angle = true;
    else if (ch === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (quoted || angle) throw new DfdError('ERR_SIP_MALFORMED', 'unterminated quote or <> in a header list');
  out.push(value.slice(start).trim());
  return out.filter((v) => v !== '');
}

function checkValue(value: string): string {
  if (BAD_VALUE_RE.test(value)) throw new DfdError('ERR_SIP_MALFORMED', 'header value contains CR, LF or NUL');
  return value.trim();
}

export class SipHeaders implements Iterable<[string, string]> {
  readonly #entries: [string, string][] = [];

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [n, v] of entries) this.add(n, v);
  }

  /** Number of header lines. */
  get size(): number {
    return this.#entries.length;
  }

  has(name: string): boolean {
    const key = canonicalHeaderName(name).toLowerCase();
    return this.#entries.some(([n]) => n.toLowerCase() === key);
  }

  /** The first value (the first list element for list headers), or undefined. */
  get(name: string): string | undefined {
    return this.getAll(name)[0];
  }

  /** Every value in order: one per header line, list headers split at their commas. */
  getAll(name: string): string[] {
    const canonical = canonicalHeaderName(name);
    const key = canonical.toLowerCase();
    const lines = this.#entries.filter(([n]) => n.toLowerCase() === key).map(([, v]) => v);
    return LIST_HEADERS.has(key) ? lines.flatMap(splitHeaderList) : lines;
  }

  /** The raw header lines of `name` (never split). */
  getLines(name: string): string[] {
    const key = canonicalHeaderName(name).toLowerCase();
    return this.#entries.filter(([n]) => n.toLowerCase() === key).map(([, v]) => v);
  }

  /** Replaces every `name` line with one line holding `value`, where the first one was (else at the end). */
  set(name: string, value: string): this {
    const canonical = canonicalHeaderName(name);
    const v = checkValue(value);
    const key = canonical.toLowerCase();
    const at = this.#entries.findIndex(([n]) => n.toLowerCase() === key);
    if (at < 0) {
      this.#entries.push([canonical, v]);
      return this;
    }
    this.delete(name);
    this.#entries.splice(at, 0, [canonical, v]);
    return this;
  }

  /** Appends one header line. */
  add(name: string, value: string): this {
    this.#entries.push([canonicalHeaderName(name), checkValue(value)]);
    return this;
  }

  /** Removes every `name` line; returns how many were removed. */
  delete(name: string): number {
    const key = canonicalHeaderName(name).toLowerCase();
    let removed = 0;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#entries[i]![0].toLowerCase() === key) {
        this.#entries.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  /** Header lines in order as [name, value]. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const [n, v] of this.#entries) yield [n, v];
  }

  entries(): [string, string][] {
    return this.#entries.map(([n, v]) => [n, v]);
  }

  clone(): SipHeaders {
    return new SipHeaders(this.#entries);
  }
}
