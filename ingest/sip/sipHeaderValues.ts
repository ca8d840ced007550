/**
 * Values of the SIP header fields a user agent server reads (RFC 3261 section 25.1):
 *
 *   parseNameAddr  From, To, Contact, Route: `"Display" <uri>;params`, `Display <uri>`, `uri;params`
 *   parseVia       `SIP/2.0/UDP host[:port];branch=...;received=...;rport`
 *   parseCSeq      `4711 INVITE`
 *
 * Parameter names are lowercased (they are case-insensitive), values keep their case; a quoted
 * value is unquoted; a parameter without value reads as ''. Refuses (ERR_SIP_MALFORMED):
 * unterminated quotes or <>, a URI without a scheme or with white space, a parameter name that is
 * not a token, a repeated parameter, a Via that is not SIP/2.0, a host that is neither a host name
 * nor an IP literal, a port above 65535, a CSeq number of 2**31 or more.
 */
import net from 'node:net';
import { DfdError } from '../../kernel/errors.js';

export interface NameAddr {
  display?: string;
  uri: string;
  params: Record<string, string>;
}

export interface Via {
  /** Upper case: UDP, TCP, TLS, WS, ... */
  transport: string;
  /** Host name or IP address (an IPv6 address without its brackets). */
  host: string;
  port?: number;
  params: Record<string, string>;
}

export interface CSeq {
  seq: number;
  method: string;
}

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/;
const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const MAX_CSEQ = 2 ** 31 - 1;

const malformed = (why: string): DfdError => new DfdError('ERR_SIP_MALFORMED', why);

/** Sets an own property (a name such as `__proto__` stays data, never a prototype). */
function put(o: Record<string, string>, k: string, v: string): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Reads a quoted string starting at `s[at] === '"'`; returns the unescaped text and the index after the closing quote. */
function readQuoted(s: string, at: number): { text: string; end: number } {
  let text = '';
  for (let i = at + 1; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\') {
      const next = s[i + 1];
      if (next === undefined) break;
      text += next;
      i++;
    } else if (ch === '"') return { text, end: i + 1 };
    else text += ch;
  }
  throw malformed('unterminated quoted string');
}

/** `;a=1;b="x;y";c` (leading `;` optional) -> { a: '1', b: 'x;y', c: '' }. */
export function parseParams(s: string): Record<string, string> {
  const params: Record<string, string> = {};
  let i = 0;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  skipWs();
  if (s[i] === ';') i++;
  while (true) {
    skipWs();
    if (i >= s.length) break;
    let nameEnd = i;
    while (nameEnd < s.length && !'=; \t'.includes(s[nameEnd]!)) nameEnd++;
    const name = s.slice(i, nameEnd).toLowerCase();
    if (!TOKEN_RE.test(name)) throw malformed('parameter name is not a token');
    if (Object.hasOwn(params, name)) throw malformed('repeated parameter');
    i = nameEnd;
    skipWs();
    let value = '';
    if (s[i] === '=') {
      i++;
      skipWs();
      if (s[i] === '"') {
        const q = readQuoted(s, i);
        value = q.text;
        i = q.end;
      } else {
        let end = i;
        while (end < s.length && !'; \t'.includes(s[end]!)) end++;
        value = s.slice(i, end);
        if (value === '' || value.includes('"')) throw malformed('bad parameter value');
        i = end;
      }
      skipWs();
    }
    put(params, name, value);
    if (i >= s.length) break;
    if (s[i] !== ';') throw malformed('parameters must be separated by ";"');
    i++;
  }
  return params;
}

function checkUri(uri: string): string {
  if (!URI_RE.test(uri)) throw malformed('URI has no scheme or contains white space');
  return uri;
}

/** From / To / Contact / Route value -> display name, URI, header parameters (tag, expires, ...). */
export function parseNameAddr(value: string): NameAddr {
  const s = value.trim();
  if (s === '') throw malformed('empty name-addr');
  let display: string | undefined;
  let rest: string;
  let uri: string;
  let i = 0;
  if (s[0] === '"') {
    const q = readQuoted(s, 0);
    display = q.text;
    i = q.end;
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] !== '<') throw malformed('display name without <uri>');
  }
  const lt = s.indexOf('<', i);
  if (lt >= 0) {
    if (display === undefined) {
      const d = s.slice(0, lt).trim();
      if (d !== '') {
        if (!d.split(/[ \t]+/).every((w) => TOKEN_RE.test(w))) throw malformed('unquoted display name is not tokens');
        display = d;
      }
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) throw malformed('unterminated <uri>');
    uri = s.slice(lt + 1, gt).trim();
    rest = s.slice(gt + 1);
    if (rest.trim() !== '' && !rest.trimStart().startsWith(';')) throw malformed('text after <uri>');
  } else {
    // addr-spec without <>: the URI ends at the first ';' (RFC 3261 section 20.10).
    const semi = s.indexOf(';');
    uri = semi < 0 ? s : s.slice(0, semi).trim();
    rest = semi < 0 ? '' : s.slice(semi);
    if (/[,?]/.test(uri)) throw malformed('URI with "," or "?" must be in <>');
  }
  const out: NameAddr = { uri: checkUri(uri), params: parseParams(rest) };
  if (display !== undefined) out.display = display;
  return out;
}

function parsePort(p: string): number {
  if (!/^\d{1,5}$/.test(p)) throw malformed('port is not a number');
  const n = Number(p);
  if (n > 65535) throw malformed('port above 65535');
  return n;
}

/** Host[:port] -> host (IPv6 without brackets) and port. */
export function parseHostPort(s: string): { host: string; port?: number } {
  const t = s.trim();
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) throw malformed('unterminated IPv6 reference');
    const host = t.slice(1, close);
    if (!net.isIPv6(host)) throw malformed('bad IPv6 address');
    const after = t.slice(close + 1);
    if (after === '') return { host };
    if (!after.startsWith(':')) throw malformed('text after IPv6 reference');
    return { host, port: parsePort(after.slice(1)) };
  }
  const colon = t.indexOf(':');
  const host = colon < 0 ? t : t.slice(0, colon);
  if (!HOSTNAME_RE.test(host) || host.length > 253) throw malformed('bad host');
  return colon < 0 ? { host } : { host, port: parsePort(t.slice(colon + 1)) };
}

const VIA_RE = /^SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+([^;]+)(;.*)?$/i;

/** One Via value (one element of a Via list) -> transport, sent-by and parameters. */
export function parseVia(value: string): Via {
  const m = VIA_RE.exec(value.trim());
  if (!m) throw malformed('Via is not SIP/2.0/<transport> <host>');
  const { host, port } = parseHostPort(m[2]!);
  const params = parseParams(m[3] ?? '');
  if (params['rport'] !== undefined && params['rport'] !== '') parsePort(params['rport']);
  const via: Via = { transport: m[1]!.toUpperCase(), host, params };
  if (port !== undefined) via.port = port;
  return via;
}

/** `4711 INVITE` -> { seq: 4711, method: 'INVITE' }. */
export function parseCSeq(value: string): CSeq {
  const m = /^(\d{1,10})[ \t]+(\S+)$/.exec(value.trim());
  if (!m || !TOKEN_RE.test(m[2]!)) throw malformed('CSeq is not "<number> <method>"');
  const seq = Number(m[1]);
  if (seq > MAX_CSEQ) throw malformed('CSeq number is 2**31 or more');
  return { seq, method: m[2]! };
}
