/**
 * SIPREC (RFC 7866) bodies as a recording server receives them: the INVITE's multipart/mixed
 * body (RFC 2046) holds the SDP and the recording metadata (RFC 7865,
 * application/rs-metadata+xml), which says who sends which stream (by SDP a=label).
 *
 *   splitMultipart         multipart body -> parts { contentType (type/subtype, lower case, no
 *                          parameters; text/plain when the part has none), headers, body }
 *   parseRecordingMetadata metadata XML -> session id, participants (id, name, aor), streams
 *                          (id, label), which participant sends which streams
 *   streamRoles            SDP labels -> 'caller' | 'agent' | 'unknown' (rule below)
 *
 * Refuses with ERR_SIP_MALFORMED: a Content-Type that is not multipart/* with a valid boundary
 * (quoted or not, 1..70 characters), a body without its first delimiter or its close delimiter,
 * a part header that does not read, no part or more than 32; metadata over 64 KiB, with a DOCTYPE
 * or ENTITY declaration (no entity expansion, no external entities), not well-formed XML, a root
 * that is not <recording> in the namespace urn:ietf:params:xml:ns:recording:1, a participant
 * without participant_id, a stream without stream_id or label.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DfdError } from '../../kernel/errors.js';
import { SipHeaders } from './SipHeaders.js';
import { parseParams } from './sipHeaderValues.js';

export interface MultipartPart {
  /** type/subtype, lower case, without parameters. */
  contentType: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface RecordingParticipant {
  id: string;
  name?: string;
  aor?: string;
}

export interface RecordingMetadata {
  sessionId?: string;
  participants: RecordingParticipant[];
  streams: { id: string; label: string }[];
  participantStreams: { participantId: string; send: string[] }[];
}

export type StreamRole = 'caller' | 'agent' | 'unknown';

export const RECORDING_NS = 'urn:ietf:params:xml:ns:recording:1';
const MAX_PARTS = 32;
const MAX_XML_CHARS = 65536;
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

const malformed = (why: string): DfdError => new DfdError('ERR_SIP_MALFORMED', why);

/** `multipart/mixed;boundary=x` -> 'x'; throws unless multipart with a valid boundary. */
export function multipartBoundary(contentType: string): string {
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (!/^multipart\/[a-z0-9!#$&^_.+-]+$/.test(type)) throw malformed('Content-Type is not multipart/*');
  const boundary = parseParams(semi < 0 ? '' : contentType.slice(semi))['boundary'];
  if (boundary === undefined || !BOUNDARY_RE.test(boundary)) throw malformed('multipart boundary missing or invalid');
  return boundary;
}

function partHeaders(head: string): SipHeaders {
  const headers = new SipHeaders();
  if (head === '') return headers;
  const lines: string[] = [];
  for (const line of head.split('\r\n')) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (lines.length === 0) throw malformed('part header continuation before a header');
      lines[lines.length - 1] += ` ${line.trim()}`;
    } else lines.push(line);
  }
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('part header line without ":"');
    headers.add(line.slice(0, colon).trim(), line.slice(colon + 1));
  }
  return headers;
}

