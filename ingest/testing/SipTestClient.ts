/**
 * A raw SIP test client (RFC 3261) over UDP or TCP: it writes requests as text, field by field,
 * the way a phone or an SBC would (Via with a z9hG4bK branch and rport, From with a tag, To,
 * Call-ID, CSeq, Contact, Max-Forwards, Content-Type and Content-Length), answers digest
 * challenges itself (RFC 2617 MD5, qop=auth with nc and cnonce: computed here with node:crypto,
 * independent of the server's ingest/sip/sipDigest.ts), and keeps every message it receives.
 * Responses are read with the service's parser (parseSipMessage); on TCP the byte stream is
 * split by Content-Length here.
 *
 * Waiting: `waitResponse` resolves with the first received response (after a given index) whose
 * Call-ID, CSeq number and method match, optionally of a given status; it rejects at its deadline.
 * Nothing here sleeps for a fixed time.
 *
 * RtpSender: an own UDP socket that sends G.711 (PCMU 0 / PCMA 8) as RTP, 20 ms per packet,
 * paced by its own clock, to the port an SDP answer gave.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { parseSipMessage, type SipMessageT, type SipResponse } from '../sip/SipMessage.js';

export type SipTransportKind = 'udp' | 'tcp';

export interface SipTestClientOptions {
  transport: SipTransportKind;
  serverHost: string;
  serverPort: number;
  /** Digest user and password (the ingest tenant and its key). */
  user?: string;
  password?: string;
  /** Local address to bind (default 127.0.0.1). */
  localHost?: string;
}

export interface ReceivedSip {
  index: number;
  at: number;
  raw: Buffer;
  msg: SipMessageT;
}

/** One call's identifiers as the client keeps them (the dialog once the To tag is known). */
export interface SipCallState {
  callId: string;
  fromTag: string;
  /** The next CSeq number to use. */
  cseq: number;
  /** The server's tag (from a 2xx), once known. */
  toTag?: string;
  /** Where in-dialog requests go (the 2xx's Contact), once known. */
  remoteTarget?: string;
  /** The Request-URI of the INVITE. */
  uri: string;
}

export interface SipRequestSpec {
  method: string;
  uri: string;
  call: SipCallState;
  /** CSeq number (default: the call's next, which is then advanced). */
  cseq?: number;
  /** Via branch (default: a new z9hG4bK one). */
  branch?: string;
  /** The To tag (default: the call's toTag, when known). */
  toTag?: string | null;
  headers?: [string, string][];
  body?: Buffer | string;
  contentType?: string;
}

export interface BuiltRequest {
  raw: Buffer;
  branch: string;
  cseq: number;
  method: string;
  callId: string;
}

export interface WaitResponseOptions {
  callId: string;
  cseq: number;
  method: string;
  /** Only this status (a number), or statuses the predicate accepts. Default: any final (>= 200). */
  status?: number | ((status: number) => boolean);
  /** Only messages received after this index (see `mark()`). */
  after?: number;
  timeoutMs?: number;
}

export interface G711Stream {
  payloadType: number;
  name: string;
}

/** RFC 2617 digest response with qop=auth (MD5). */
export function digestResponse(p: { user: string; password: string; realm: string; method: string; uri: string; nonce: string; nc: string; cnonce: string; qop: string }): string {
  const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
  const ha1 = md5(`${p.user}:${p.realm}:${p.password}`);
  const ha2 = md5(`${p.method}:${p.uri}`);
  return md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
}

/** `Digest realm="x", nonce="y", qop="auth"` -> { scheme: 'Digest', realm: 'x', ... } (names lower case). */
export function parseChallenge(value: string): Record<string, string> {
  const m = /^\s*(\S+)\s+(.*)$/.exec(value);
  if (!m) throw new Error(`not a challenge: ${value}`);
  const out: Record<string, string> = { scheme: m[1]! };
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) out[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return out;
}

