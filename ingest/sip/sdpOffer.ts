/**
 * SDP offer/answer for audio over plain RTP (RFC 4566, RFC 3264), read and written with
 * sdp-transform.
 *
 * parseSdpOffer returns one AudioOffer per m-line, in the offer's order, so an answer built from
 * them keeps the m-line count (RFC 3264 section 6). An m-line this service cannot take (not
 * audio, or audio over another profile than RTP/AVP, such as RTP/SAVP) comes back disabled:
 * port 0, no codecs, with its `media`, `protocol` and `formats` so the answer can reject it in
 * kind. An m-line offered with port 0 is a disabled stream and comes back with port 0 too.
 * Payload types 0 PCMU, 8 PCMA, 9 G722 are known without rtpmap; other payload types without
 * rtpmap are left out; telephone-event is `telephoneEventPt`, not a codec. c= is read at media
 * level, else session level; direction likewise, default sendrecv; ptime and label at media level.
 *
 * Refuses:
 *   ERR_SIP_MALFORMED    not SDP (v=0 first, <type>=<value> lines only), over 64 KiB, an m= line
 *                        that does not read, an RTP/AVP payload type outside 0..127, an enabled
 *                        audio stream without c=, a c= that does not read
 *   ERR_SIP_UNSUPPORTED  no RTP/AVP audio m-line at all; an enabled audio stream whose c= is not
 *                        an IP address (host name, multicast with TTL); chooseCodec: no codec in
 *                        common
 *
 * buildSdpAnswer writes one m-line per entry; `direction` is written as given (the answer's own:
 * answerDirection(offer.direction) mirrors an offer's, RFC 3264 section 6.1); an entry with port
 * 0 is a rejected stream (m-line only).
 */
import net from 'node:net';
import { parse as parseSdp, write as writeSdp, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { DfdError } from '../../kernel/errors.js';

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpCodec {
  payloadType: number;
  name: string;
  clockRate: number;
  /** Channels from the rtpmap's encoding parameter (Opus: always "2" in SDP, RFC 7587). */
  channels?: number;
}

export interface AudioOffer {
  connectionIp: string;
  /** RTP port; 0: a disabled stream (offered so, or not one this service can take). */
  port: number;
  codecs: SdpCodec[];
  direction: SdpDirection;
  telephoneEventPt?: number;
  label?: string;
  ptime?: number;
  /** The m-line's media type ('audio'; others come back disabled). */
  media: string;
  /** The m-line's transport protocol ('RTP/AVP'; others come back disabled). */
  protocol: string;
  /** The m-line's format list as written. */
  formats: string[];
}

export interface SdpAnswerStream {
  /** Address for c= (IPv4 or IPv6). */
  ip: string;
  /** Local RTP port; 0 rejects the stream. */
  port: number;
  codec: SdpCodec;
  telephoneEventPt?: number;
  /** The answer's direction, written as given (see answerDirection). */
  direction: SdpDirection;
  /** o= session id (digits); the first entry's is used. */
  sessionId: string;
  /** o= session version; the first entry's is used. */
  sessionVersion: number;
  label?: string;
  ptime?: number;
  /** m-line media type of a rejected stream (default 'audio'). */
  media?: string;
  /** m-line protocol of a rejected stream (default 'RTP/AVP'). */
  protocol?: string;
  /** m-line formats of a rejected stream (default the codec's payload type). */
  formats?: string[];
}

const MAX_SDP_CHARS = 65536;
const STATIC: Readonly<Record<number, { name: string; clockRate: number }>> = {
  0: { name: 'PCMU', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 },
  // G.722's RTP clock is 8000 although it samples at 16 kHz (RFC 3551 section 4.5.2).
  9: { name: 'G722', clockRate: 8000 },
};
const M_LINE_RE = /^m=([A-Za-z0-9_-]+) (\d{1,5})(?:\/\d{1,5})? ([A-Za-z0-9/._-]+)((?: [^ ]+)+)$/;
const C_LINE_RE = /^IN IP[46] \S+$/;
const DIRECTIONS: readonly SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

const malformed = (why: string): DfdError => new DfdError('ERR_SIP_MALFORMED', why);
const unsupported = (why: string): DfdError => new DfdError('ERR_SIP_UNSUPPORTED', why);

/** Lines of `sdp`, checked to be `<letter>=<value>` with v=0 first; the m= lines separately. */
function checkLines(sdp: string): { mLines: RegExpExecArray[]; cLines: string[] } {
  if (sdp.length > MAX_SDP_CHARS) throw malformed('SDP over 64 KiB');
  const lines = sdp.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'v=0') throw malformed('SDP does not start with v=0');
  const mLines: RegExpExecArray[] = [];
  const cLines: string[] = [];
  for (const line of lines) {
    if (!/^[a-z]=/.test(line) || /[\r\0]/.test(line)) throw malformed('SDP line is not <type>=<value>');
    if (line.startsWith('m=')) {
      const m = M_LINE_RE.exec(line);
      if (!m) throw malformed('m= line does not read');
      mLines.push(m);
    } else if (line.startsWith('c=') && !C_LINE_RE.test(line.slice(2))) throw malformed('c= line does not read');
    else if (line.startsWith('c=')) cLines.push(line);
  }
  return { mLines, cLines };
}