/** The parts of a multipart body (RFC 2046 section 5.1.1); preamble and epilogue are dropped. */
export function splitMultipart(contentType: string, body: Buffer): MultipartPart[] {
  const boundary = multipartBoundary(contentType);
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const nextDelim = Buffer.from(`\r\n--${boundary}`, 'latin1');
  /** Index of the next delimiter line at or after `from` and the index after its CRLF (or -1: close delimiter). */
  const findDelimiter = (from: number, first: boolean): { at: number; after: number } => {
    let search = from;
    while (true) {
      let at: number;
      let len: number;
      if (first && search === 0 && body.subarray(0, delim.length).equals(delim)) {
        at = 0;
        len = delim.length;
      } else {
        at = body.indexOf(nextDelim, search);
        if (at < 0) throw malformed(first ? 'no multipart delimiter' : 'no multipart close delimiter');
        len = nextDelim.length;
      }
      let i = at + len;
      if (body[i] === 0x2d && body[i + 1] === 0x2d) return { at, after: -1 };
      while (body[i] === 0x20 || body[i] === 0x09) i++; // transport padding
      if (body[i] === 0x0d && body[i + 1] === 0x0a) return { at, after: i + 2 };
      search = at + 1; // the boundary text followed by something else: content, search on
    }
  };
  const parts: MultipartPart[] = [];
  let d = findDelimiter(0, true);
  while (d.after >= 0) {
    if (parts.length >= MAX_PARTS) throw malformed('too many multipart parts');
    const next = findDelimiter(Math.max(0, d.after - 2), false);
    // An empty part (delimiter right after delimiter) has no CRLF of its own before the next one.
    const content = next.at >= d.after ? body.subarray(d.after, next.at) : Buffer.alloc(0);
    let head = '';
    let partBody: Buffer;
    if (content.subarray(0, 2).toString('latin1') === '\r\n') partBody = content.subarray(2);
    else {
      const end = content.indexOf('\r\n\r\n');
      if (end < 0) {
        // Headers only, no empty line: the part's headers run to its end.
        head = content.toString('utf8');
        partBody = Buffer.alloc(0);
      } else {
        head = content.subarray(0, end).toString('utf8');
        partBody = content.subarray(end + 4);
      }
    }
    const headers = partHeaders(head);
    const ct = headers.get('Content-Type');
    const contentTypeOfPart = ct === undefined ? 'text/plain' : (ct.split(';')[0] ?? '').trim().toLowerCase();
    if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(contentTypeOfPart)) throw malformed('part Content-Type is not type/subtype');
    parts.push({ contentType: contentTypeOfPart, headers, body: Buffer.from(partBody) });
    d = next;
  }
  if (parts.length === 0) throw malformed('multipart body without parts');
  return parts;
}

type XmlNode = Record<string, unknown> | string;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

const localName = (k: string): string => k.slice(k.indexOf(':') + 1);
const prefixOf = (k: string): string => (k.includes(':') ? k.slice(0, k.indexOf(':')) : '');

function attr(node: XmlNode, name: string): string | undefined {
  if (typeof node === 'string') return undefined;
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
}

function text(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  const t = node['#text'];
  return typeof t === 'string' ? t : typeof t === 'number' ? String(t) : undefined;
}

/** Children of `node` named `local` in the recording namespace (prefix `prefix`). */
function children(node: XmlNode, prefix: string, local: string): XmlNode[] {
  if (typeof node === 'string') return [];
  const v = node[prefix ? `${prefix}:${local}` : local];
  return Array.isArray(v) ? (v as XmlNode[]).filter((c) => typeof c === 'string' || (typeof c === 'object' && c !== null)) : [];
}

/** Reads RFC 7865 recording metadata (application/rs-metadata+xml). */
export function parseRecordingMetadata(xml: string): RecordingMetadata {
  if (typeof xml !== 'string' || xml.length > MAX_XML_CHARS) throw malformed('metadata over 64 KiB');
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) throw malformed('metadata with a DOCTYPE or ENTITY declaration');
  let doc: Record<string, unknown>;
  try {
    if (XMLValidator.validate(xml) !== true) throw malformed('metadata is not well-formed XML');
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof DfdError) throw e;
    throw malformed('metadata is not well-formed XML');
  }
  const rootKeys = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#') && !k.startsWith('@_'));
  const rootKey = rootKeys[0];
  if (rootKeys.length !== 1 || rootKey === undefined || localName(rootKey) !== 'recording') throw malformed('metadata root is not <recording>');
  const rootArr = doc[rootKey];
  const root = Array.isArray(rootArr) ? (rootArr[0] as XmlNode | undefined) : undefined;
  if (root === undefined) throw malformed('metadata root is not <recording>');
  const prefix = prefixOf(rootKey);
  const ns = attr(root, prefix ? `xmlns:${prefix}` : 'xmlns');
  if (ns !== RECORDING_NS) throw malformed('metadata root is not in the recording namespace');

  const meta: RecordingMetadata = { participants: [], streams: [], participantStreams: [] };
  const sessionId = children(root, prefix, 'session')
    .map((s) => attr(s, 'session_id'))
    .find((id) => id !== undefined && id !== '');
  if (sessionId !== undefined) meta.sessionId = sessionId;

  for (const p of children(root, prefix, 'participant')) {
    const id = attr(p, 'participant_id') ?? attr(p, 'id');
    if (!id) throw malformed('participant without participant_id');
    const part: RecordingParticipant = { id };
    const nameId = children(p, prefix, 'nameID')[0];
    const aor = (nameId && attr(nameId, 'aor')) ?? text(children(p, prefix, 'aor')[0]);
    const name = text(children(nameId ?? p, prefix, 'name')[0]) ?? (nameId ? text(children(p, prefix, 'name')[0]) : undefined);
    if (aor) part.aor = aor;
    if (name) part.name = name;
    meta.participants.push(part);
  }
  for (const s of children(root, prefix, 'stream')) {
    const id = attr(s, 'stream_id') ?? attr(s, 'id');
    const label = text(children(s, prefix, 'label')[0]);
    if (!id || !label) throw malformed('stream without stream_id or label');
    meta.streams.push({ id, label });
  }
  for (const a of children(root, prefix, 'participantstreamassoc')) {
    const participantId = attr(a, 'participant_id');
    if (!participantId) throw malformed('participantstreamassoc without participant_id');
    const send = children(a, prefix, 'send')
      .map((n) => text(n))
      .filter((v): v is string => v !== undefined && v !== '');
    meta.participantStreams.push({ participantId, send });
  }
  return meta;
}

