/**
 * The SIP user agent server (`DFD_SIP_PORT`, UDP and TCP): an SBC, PBX or phone calls the
 * service, the call's audio is screened like any participant's, and challenge prompts are
 * played back to the caller over RTP.
 *
 *   source allowlist (DFD_SIP_ALLOW) -> per-source rate limit -> digest authentication
 *   (user = ingest tenant, password = its key; or the allowlist alone, DFD_SIP_AUTH=allowlist)
 *   INVITE (application/sdp, or SIPREC multipart/mixed with rs-metadata)
 *     -> 100 Trying -> SDP offer: PCMU/PCMA chosen, else 488 -> SipCall (RTP endpoints, legs)
 *     -> 200 OK with the SDP answer, retransmitted (T1 doubling to T2) until the ACK
 *   re-INVITE / UPDATE -> new media address or direction (hold), session refreshed
 *   BYE -> 200, call ended;  CANCEL before the answer -> 200 and 487;  OPTIONS -> 200
 *   session timer (RFC 4028) or no RTP for `rtpTimeoutMs` -> the service sends BYE
 *
 * Every refused request gets its SIP status (400, 401, 403, 404/481, 405, 415/488, 422, 503)
 * and is counted by code; an unparsable datagram is counted and dropped (RFC 3261 18.3).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { DfdError, isDfdError, toDfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { createLogger } from '../../kernel/log.js';
import { counter, gauge } from '../../kernel/metrics.js';
import type { IngestKeys } from '../IngestKeys.js';
import type { PhoneSessionDeps } from '../PhoneSessionDeps.js';
import { CallClaims } from '../PhoneSessionDeps.js';
import { retryAfterSec } from '../../kernel/http/refuseUpgrade.js';
import { SipTransport, type SipPeer } from './SipTransport.js';
import { SipCall, sipRoomId, type SipStreamPlan } from './SipCall.js';
import { SipHeaders, buildResponse, parseCSeq, parseNameAddr, parseSipMessage, parseVia, serializeSipMessage, type SipRequest, type SipResponse } from './SipMessage.js';
import { SipDigestAuth } from './sipDigest.js';
import { buildSdpAnswer, chooseCodec, parseSdpOffer, type AudioOffer } from './sdpOffer.js';
import { parseRecordingMetadata, splitMultipart, streamRoles } from './siprec.js';

const log = createLogger('ingest.sip');
const requests = counter<'method' | 'status'>({ name: 'dfd_sip_requests_total', help: 'SIP requests answered, by method and final status', labelNames: ['method', 'status'] });
const dropped = counter<'reason'>({ name: 'dfd_sip_messages_dropped_total', help: 'SIP messages dropped without an answer (unparsable, not allowed, stray)', labelNames: ['reason'] });
const callsGauge = gauge({ name: 'dfd_sip_calls', help: 'SIP calls open now' });
const byeUnanswered = counter({ name: 'dfd_sip_bye_unanswered_total', help: 'BYEs the service sent that no answer came back for (after 64 x T1 of retransmissions)' });
const callsEnded = counter<'reason'>({ name: 'dfd_sip_calls_ended_total', help: 'SIP calls ended, by reason', labelNames: ['reason'] });

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE';
/** Option tags this server implements (RFC 3261 8.2.2.3: any other in Require gets 420). */
const SUPPORTED = new Set(['timer', 'siprec']);
/** Codecs taken, best for the detectors first: Opus and G.722 (wideband), then G.711 (narrowband). */
const CODECS = ['opus', 'G722', 'PCMU', 'PCMA'];

export interface SipServerOptions {
  host: string;
  port: number;
  /** Address put in Contact and in the SDP answer (the address callers reach this host at). */
  announcedIp: string;
  rtpMinPort: number;
  rtpMaxPort: number;
  /** 'digest': every INVITE authenticates; 'allowlist': sources on `allow` are trusted without it. */
  auth: 'digest' | 'allowlist';
  /** CIDRs allowed to send SIP at all; empty: any source. */
  allow: string[];
  realm: string;
  maxCalls: number;
  /** Session-Expires granted when a caller asks for a session timer (at least `minSessionExpiresSec`). */
  minSessionExpiresSec: number;
  /** No RTP from the far end this long (and not on hold): the call is ended with a BYE. */
  rtpTimeoutMs: number;
  t1Ms: number;
  t2Ms: number;
  jumpMs: number;
  maxTcpConnections: number;
  tcpIdleMs: number;
}

export const defaultSipServerOptions: SipServerOptions = {
  host: '0.0.0.0',
  port: 5060,
  announcedIp: '127.0.0.1',
  rtpMinPort: 30000,
  rtpMaxPort: 30999,
  auth: 'digest',
  allow: [],
  realm: 'dfd',
  maxCalls: 200,
  minSessionExpiresSec: 90,
  rtpTimeoutMs: 60_000,
  t1Ms: 500,
  t2Ms: 4000,
  jumpMs: 10,
  maxTcpConnections: 256,
  tcpIdleMs: 120_000,
};