/** An SDP offer for audio streams over RTP/AVP. */
export function sdpOffer(opts: {
  ip: string;
  sessionVersion?: number;
  streams: { port: number; codecs: { pt: number; name: string; rate: number }[]; telephoneEventPt?: number; direction?: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'; label?: string }[];
}): string {
  const v = opts.sessionVersion ?? 1;
  const lines = ['v=0', `o=- 4711 ${v} IN IP4 ${opts.ip}`, 's=-', `c=IN IP4 ${opts.ip}`, 't=0 0'];
  for (const s of opts.streams) {
    const pts = [...s.codecs.map((c) => c.pt), ...(s.telephoneEventPt !== undefined ? [s.telephoneEventPt] : [])];
    lines.push(`m=audio ${s.port} RTP/AVP ${pts.join(' ')}`);
    for (const c of s.codecs) lines.push(`a=rtpmap:${c.pt} ${c.name}/${c.rate}`);
    if (s.telephoneEventPt !== undefined) lines.push(`a=rtpmap:${s.telephoneEventPt} telephone-event/8000`, `a=fmtp:${s.telephoneEventPt} 0-16`);
    lines.push('a=ptime:20');
    if (s.label !== undefined) lines.push(`a=label:${s.label}`);
    lines.push(`a=${s.direction ?? 'sendrecv'}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

function newBranch(): string {
  return `z9hG4bK${randomBytes(8).toString('hex')}`;
}

export function newTag(): string {
  return randomBytes(6).toString('hex');
}

/** A UDP socket bound to a free port on `host`. */
async function bindUdp(host: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

export class SipTestClient {
  readonly options: SipTestClientOptions;
  readonly received: ReceivedSip[] = [];
  /** Datagrams or stream messages that did not parse (kept raw). */
  readonly unparsed: Buffer[] = [];
  readonly #udp: dgram.Socket | undefined;
  readonly #tcp: net.Socket | undefined;
  readonly #localHost: string;
  readonly #localPort: number;
  #tcpBuf = Buffer.alloc(0);
  #waiters = new Set<() => void>();
  #nc = 0;
  #closed = false;

  private constructor(options: SipTestClientOptions, udp: dgram.Socket | undefined, tcp: net.Socket | undefined, localHost: string, localPort: number) {
    this.options = options;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#localHost = localHost;
    this.#localPort = localPort;
    udp?.on('message', (buf) => this.#onMessage(buf));
    tcp?.on('data', (chunk: Buffer) => this.#onTcpData(chunk));
    tcp?.on('error', () => undefined);
  }

  static async open(options: SipTestClientOptions): Promise<SipTestClient> {
    const host = options.localHost ?? '127.0.0.1';
    if (options.transport === 'udp') {
      const udp = await bindUdp(host);
      return new SipTestClient(options, udp, undefined, host, udp.address().port);
    }
    const tcp = net.connect({ host: options.serverHost, port: options.serverPort, localAddress: host });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.once('connect', () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    return new SipTestClient(options, undefined, tcp, host, tcp.localPort ?? 0);
  }

  get localPort(): number {
    return this.#localPort;
  }

  /** The index the next received message will have (for `after`). */
  mark(): number {
    return this.received.length;
  }

  /** A new call (Call-ID, From tag, CSeq 1) to `uri` (default sip:screen@server). */
  newCall(uri = `sip:screen@${this.options.serverHost}:${this.options.serverPort}`): SipCallState {
    return { callId: `${randomBytes(10).toString('hex')}@dfd-test`, fromTag: newTag(), cseq: 1, uri };
  }

  /** Builds a request as text; advances the call's CSeq unless `spec.cseq` is given. */
  build(spec: SipRequestSpec): BuiltRequest {
    const { call } = spec;
    const cseq = spec.cseq ?? call.cseq++;
    const branch = spec.branch ?? newBranch();
    const transport = this.options.transport.toUpperCase();
    const toTag = spec.toTag === null ? undefined : (spec.toTag ?? call.toTag);
    const user = this.options.user ?? 'caller';
    const body = spec.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
    const lines = [
      `${spec.method} ${spec.uri} SIP/2.0`,
      `Via: SIP/2.0/${transport} ${this.#localHost}:${this.#localPort};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: "Test Caller" <sip:${user}@${this.#localHost}>;tag=${call.fromTag}`,
      `To: <${call.uri}>${toTag ? `;tag=${toTag}` : ''}`,
      `Call-ID: ${call.callId}`,
      `CSeq: ${cseq} ${spec.method}`,
      // Contact where RFC 3261 puts one (INVITE, OPTIONS) and RFC 3311 (UPDATE); not on ACK, BYE, CANCEL.
      ...(['INVITE', 'OPTIONS', 'UPDATE'].includes(spec.method) ? [`Contact: <sip:${user}@${this.#localHost}:${this.#localPort};transport=${this.options.transport}>`] : []),
      'User-Agent: dfd-sip-test-client',
      ...(spec.headers ?? []).map(([n, v]) => `${n}: ${v}`),
      ...(spec.contentType !== undefined ? [`Content-Type: ${spec.contentType}`] : []),
      `Content-Length: ${body.length}`,
    ];
    const raw = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), body]);
    return { raw, branch, cseq, method: spec.method, callId: call.callId };
  }

  /** Sends raw bytes to the server (a datagram, or bytes on the connection). */
  sendRaw(raw: Buffer | string): void {
    if (this.#closed) throw new Error('SIP test client closed');
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
    if (this.#udp) this.#udp.send(buf, this.options.serverPort, this.options.serverHost);
    else this.#tcp!.write(buf);
  }

  /** Builds and sends a request. */
  send(spec: SipRequestSpec): BuiltRequest {
    const req = this.build(spec);
    this.sendRaw(req.raw);
    return req;
  }

  /** The first received message (after `after`) that `pred` accepts; rejects after `timeoutMs`. */
  waitFor(what: string, pred: (r: ReceivedSip) => boolean, opts: { after?: number; timeoutMs?: number } = {}): Promise<ReceivedSip> {
    return this.#wait(what, () => this.received, pred, opts, () =>
      this.received.slice(opts.after ?? 0).map((r) => (r.msg.kind === 'response' ? `${r.msg.status} ${r.msg.headers.get('CSeq') ?? ''}` : `${r.msg.method} request`)),
    );
  }

  /**
   * The first received message that did not parse (after index `after` of `unparsed`) that `pred`
   * accepts: an answer that echoes a header the parser refuses (a broken CSeq) arrives here.
   */
  waitUnparsed(what: string, pred: (raw: Buffer) => boolean, opts: { after?: number; timeoutMs?: number } = {}): Promise<Buffer> {
    return this.#wait(what, () => this.unparsed, pred, opts, () => this.unparsed.slice(opts.after ?? 0).map((b) => b.toString('latin1').split('\r\n', 1)[0] ?? ''));
  }

  #wait<T>(what: string, list: () => T[], pred: (r: T) => boolean, opts: { after?: number; timeoutMs?: number }, seen: () => string[]): Promise<T> {
    const after = opts.after ?? 0;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const items = list();
        for (let i = after; i < items.length; i++) {
          const r = items[i]!;
          if (pred(r)) {
            done();
            resolve(r);
            return true;
          }
        }
        return false;
      };
      const waiter = (): void => void check();
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${seen().join(', ') || 'nothing'}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      if (check()) return;
      this.#waiters.add(waiter);
    });
  }

  /** The first response matching Call-ID, CSeq number and method (and status, default any final). */
  async waitResponse(o: WaitResponseOptions): Promise<SipResponse & { raw: Buffer; index: number }> {
    const statusOk = (s: number): boolean => (o.status === undefined ? s >= 200 : typeof o.status === 'number' ? s === o.status : o.status(s));
    const r = await this.waitFor(
      `a response to ${o.method} (CSeq ${o.cseq}, Call-ID ${o.callId})${typeof o.status === 'number' ? ` with status ${o.status}` : ''}`,
      (r) => {
        if (r.msg.kind !== 'response') return false;
        const h = r.msg.headers;
        const cseq = /^\s*(\d+)\s+(\S+)\s*$/.exec(h.get('CSeq') ?? '');
        return h.get('Call-ID') === o.callId && cseq !== null && Number(cseq[1]) === o.cseq && cseq[2] === o.method && statusOk(r.msg.status);
      },
      { ...(o.after !== undefined ? { after: o.after } : {}), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) },
    );
    return { ...(r.msg as SipResponse), raw: r.raw, index: r.index };
  }

  /** The Authorization value answering a WWW-Authenticate challenge (MD5, qop=auth, a new cnonce, nc counted). */
  authorization(challenge: string, method: string, uri: string, creds?: { user: string; password: string }): string {
    const c = parseChallenge(challenge);
    if (c['scheme']?.toLowerCase() !== 'digest') throw new Error(`not a Digest challenge: ${challenge}`);
    const user = creds?.user ?? this.options.user;
    const password = creds?.password ?? this.options.password;
    if (user === undefined || password === undefined) throw new Error('no credentials to answer the challenge with');
    const realm = c['realm'] ?? '';
    const nonce = c['nonce'] ?? '';
    const qop = 'auth';
    const nc = (++this.#nc).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const response = digestResponse({ user, password, realm, method, uri, nonce, nc, cnonce, qop });
    return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
  }

  /** ACK for a non-2xx final answer to an INVITE: same branch and CSeq number, the answer's To (RFC 3261 17.1.1.3). */
  ackError(call: SipCallState, invite: BuiltRequest, res: SipResponse): void {
    const toTag = /;\s*tag=([^;\s]+)/.exec(res.headers.get('To') ?? '')?.[1] ?? null;
    this.send({ method: 'ACK', uri: call.uri, call, cseq: invite.cseq, branch: invite.branch, toTag });
  }

  /** ACK for a 2xx: a new transaction to the Contact, CSeq number of the INVITE (RFC 3261 13.2.2.4). */
  ack2xx(call: SipCallState, invite: BuiltRequest): BuiltRequest {
    return this.send({ method: 'ACK', uri: call.remoteTarget ?? call.uri, call, cseq: invite.cseq });
  }

  /** Takes the dialog's To tag and remote target from a 2xx. */
  learnDialog(call: SipCallState, res: SipResponse): void {
    const toTag = /;\s*tag=([^;\s]+)/.exec(res.headers.get('To') ?? '')?.[1];
    if (toTag) call.toTag = toTag;
    const contact = /<([^>]+)>/.exec(res.headers.get('Contact') ?? '')?.[1];
    if (contact) call.remoteTarget = contact;
  }

  /**
   * INVITE with digest authentication as a phone does it: the first INVITE without credentials,
   * its 401 acknowledged, then the INVITE again (CSeq + 1, a new branch) with an Authorization
   * answering the challenge. Returns the authenticated INVITE (the caller waits for its answers).
   */
  async authenticatedInvite(
    call: SipCallState,
    offer: { body: Buffer | string; contentType: string; headers?: [string, string][] },
    opts: { timeoutMs?: number; creds?: { user: string; password: string } } = {},
  ): Promise<BuiltRequest> {
    const first = this.send({ method: 'INVITE', uri: call.uri, call, toTag: null, body: offer.body, contentType: offer.contentType, headers: offer.headers ?? [] });
    const challenged = await this.waitResponse({ callId: call.callId, cseq: first.cseq, method: 'INVITE', status: 401, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
    this.ackError(call, first, challenged);
    const challenge = challenged.headers.get('WWW-Authenticate');
    if (!challenge) throw new Error('401 without WWW-Authenticate');
    return this.send({
      method: 'INVITE',
      uri: call.uri,
      call,
      toTag: null,
      body: offer.body,
      contentType: offer.contentType,
      headers: [['Authorization', this.authorization(challenge, 'INVITE', call.uri, opts.creds)], ...(offer.headers ?? [])],
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters) w();
    if (this.#udp) await new Promise<void>((r) => this.#udp!.close(() => r()));
    if (this.#tcp) {
      const tcp = this.#tcp;
      await new Promise<void>((r) => {
        if (tcp.destroyed) return r();
        tcp.once('close', () => r());
        tcp.end();
        setTimeout(() => tcp.destroy(), 1000).unref();
      });
    }
  }

  #onMessage(buf: Buffer): void {
    let msg: SipMessageT;
    try {
      msg = parseSipMessage(buf);
    } catch {
      this.unparsed.push(Buffer.from(buf));
      for (const w of [...this.#waiters]) w();
      return;
    }
    this.received.push({ index: this.received.length, at: Date.now(), raw: Buffer.from(buf), msg });
    for (const w of [...this.#waiters]) w();
  }

  /** A stream: messages split at the blank line and Content-Length (CRLF keep-alives skipped). */
  #onTcpData(chunk: Buffer): void {
    this.#tcpBuf = Buffer.concat([this.#tcpBuf, chunk]);
    for (;;) {
      while (this.#tcpBuf.length >= 2 && this.#tcpBuf[0] === 0x0d && this.#tcpBuf[1] === 0x0a) this.#tcpBuf = this.#tcpBuf.subarray(2);
      const end = this.#tcpBuf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#tcpBuf.subarray(0, end).toString('latin1');
      const cl = /^(?:Content-Length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im.exec(head);
      const total = end + 4 + (cl ? Number(cl[1]) : 0);
      if (this.#tcpBuf.length < total) return;
      const msg = this.#tcpBuf.subarray(0, total);
      this.#tcpBuf = this.#tcpBuf.subarray(total);
      this.#onMessage(Buffer.from(msg));
    }
  }
}

/** RTP (RFC 3550) from an own UDP socket: G.711 payloads of 160 bytes (20 ms at 8 kHz). */
export class RtpSender {
  readonly socket: dgram.Socket;
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  #seq = randomBytes(2).readUInt16BE(0);
  #ts = randomBytes(4).readUInt32BE(0);
  #sent = 0;
  /** RTP packets received on this socket (what the server sends back). */
  receivedPackets = 0;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on('message', () => {
      this.receivedPackets++;
    });
  }

  static async open(host = '127.0.0.1'): Promise<RtpSender> {
    return new RtpSender(await bindUdp(host));
  }

  get port(): number {
    return this.socket.address().port;
  }

  get sent(): number {
    return this.#sent;
  }

  /** One RTP packet with `payload` (advances sequence number by 1 and timestamp by the payload's samples). */
  packet(payload: Uint8Array, payloadType: number, marker = false): Buffer {
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0x80;
    b[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
    b.writeUInt16BE(this.#seq, 2);
    b.writeUInt32BE(this.#ts >>> 0, 4);
    b.writeUInt32BE(this.ssrc, 8);
    b.set(payload, 12);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + payload.length) >>> 0;
    return b;
  }

  /**
   * Sends `audio` (G.711 bytes, 8 kHz) as 20 ms packets to host:port, one every `ptimeMs` of
   * wall clock (paced against the start time, so timer lateness does not stretch the stream).
   */
  async sendAudio(audio: Uint8Array, payloadType: number, host: string, port: number, ptimeMs = 20): Promise<number> {
    const start = Date.now();
    let n = 0;
    for (let off = 0; off + 160 <= audio.length; off += 160) {
      const due = start + n * ptimeMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await new Promise<void>((resolve) => this.socket.send(this.packet(audio.subarray(off, off + 160), payloadType, n === 0), port, host, () => resolve()));
      n++;
      this.#sent++;
    }
    return n;
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}