const AGENT_RE = /\b(agent|operator|representative)\b/i;
const CALLER_RE = /\b(caller|customer|client)\b/i;

function hint(p: RecordingParticipant): StreamRole | undefined {
  const s = `${p.name ?? ''} ${p.aor ?? ''}`;
  const agent = AGENT_RE.test(s);
  const caller = CALLER_RE.test(s);
  return agent === caller ? undefined : agent ? 'agent' : 'caller';
}

/**
 * The role of each SDP label's stream. The rule:
 *  1. Senders are the participants that send at least one stream, in the metadata's order of
 *     <participant> elements.
 *  2. A name or AoR with the word agent / operator / representative marks an agent, with caller /
 *     customer / client a caller (both or neither: no mark).
 *  3. The caller is the first sender marked caller, else the first sender not marked agent. The
 *     agent is the first other sender marked agent, else the first other sender not marked caller.
 *     Every other participant is 'unknown'.
 *  4. A label's role is the role of the participants sending its stream(s) when they agree;
 *     'unknown' when they do not, when nobody sends it, or when the metadata has no such label.
 * The result has an entry for every label (a null-prototype object: any label is a safe key).
 */
export function streamRoles(meta: RecordingMetadata, labels: readonly string[]): Record<string, StreamRole> {
  const sendsOf = new Map<string, Set<string>>();
  for (const a of meta.participantStreams) {
    const set = sendsOf.get(a.participantId) ?? new Set<string>();
    for (const s of a.send) set.add(s);
    sendsOf.set(a.participantId, set);
  }
  const seen = new Set<string>();
  const senders = meta.participants.filter((p) => (sendsOf.get(p.id)?.size ?? 0) > 0 && !seen.has(p.id) && seen.add(p.id));
  const caller = senders.find((p) => hint(p) === 'caller') ?? senders.find((p) => hint(p) !== 'agent');
  const others = senders.filter((p) => p !== caller);
  const agent = others.find((p) => hint(p) === 'agent') ?? others.find((p) => hint(p) !== 'caller');
  const roleOf = (pid: string): StreamRole => (pid === caller?.id ? 'caller' : pid === agent?.id ? 'agent' : 'unknown');

  const out = Object.create(null) as Record<string, StreamRole>;
  for (const label of labels) {
    const streamIds = new Set(meta.streams.filter((s) => s.label === label).map((s) => s.id));
    const roles = new Set<StreamRole>();
    for (const [pid, sends] of sendsOf) if ([...streamIds].some((id) => sends.has(id))) roles.add(roleOf(pid));
    const [only] = roles;
    out[label] = roles.size === 1 && only !== undefined ? only : 'unknown';
  }
  return out;
}