export interface SipServerDeps extends Omit<PhoneSessionDeps, 'claim' | 'release'> {
  keys: IngestKeys;
  shuttingDown(): boolean;
  /** Checked for every new INVITE (a per-source rate limit); throws the DfdError it is refused with. */
  admit?(address: string): void;
  /** Secret for digest nonces; empty: random per process. */
  secret?: string;
}

export interface SipServerEvents {
  call: [call: SipCall];
}

interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** The far end's URI for requests we send (its Contact), and its From/To as sent. */
  remoteTarget: string;
  remoteFrom: string;
  localTo: string;
  peer: SipPeer;
  state: 'opening' | 'answered' | 'confirmed' | 'cancelled' | 'ended';
  inviteBranch: string;
  inviteCSeq: number;
  lastInviteResponse: Buffer | undefined;
  retransmit: NodeJS.Timeout | undefined;
  call: SipCall | undefined;
  sdpVersion: number;
  sessionId: string;
  sessionTimer: NodeJS.Timeout | undefined;
  sessionExpiresSec: number | undefined;
  rtpWatch: NodeJS.Timeout | undefined;
  lastRtpCount: number;
  hold: boolean;
  localCSeq: number;
  recording: boolean;
  tenant: string | undefined;
  /** For each m-line of the offer, the index of the call's stream it carries (undefined: rejected). */
  mlineStreams: (number | undefined)[];
}

/** SIP status of a refusal. */
function sipStatus(e: DfdError): [number, string] {
  switch (e.code) {
    case 'ERR_SIP_MALFORMED':
      return [400, 'Bad Request'];
    case 'ERR_SIP_AUTH':
      return [401, 'Unauthorized'];
    case 'ERR_SIP_FORBIDDEN':
    case 'ERR_INGEST_AUTH':
      return [403, 'Forbidden'];
    case 'ERR_SIP_NO_DIALOG':
      return [481, 'Call/Transaction Does Not Exist'];
    case 'ERR_SIP_UNSUPPORTED':
      return [488, 'Not Acceptable Here'];
    case 'ERR_INGEST_CALL_EXISTS':
      return [482, 'Loop Detected'];
    case 'ERR_RATE_LIMITED':
    case 'ERR_INGEST_CAPACITY':
    case 'ERR_SHUTTING_DOWN':
      return [503, 'Service Unavailable'];
    default:
      return [500, 'Server Internal Error'];
  }
}

export class SipServer extends TypedEmitter<SipServerEvents> {
  readonly options: SipServerOptions;
  readonly #deps: SipServerDeps;
  readonly #transport: SipTransport;
  readonly #digest: SipDigestAuth;
  readonly #allow: net.BlockList | undefined;
  readonly #dialogs = new Map<string, Dialog>();
  readonly #claims = new CallClaims();
  /** BYEs this server sent over UDP and still resends until answered, by Call-ID|CSeq. */
  readonly #pendingByes = new Map<string, NodeJS.Timeout>();
  /** Final answers to non-INVITE requests, by branch, for retransmissions (kept 32 s). */
  readonly #answered = new Map<string, { buf: Buffer; at: number }>();
  #closed = false;