function direction(m: MediaDescription, session: SessionDescription): SdpDirection {
  const d = m.direction ?? session.direction;
  return d !== undefined && DIRECTIONS.includes(d) ? d : 'sendrecv';
}

function connectionIp(m: MediaDescription, session: SessionDescription): string {
  const c = m.connection ?? session.connection;
  if (!c) throw malformed('audio stream without c=');
  const ip = String(c.ip);
  if (net.isIP(ip) === 0) throw unsupported('c= address is not a unicast IP address');
  return ip;
}

/** Every m-line of an SDP offer as an AudioOffer (see the header for the rules). */
export function parseSdpOffer(sdp: string): AudioOffer[] {
  if (typeof sdp !== 'string') throw malformed('SDP is not text');
  const { mLines } = checkLines(sdp);
  let session: SessionDescription;
  try {
    session = parseSdp(sdp);
  } catch {
    throw malformed('SDP does not read');
  }
  if (session.media.length !== mLines.length) throw malformed('m= lines do not read');
  const offers = session.media.map((m, i): AudioOffer => {
    const ml = mLines[i]!;
    const media = ml[1]!;
    const port = Number(ml[2]);
    const protocol = ml[3]!;
    const formats = ml[4]!.trim().split(' ');
    if (port > 65535) throw malformed('port above 65535');
    const base = { media, protocol, formats, direction: direction(m, session) };
    if (media !== 'audio' || protocol !== 'RTP/AVP') return { ...base, connectionIp: '0.0.0.0', port: 0, codecs: [] };
    const pts = formats.map((f) => {
      if (!/^\d{1,3}$/.test(f) || Number(f) > 127) throw malformed('RTP/AVP payload type outside 0..127');
      return Number(f);
    });
    const codecs: SdpCodec[] = [];
    let telephoneEventPt: number | undefined;
    let telephoneEventRate = 0;
    for (const pt of pts) {
      const map = m.rtp.find((r) => Number(r.payload) === pt);
      const name = map ? String(map.codec) : STATIC[pt]?.name;
      const clockRate = map?.rate !== undefined ? Number(map.rate) : STATIC[pt]?.clockRate;
      if (name === undefined || clockRate === undefined || !Number.isSafeInteger(clockRate) || clockRate <= 0) continue;
      if (name.toLowerCase() === 'telephone-event') {
        // Prefer the 8 kHz one: the clock of the narrow-band codecs this service takes.
        if (telephoneEventPt === undefined || (clockRate === 8000 && telephoneEventRate !== 8000)) {
          telephoneEventPt = pt;
          telephoneEventRate = clockRate;
        }
        continue;
      }
      const channels = map?.encoding !== undefined ? Number(map.encoding) : undefined;
      codecs.push({ payloadType: pt, name, clockRate, ...(channels !== undefined && Number.isInteger(channels) && channels > 0 && channels <= 8 ? { channels } : {}) });
    }
    const offer: AudioOffer = { ...base, connectionIp: port === 0 ? '0.0.0.0' : connectionIp(m, session), port, codecs };
    if (telephoneEventPt !== undefined) offer.telephoneEventPt = telephoneEventPt;
    if (m.label !== undefined && String(m.label) !== '') offer.label = String(m.label);
    const ptime = Number(m.ptime);
    if (m.ptime !== undefined && Number.isFinite(ptime) && ptime > 0) offer.ptime = ptime;
    return offer;
  });
  if (!offers.some((o) => o.media === 'audio' && o.protocol === 'RTP/AVP')) throw unsupported('no RTP/AVP audio stream in the offer');
  return offers;
}

/** The first of `supported` (names, preference order, case-insensitive) that the offer has. */
export function chooseCodec(offer: AudioOffer, supported: readonly string[]): SdpCodec {
  for (const want of supported) {
    const c = offer.codecs.find((x) => x.name.toLowerCase() === want.toLowerCase());
    if (c) return { ...c };
  }
  throw unsupported('no codec in common');
}

/** The answer's direction for an offer's (RFC 3264 section 6.1): sendonly <-> recvonly, others the same. */
export function answerDirection(offered: SdpDirection): SdpDirection {
  return offered === 'sendonly' ? 'recvonly' : offered === 'recvonly' ? 'sendonly' : offered;
}

function checkText(what: string, v: string, re: RegExp): string {
  if (!re.test(v)) throw malformed(`answer ${what} is not valid`);
  return v;
}

/** One SDP answer with one m-line per stream, in order. Throws ERR_SIP_MALFORMED for options that would not read back. */
export function buildSdpAnswer(opts: SdpAnswerStream[] | SdpAnswerStream): string {
  const streams = Array.isArray(opts) ? opts : [opts];
  const first = streams[0];
  if (!first) throw malformed('answer without streams');
  const ipVer = (ip: string): number => {
    const v = net.isIP(ip);
    if (v === 0) throw malformed('answer ip is not an IP address');
    return v;
  };
  checkText('session id', first.sessionId, /^\d{1,20}$/);
  if (!Number.isSafeInteger(first.sessionVersion) || first.sessionVersion < 0) throw malformed('answer session version is not valid');
  const session: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: first.sessionId, sessionVersion: first.sessionVersion, netType: 'IN', ipVer: ipVer(first.ip), address: first.ip },
    name: '-',
    timing: { start: 0, stop: 0 },
    connection: { version: ipVer(first.ip), ip: first.ip },
    media: streams.map((s): MediaDescription => {
      if (!Number.isInteger(s.port) || s.port < 0 || s.port > 65535) throw malformed('answer port is not valid');
      const pt = (n: number): number => {
        if (!Number.isInteger(n) || n < 0 || n > 127) throw malformed('answer payload type is not valid');
        return n;
      };
      if (s.port === 0) {
        const formats = s.formats && s.formats.length > 0 ? s.formats : [String(pt(s.codec.payloadType))];
        return {
          type: checkText('media', s.media ?? 'audio', /^[A-Za-z0-9_-]+$/),
          port: 0,
          protocol: checkText('protocol', s.protocol ?? 'RTP/AVP', /^[A-Za-z0-9/._-]+$/),
          payloads: formats.map((f) => checkText('format', f, /^[^\s]+$/)).join(' '),
          rtp: [],
          fmtp: [],
        };
      }
      const rtp: MediaDescription['rtp'] = [
        {
          payload: pt(s.codec.payloadType),
          codec: checkText('codec', s.codec.name, /^[A-Za-z0-9_.-]+$/),
          rate: s.codec.clockRate,
          ...(s.codec.channels !== undefined && Number.isInteger(s.codec.channels) && s.codec.channels > 0 && s.codec.channels <= 8 ? { encoding: s.codec.channels } : {}),
        },
      ];
      if (!Number.isSafeInteger(s.codec.clockRate) || s.codec.clockRate <= 0) throw malformed('answer clock rate is not valid');
      const fmtp: MediaDescription['fmtp'] = [];
      const payloads = [s.codec.payloadType];
      if (s.telephoneEventPt !== undefined) {
        payloads.push(pt(s.telephoneEventPt));
        rtp.push({ payload: s.telephoneEventPt, codec: 'telephone-event', rate: 8000 });
        fmtp.push({ payload: s.telephoneEventPt, config: '0-16' });
      }
      if (!DIRECTIONS.includes(s.direction)) throw malformed('answer direction is not valid');
      const m: MediaDescription = { type: 'audio', port: s.port, protocol: 'RTP/AVP', payloads: payloads.join(' '), rtp, fmtp, direction: s.direction };
      if (s.ip !== first.ip) m.connection = { version: ipVer(s.ip), ip: s.ip };
      if (s.ptime !== undefined) {
        if (!Number.isInteger(s.ptime) || s.ptime <= 0) throw malformed('answer ptime is not valid');
        m.ptime = s.ptime;
      }
      if (s.label !== undefined) m.label = checkText('label', s.label, /^[^\s]+$/);
      return m;
    }),
  };
  return writeSdp(session);
}