  private constructor(options: SipServerOptions, deps: SipServerDeps, transport: SipTransport) {
    super();
    this.options = options;
    this.#deps = deps;
    this.#transport = transport;
    this.#digest = new SipDigestAuth({
      realm: options.realm,
      secret: deps.secret || randomBytes(32).toString('base64url'),
      nonceTtlSec: 300,
      users: (user: string) => deps.keys.keyOf(user),
    });
    if (options.allow.length > 0) {
      const list = new net.BlockList();
      for (const cidr of options.allow) {
        const [addr, bits] = cidr.split('/');
        const type = addr?.includes(':') ? 'ipv6' : 'ipv4';
        try {
          if (bits === undefined) list.addAddress(addr ?? '', type);
          else list.addSubnet(addr ?? '', Number(bits), type);
        } catch {
          throw new DfdError('ERR_CONFIG', 'DFD_SIP_ALLOW entries are addresses or CIDRs (10.0.0.0/8, ::1)', { entry: cidr });
        }
      }
      this.#allow = list;
    }
    transport.on('message', (buf, peer) => this.#onMessage(buf, peer));
  }

  static async listen(deps: SipServerDeps, options: Partial<SipServerOptions> = {}): Promise<SipServer> {
    const o: SipServerOptions = { ...defaultSipServerOptions, ...options };
    if (o.auth === 'allowlist' && o.allow.length === 0) throw new DfdError('ERR_CONFIG', 'DFD_SIP_AUTH=allowlist needs DFD_SIP_ALLOW (else any source would be trusted)');
    const transport = await SipTransport.listen({ host: o.host, port: o.port, maxTcpConnections: o.maxTcpConnections, tcpIdleMs: o.tcpIdleMs });
    try {
      return new SipServer(o, deps, transport);
    } catch (e) {
      await transport.close();
      throw e;
    }
  }

  get port(): number {
    return this.#transport.port;
  }

  /** Calls open now. */
  calls(): SipCall[] {
    return [...this.#dialogs.values()].flatMap((d) => (d.call && d.state !== 'ended' ? [d.call] : []));
  }

  /** Ends every call with a BYE and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#dialogs.values()) if (d.state === 'confirmed' || d.state === 'answered') this.#endCall(d, 'shutdown', true);
    for (const d of this.#dialogs.values()) this.#clearTimers(d);
    this.#dialogs.clear();
    for (const t of this.#pendingByes.values()) clearTimeout(t);
    this.#pendingByes.clear();
    await this.#transport.close();
    callsGauge.set(0);
    this.removeAllListeners();
  }

  // ---------- receive ----------

  #onMessage(buf: Buffer, peer: SipPeer): void {
    if (this.#closed) return;
    if (this.#allow && !this.#allow.check(peer.address, peer.address.includes(':') ? 'ipv6' : 'ipv4')) {
      // A source that may not talk to us gets a 403 when it asked something (not an ACK).
      dropped.inc({ reason: 'not-allowed' });
      this.#tryAnswer(buf, peer, new DfdError('ERR_SIP_FORBIDDEN'));
      return;
    }
    let msg;
    try {
      msg = parseSipMessage(buf);
    } catch (e) {
      dropped.inc({ reason: 'malformed' });
      // Answer 400 when the headers needed to answer are there (best effort); else drop.
      this.#tryAnswer(buf, peer, isDfdError(e) ? e : new DfdError('ERR_SIP_MALFORMED'));
      return;
    }
    if (msg.kind === 'response') {
      // The only requests this server sends are BYEs: an answer ends that BYE's retransmissions.
      const c = parseCSeq(msg.headers.get('CSeq') ?? '');
      if (c.method === 'BYE' && msg.status >= 200) this.#byeAnswered(`${msg.headers.get('Call-ID') ?? ''}|${c.seq}`);
      return;
    }
    try {
      this.#onRequest(msg, peer);
    } catch (e) {
      const err = toDfdError(e);
      if (err.code === 'ERR_INTERNAL') log.error('sip request failed', { method: msg.method, err: e });
      if (msg.method !== 'ACK') this.#refuse(msg, peer, err);
    }
  }

  #tryAnswer(buf: Buffer, peer: SipPeer, err: DfdError): void {
    // Only the headers a response copies are needed: parse leniently by lines.
    const text = buf.toString('latin1', 0, Math.min(buf.length, 8192));
    const first = text.split('\r\n', 1)[0] ?? '';
    if (!/^[A-Z]+ \S+ SIP\/2\.0$/.test(first) || first.startsWith('ACK ')) return;
    const headers = new SipHeaders();
    for (const line of text.split('\r\n').slice(1)) {
      if (line === '') break;
      const m = /^(Via|v|From|f|To|t|Call-ID|i|CSeq)\s*:\s*(.{1,1000})$/i.exec(line);
      if (m) headers.add(m[1]!, m[2]!.trim());
    }
    if (!headers.get('Via') || !headers.get('Call-ID') || !headers.get('CSeq') || !headers.get('From') || !headers.get('To')) return;
    const [status, reason] = sipStatus(err);
    const req: SipRequest = { kind: 'request', method: first.split(' ')[0]!, uri: first.split(' ')[1]!, headers, body: Buffer.alloc(0) };
    this.#send(peer, buildResponse(req, status, reason, { toTag: randomTag() }), req.method);
  }

  #onRequest(req: SipRequest, peer: SipPeer): void {
    const branch = parseVia(req.headers.get('Via') ?? '').params['branch'] ?? '';
    const callId = req.headers.get('Call-ID') ?? '';
    const cseq = parseCSeq(req.headers.get('CSeq') ?? '');
    if (req.method !== 'ACK' && !(req.method === 'INVITE' && this.#dialogs.get(callId)?.inviteBranch === branch)) {
      const prior = this.#answered.get(`${branch}|${req.method}`);
      if (prior) return this.#transport.send(peer, prior.buf);
    }
    const toTag = parseNameAddr(req.headers.get('To') ?? '').params['tag'];
    const dialog = this.#dialogs.get(callId);
    switch (req.method) {
      case 'INVITE':
        if (dialog && dialog.inviteBranch === branch) {
          // A retransmission: the last answer again.
          if (dialog.lastInviteResponse) this.#transport.send(peer, dialog.lastInviteResponse);
          return;
        }
        {
          // An extension the caller requires and this server does not implement (e.g. 100rel): 420.
          const unsupported = req.headers
            .getAll('Require')
            .map((t) => t.trim().toLowerCase())
            .filter((t) => t !== '' && !SUPPORTED.has(t));
          if (unsupported.length > 0) {
            this.#answer(req, peer, 420, 'Bad Extension', { toTag: randomTag(), headers: [['Unsupported', unsupported.join(', ')]] });
            return;
          }
        }
        if (toTag) return this.#reInvite(req, peer, dialog, cseq.seq);
        return this.#newInvite(req, peer, callId, branch, cseq.seq);
      case 'ACK':
        if (dialog && (dialog.state === 'answered' || dialog.state === 'confirmed') && cseq.seq === dialog.inviteCSeq) {
          dialog.state = 'confirmed';
          this.#stopRetransmit(dialog);
        }
        return; // ACKs of error answers and strays: absorbed
      case 'BYE': {
        if (!dialog || dialog.state === 'ended' || toTag !== dialog.localTag) throw new DfdError('ERR_SIP_NO_DIALOG');
        this.#answer(req, peer, 200, 'OK', { toTag: dialog.localTag });
        this.#endCall(dialog, 'bye', false);
        return;
      }
      case 'CANCEL': {
        if (!dialog || dialog.inviteBranch !== branch) throw new DfdError('ERR_SIP_NO_DIALOG');
        this.#answer(req, peer, 200, 'OK', { toTag: dialog.localTag });
        if (dialog.state === 'opening') {
          dialog.state = 'cancelled';
          this.#answerInvite(dialog, buildResponse(this.#inviteOf(req), 487, 'Request Terminated', { toTag: dialog.localTag }));
        }
        return;
      }
      case 'OPTIONS':
        this.#answer(req, peer, 200, 'OK', { headers: [['Allow', ALLOW], ['Accept', 'application/sdp, multipart/mixed, application/rs-metadata+xml'], ['Supported', [...SUPPORTED].join(', ')]] });
        return;
      case 'UPDATE': {
        if (!dialog || dialog.state === 'ended' || toTag !== dialog.localTag) throw new DfdError('ERR_SIP_NO_DIALOG');
        const se = this.#sessionExpires(req);
        // An UPDATE with an offer (RFC 3311) is answered like a re-INVITE's, in its 200.
        const answer = req.body.length > 0 && dialog.call ? this.#mediaAnswer(req, dialog, dialog.call) : undefined;
        this.#armSessionTimer(dialog, se);
        this.#answer(req, peer, 200, 'OK', {
          toTag: dialog.localTag,
          ...(answer ? { body: Buffer.from(answer), contentType: 'application/sdp' } : {}),
          headers: se ? [['Session-Expires', `${se};refresher=uac`], ['Require', 'timer']] : [],
        });
        return;
      }
      default:
        this.#answer(req, peer, 405, 'Method Not Allowed', { headers: [['Allow', ALLOW]] });
    }
  }

  /** The INVITE a CANCEL cancels, as far as a response needs it (same Via, From, To, Call-ID; CSeq method INVITE). */
  #inviteOf(cancel: SipRequest): SipRequest {
    const headers = new SipHeaders();
    for (const v of cancel.headers.getAll('Via')) headers.add('Via', v);
    for (const h of ['From', 'To', 'Call-ID']) headers.set(h, cancel.headers.get(h) ?? '');
    headers.set('CSeq', `${parseCSeq(cancel.headers.get('CSeq') ?? '').seq} INVITE`);
    return { kind: 'request', method: 'INVITE', uri: cancel.uri, headers, body: Buffer.alloc(0) };
  }

  #newInvite(req: SipRequest, peer: SipPeer, callId: string, branch: string, seq: number): void {
    if (this.#deps.shuttingDown()) throw new DfdError('ERR_SHUTTING_DOWN');
    this.#deps.admit?.(peer.address);
    // Authentication: digest unless this source is trusted by the allowlist alone.
    let tenant: string | undefined;
    if (this.options.auth === 'digest') {
      try {
        tenant = this.#digest.verify('INVITE', req.headers.get('Authorization') ?? undefined, { uri: req.uri }).username;
      } catch (e) {
        const stale = isDfdError(e) && e.details?.['stale'] === true;
        this.#answer(req, peer, 401, 'Unauthorized', { toTag: randomTag(), headers: [['WWW-Authenticate', this.#digest.challenge() + (stale ? ', stale=true' : '')]] });
        return;
      }
    }
    if (this.calls().length >= this.options.maxCalls) throw new DfdError('ERR_INGEST_CAPACITY', undefined, { limit: this.options.maxCalls });
    const { offers, recording, roles } = this.#readOffer(req);
    const streams: SipStreamPlan[] = [];
    const plans: (SipStreamPlan | undefined)[] = offers.map((offer, i) => {
      if (offer.port === 0) return undefined;
      const role = recording ? roles[i] : streams.length === 0 ? 'caller' : undefined;
      if (!role) return undefined;
      if (streams.some((s) => s.role === role)) return undefined;
      const plan: SipStreamPlan = { role, offer, codec: chooseCodec(offer, CODECS) };
      streams.push(plan);
      return plan;
    });
    if (streams.length === 0) throw new DfdError('ERR_SIP_UNSUPPORTED', 'no audio stream to receive');
    const se = this.#sessionExpires(req);
    const roomId = sipRoomId(callId);
    if (!this.#claims.claim(roomId)) throw new DfdError('ERR_INGEST_CALL_EXISTS');
    const from = req.headers.get('From') ?? '';
    const dialog: Dialog = {
      callId,
      localTag: randomTag(),
      remoteTag: parseNameAddr(from).params['tag'] ?? '',
      remoteTarget: parseNameAddr(req.headers.get('Contact') ?? from).uri,
      remoteFrom: from,
      localTo: req.headers.get('To') ?? '',
      peer,
      state: 'opening',
      inviteBranch: branch,
      inviteCSeq: seq,
      lastInviteResponse: undefined,
      retransmit: undefined,
      call: undefined,
      sdpVersion: 1,
      sessionId: String(Date.now()),
      sessionTimer: undefined,
      sessionExpiresSec: se,
      rtpWatch: undefined,
      lastRtpCount: 0,
      hold: false,
      localCSeq: 1,
      recording,
      tenant,
      mlineStreams: plans.map((p) => (p ? streams.indexOf(p) : undefined)),
    };
    this.#dialogs.set(callId, dialog);
    this.#answerInvite(dialog, buildResponse(req, 100, 'Trying'), false);
    SipCall.open(
      { ...this.#deps, claim: () => true, release: () => undefined },
      {
        callId,
        tenant,
        recording,
        streams,
        rtp: { host: this.options.host, announcedIp: this.options.announcedIp, minPort: this.options.rtpMinPort, maxPort: this.options.rtpMaxPort },
        jumpMs: this.options.jumpMs,
      },
    ).then(
      (call) => {
        if (dialog.state !== 'opening' || this.#closed) {
          call.close('cancelled');
          this.#forget(dialog);
          return;
        }
        dialog.call = call;
        callsGauge.set(this.calls().length);
        call.on('roomclosed', (reason) => this.#endCall(dialog, reason, true));
        const ports = call.localPorts;
        let k = 0;
        const answer = buildSdpAnswer(
          plans.map((p, i) => {
            const port = p ? ports[k++]! : 0;
            const offer = p?.offer ?? offers[i];
            return {
              ip: this.options.announcedIp,
              port,
              codec: p?.codec ?? { payloadType: 0, name: 'PCMU', clockRate: 8000 },
              ...(offer?.telephoneEventPt !== undefined && p ? { telephoneEventPt: offer.telephoneEventPt } : {}),
              direction: recording ? 'recvonly' : mirror(offer?.direction ?? 'sendrecv'),
              sessionId: dialog.sessionId,
              sessionVersion: dialog.sdpVersion,
              ...(offer?.label ? { label: offer.label } : {}),
              // A rejected m-line keeps its media type, protocol and formats (RFC 3264 6).
              ...(!p && offer ? { media: offer.media, protocol: offer.protocol, formats: offer.formats } : {}),
            };
          }),
        );
        dialog.state = 'answered';
        const ok = buildResponse(req, 200, 'OK', {
          toTag: dialog.localTag,
          body: Buffer.from(answer),
          contentType: 'application/sdp',
          headers: [
            ['Contact', this.#contact(peer)],
            ['Allow', ALLOW],
            ['Supported', 'timer'],
            ...(se ? ([['Session-Expires', `${se};refresher=uac`], ['Require', 'timer']] as [string, string][]) : []),
          ],
        });
        this.#answerInvite(dialog, ok, true);
        this.#armSessionTimer(dialog, se);
        this.#watchRtp(dialog);
        this.safeEmit('call', call);
        log.info('sip call answered', { roomId: call.roomId, streams: call.streams.map((s) => `${s.role}:${s.codec}`), recording, transport: peer.transport });
      },
      (e: unknown) => {
        const err = toDfdError(e);
        if (err.code === 'ERR_INTERNAL') log.error('sip call could not open', { err: e });
        this.#claims.release(roomId);
        if (dialog.state === 'opening') {
          const [status, reason] = sipStatus(err);
          this.#answerInvite(dialog, buildResponse(req, status, reason, { toTag: dialog.localTag }));
          requests.inc({ method: 'INVITE', status: String(status) });
        }
        this.#forget(dialog);
      },
    );
  }

  /**
   * A new offer inside the dialog (re-INVITE or UPDATE): where the far end's media goes, hold
   * (sendonly/inactive, or c=0.0.0.0: the RTP timeout pauses), and the answer, keeping each
   * stream's codec, telephone-event and label. An empty body gets the current session again.
   */
  #mediaAnswer(req: SipRequest, dialog: Dialog, call: SipCall): string {
    const { offers } = req.body.length > 0 ? this.#readOffer(req) : { offers: [] as AudioOffer[] };
    const plans = call.plans;
    // m-line i of any offer in the dialog is the same stream as in the first one (RFC 3264 8).
    const streamOf = (i: number): number | undefined => dialog.mlineStreams[i];
    const byStream: AudioOffer[] = [];
    offers.forEach((o, i) => {
      const k = streamOf(i);
      if (k !== undefined) byStream[k] = o;
    });
    call.update(byStream);
    const carried = offers.filter((_, i) => streamOf(i) !== undefined);
    if (carried.length > 0) dialog.hold = carried.every((o) => o.port === 0 || o.direction === 'sendonly' || o.direction === 'inactive' || o.connectionIp === '0.0.0.0');
    dialog.sdpVersion++;
    const ports = call.localPorts;
    const lines = offers.length > 0 ? offers : dialog.mlineStreams.map((k) => (k !== undefined ? plans[k]?.offer : undefined));
    return buildSdpAnswer(
      lines.map((o, i) => {
        const k = streamOf(i);
        const plan = k !== undefined ? plans[k] : undefined;
        return {
          ip: this.options.announcedIp,
          port: plan && k !== undefined ? ports[k]! : 0,
          codec: plan?.codec ?? { payloadType: 0, name: 'PCMU', clockRate: 8000 },
          ...(plan?.offer.telephoneEventPt !== undefined ? { telephoneEventPt: plan.offer.telephoneEventPt } : {}),
          direction: dialog.recording ? 'recvonly' : mirror(o?.direction ?? 'sendrecv'),
          sessionId: dialog.sessionId,
          sessionVersion: dialog.sdpVersion,
          ...(o?.label ? { label: o.label } : {}),
          ...(!plan && o ? { media: o.media, protocol: o.protocol, formats: o.formats } : {}),
        };
      }),
    );
  }

  #reInvite(req: SipRequest, peer: SipPeer, dialog: Dialog | undefined, seq: number): void {
    const toTag = parseNameAddr(req.headers.get('To') ?? '').params['tag'];
    if (!dialog || !dialog.call || dialog.state === 'ended' || toTag !== dialog.localTag) throw new DfdError('ERR_SIP_NO_DIALOG');
    const call = dialog.call;
    const answer = this.#mediaAnswer(req, dialog, call);
    const se = this.#sessionExpires(req);
    dialog.inviteBranch = parseVia(req.headers.get('Via') ?? '').params['branch'] ?? '';
    dialog.inviteCSeq = seq;
    dialog.peer = peer;
    dialog.state = 'answered';
    this.#answerInvite(
      dialog,
      buildResponse(req, 200, 'OK', {
        toTag: dialog.localTag,
        body: Buffer.from(answer),
        contentType: 'application/sdp',
        headers: [['Contact', this.#contact(peer)], ['Allow', ALLOW], ...(se ? ([['Session-Expires', `${se};refresher=uac`], ['Require', 'timer']] as [string, string][]) : [])],
      }),
      true,
    );
    this.#armSessionTimer(dialog, se);
    log.info('sip re-invite', { roomId: call.roomId, hold: dialog.hold });
  }

  /** The SDP offer(s) of an INVITE: plain application/sdp, or SIPREC multipart with recording metadata. */
  #readOffer(req: SipRequest): { offers: AudioOffer[]; recording: boolean; roles: ('caller' | 'agent' | undefined)[] } {
    const type = (req.headers.get('Content-Type') ?? '').toLowerCase();
    if (type.startsWith('application/sdp')) return { offers: parseSdpOffer(req.body.toString('utf8')), recording: false, roles: [] };
    if (type.startsWith('multipart/mixed')) {
      const parts = splitMultipart(req.headers.get('Content-Type') ?? '', req.body);
      const sdp = parts.find((p) => p.contentType.toLowerCase().startsWith('application/sdp'));
      const meta = parts.find((p) => p.contentType.toLowerCase().startsWith('application/rs-metadata+xml'));
      if (!sdp) throw new DfdError('ERR_SIP_UNSUPPORTED', 'multipart body without application/sdp');
      const offers = parseSdpOffer(sdp.body.toString('utf8'));
      if (!meta) return { offers, recording: false, roles: [] };
      const labels = offers.map((o) => o.label ?? '');
      const roleByLabel = streamRoles(parseRecordingMetadata(meta.body.toString('utf8')), labels);
      // Streams whose role the metadata does not give: the first unnamed one is the caller, the next the agent.
      const roles: ('caller' | 'agent' | undefined)[] = labels.map((l) => {
        const r = roleByLabel[l];
        return r === 'caller' || r === 'agent' ? r : undefined;
      });
      for (let i = 0; i < roles.length; i++) {
        if (roles[i] !== undefined) continue;
        if (!roles.includes('caller')) roles[i] = 'caller';
        else if (!roles.includes('agent')) roles[i] = 'agent';
      }
      return { offers, recording: true, roles };
    }
    if (req.body.length === 0) throw new DfdError('ERR_SIP_UNSUPPORTED', 'INVITE without an SDP offer (offerless INVITEs are not supported)');
    throw new DfdError('ERR_SIP_UNSUPPORTED', 'body is neither application/sdp nor multipart/mixed');
  }

  /** The session interval asked for (RFC 4028), or undefined; below Min-SE is refused with 422. */
  #sessionExpires(req: SipRequest): number | undefined {
    const v = req.headers.get('Session-Expires') ?? req.headers.get('x');
    if (!v) return undefined;
    const n = Number(/^\s*(\d{1,9})/.exec(v)?.[1]);
    if (!Number.isFinite(n)) throw new DfdError('ERR_SIP_MALFORMED', 'Session-Expires');
    if (n < this.options.minSessionExpiresSec) throw Object.assign(new DfdError('ERR_SIP_MALFORMED', 'session interval too small'), { sip422: true });
    return n;
  }

  // ---------- send ----------

  #contact(peer: SipPeer): string {
    return `<sip:dfd@${this.options.announcedIp.includes(':') ? `[${this.options.announcedIp}]` : this.options.announcedIp}:${this.port};transport=${peer.transport}>`;
  }

  #send(peer: SipPeer, res: SipResponse, method: string): Buffer {
    res.headers.set('Server', 'dfd-sip');
    const buf = serializeSipMessage(res);
    this.#transport.send(peer, buf);
    if (res.status >= 200) requests.inc({ method, status: String(res.status) });
    return buf;
  }

  #answer(req: SipRequest, peer: SipPeer, status: number, reason: string, opts: Parameters<typeof buildResponse>[3] = {}): void {
    const buf = this.#send(peer, buildResponse(req, status, reason, opts), req.method);
    const branch = parseVia(req.headers.get('Via') ?? '').params['branch'] ?? '';
    if (req.method !== 'INVITE' && branch) {
      this.#answered.set(`${branch}|${req.method}`, { buf, at: Date.now() });
      this.#pruneAnswered();
    }
    if (req.method === 'INVITE') {
      // Answers to INVITEs outside a dialog (401, errors) are kept for retransmissions too.
      this.#answered.set(`${branch}|INVITE`, { buf, at: Date.now() });
    }
  }

  #refuse(req: SipRequest, peer: SipPeer, err: DfdError): void {
    let [status, reason] = sipStatus(err);
    const headers: [string, string][] = [];
    if ((err as DfdError & { sip422?: boolean }).sip422) {
      [status, reason] = [422, 'Session Interval Too Small'];
      headers.push(['Min-SE', String(this.options.minSessionExpiresSec)]);
    }
    // When the refusal knows when to come back (the rate limiter's retryAfterSec), say that; else 5 s.
    if (status === 503) headers.push(['Retry-After', String(retryAfterSec(err) ?? 5)]);
    if (status === 488 || status === 415) headers.push(['Warning', `399 dfd "${err.message.replace(/["\\\r\n]/g, ' ').slice(0, 120)}"`]);
    this.#answer(req, peer, status, reason, { toTag: randomTag(), headers });
  }

  /** Sends an answer to the dialog's INVITE; a 2xx over UDP is retransmitted until the ACK (RFC 3261 13.3.1.4). */
  #answerInvite(d: Dialog, res: SipResponse, retransmit = false): void {
    const buf = this.#send(d.peer, res, 'INVITE');
    // The latest answer, provisional ones too: a retransmitted INVITE gets it again (RFC 3261 17.2.1).
    d.lastInviteResponse = buf;
    this.#stopRetransmit(d);
    if (!retransmit || d.peer.transport !== 'udp') return;
    let interval = this.options.t1Ms;
    const deadline = Date.now() + 64 * this.options.t1Ms;
    const tick = (): void => {
      if (d.state !== 'answered') return;
      if (Date.now() >= deadline) {
        log.warn('sip call never acknowledged: ending it', { roomId: d.call?.roomId });
        this.#endCall(d, 'no-ack', true);
        return;
      }
      this.#transport.send(d.peer, buf);
      interval = Math.min(interval * 2, this.options.t2Ms);
      d.retransmit = setTimeout(tick, interval);
    };
    d.retransmit = setTimeout(tick, interval);
  }

  #stopRetransmit(d: Dialog): void {
    if (d.retransmit) clearTimeout(d.retransmit);
    d.retransmit = undefined;
  }

  #armSessionTimer(d: Dialog, seconds: number | undefined): void {
    if (d.sessionTimer) clearTimeout(d.sessionTimer);
    d.sessionTimer = undefined;
    if (!seconds) return;
    // RFC 4028: without a refresh by then (the refresher is the caller), the session is over.
    d.sessionTimer = setTimeout(() => this.#endCall(d, 'session-expired', true), (seconds - Math.min(32, seconds / 3)) * 1000);
    d.sessionTimer.unref();
  }

  #watchRtp(d: Dialog): void {
    const every = this.options.rtpTimeoutMs;
    if (every <= 0) return;
    d.rtpWatch = setInterval(() => {
      const count = d.call?.streams.reduce((n, s) => n + s.received, 0) ?? 0;
      if (count === d.lastRtpCount && !d.hold) this.#endCall(d, 'rtp-timeout', true);
      d.lastRtpCount = count;
    }, every);
    d.rtpWatch.unref();
  }

  #clearTimers(d: Dialog): void {
    this.#stopRetransmit(d);
    if (d.sessionTimer) clearTimeout(d.sessionTimer);
    if (d.rtpWatch) clearInterval(d.rtpWatch);
    d.sessionTimer = undefined;
    d.rtpWatch = undefined;
  }

  /** Ends a call; with `sendBye` the service hangs up (BYE to the far end). */
  #endCall(d: Dialog, reason: string, sendBye: boolean): void {
    if (d.state === 'ended') return;
    const wasUp = d.state === 'answered' || d.state === 'confirmed';
    d.state = 'ended';
    this.#clearTimers(d);
    if (sendBye && wasUp) this.#sendBye(d);
    d.call?.close(reason);
    callsEnded.inc({ reason });
    this.#forget(d);
    callsGauge.set(this.calls().length);
  }

  #forget(d: Dialog): void {
    this.#clearTimers(d);
    this.#claims.release(sipRoomId(d.callId));
    // Kept a little for retransmitted BYEs and ACKs, then dropped.
    const t = setTimeout(() => {
      if (this.#dialogs.get(d.callId) === d) this.#dialogs.delete(d.callId);
    }, 32 * this.options.t1Ms);
    t.unref();
  }

  #sendBye(d: Dialog): void {
    const headers = new SipHeaders();
    const host = this.options.announcedIp.includes(':') ? `[${this.options.announcedIp}]` : this.options.announcedIp;
    headers.add('Via', `SIP/2.0/${d.peer.transport.toUpperCase()} ${host}:${this.port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`);
    headers.set('Max-Forwards', '70');
    // In the dialog the service is the callee: its From is the INVITE's To (with our tag), its To the caller's From.
    headers.set('From', d.localTo.includes(';tag=') ? d.localTo : `${d.localTo};tag=${d.localTag}`);
    headers.set('To', d.remoteFrom);
    headers.set('Call-ID', d.callId);
    const seq = ++d.localCSeq;
    headers.set('CSeq', `${seq} BYE`);
    headers.set('User-Agent', 'dfd-sip');
    const buf = serializeSipMessage({ kind: 'request', method: 'BYE', uri: d.remoteTarget, headers, body: Buffer.alloc(0) });
    this.#transport.send(d.peer, buf);
    if (d.peer.transport !== 'udp' || this.#closed) return;
    // A non-INVITE client transaction over UDP (RFC 3261 17.1.2): resent at T1 doubling to T2 until answered, for 64 x T1.
    const key = `${d.callId}|${seq}`;
    const peer = d.peer;
    let interval = this.options.t1Ms;
    const deadline = Date.now() + 64 * this.options.t1Ms;
    const tick = (): void => {
      if (!this.#pendingByes.has(key) || this.#closed) return;
      if (Date.now() >= deadline) {
        this.#pendingByes.delete(key);
        byeUnanswered.inc();
        return;
      }
      this.#transport.send(peer, buf);
      interval = Math.min(interval * 2, this.options.t2Ms);
      const t = setTimeout(tick, interval);
      t.unref();
      this.#pendingByes.set(key, t);
    };
    const t = setTimeout(tick, interval);
    t.unref();
    this.#pendingByes.set(key, t);
  }

  #byeAnswered(key: string): void {
    const t = this.#pendingByes.get(key);
    if (t) clearTimeout(t);
    this.#pendingByes.delete(key);
  }

  #pruneAnswered(): void {
    if (this.#answered.size < 1000) return;
    const old = Date.now() - 64 * this.options.t1Ms;
    for (const [k, v] of this.#answered) if (v.at < old) this.#answered.delete(k);
    while (this.#answered.size > 5000) {
      const first = this.#answered.keys().next().value;
      if (first === undefined) break;
      this.#answered.delete(first);
    }
  }
}

function randomTag(): string {
  return randomBytes(6).toString('hex');
}

function mirror(d: AudioOffer['direction']): AudioOffer['direction'] {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}
