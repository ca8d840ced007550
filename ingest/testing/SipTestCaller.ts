/**
 * A SIP phone call for benchmarks and tests, on SipTestClient: an authenticated INVITE with a
 * PCMU offer, the ACK, then mu-law speech streamed as RTP in real time (looped) until close(),
 * which stops the RTP and hangs up with a BYE.
 */
import { SipTestClient, RtpSender, sdpOffer, type SipCallState } from './SipTestClient.js';

export class SipTestCaller {
  readonly client: SipTestClient;
  readonly rtp: RtpSender;
  readonly call: SipCallState;
  /** The service's RTP port for this call (from its SDP answer). */
  readonly remotePort: number;
  #streaming = false;
  #closed = false;

  private constructor(client: SipTestClient, rtp: RtpSender, call: SipCallState, remotePort: number) {
    this.client = client;
    this.rtp = rtp;
    this.call = call;
    this.remotePort = remotePort;
  }

  /** Calls the service (UDP) and waits for the 200 OK; sends the ACK. */
  static async dial(host: string, port: number, creds: { user: string; password: string }, timeoutMs = 20_000): Promise<SipTestCaller> {
    const client = await SipTestClient.open({ transport: 'udp', serverHost: host, serverPort: port, user: creds.user, password: creds.password });
    const rtp = await RtpSender.open(host);
    try {
      const call = client.newCall();
      const offer = sdpOffer({ ip: host, streams: [{ port: rtp.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }] });
      const invite = await client.authenticatedInvite(call, { body: offer, contentType: 'application/sdp' }, { timeoutMs });
      const ok = await client.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 200, timeoutMs });
      client.learnDialog(call, ok);
      client.ack2xx(call, invite);
      const m = /^m=audio (\d+) /m.exec(ok.body.toString('utf8'));
      if (!m) throw new Error('200 OK without an audio m-line');
      return new SipTestCaller(client, rtp, call, Number(m[1]));
    } catch (e) {
      await client.close();
      await rtp.close();
      throw e;
    }
  }

  /** Streams `muLaw` (8 kHz) as 20 ms PCMU packets, in real time, looping until close(). */
  startStreaming(muLaw: Uint8Array): void {
    if (this.#streaming) return;
    this.#streaming = true;
    void (async () => {
      while (!this.#closed) await this.rtp.sendAudio(muLaw, 0, this.client.options.serverHost, this.remotePort);
    })().catch(() => undefined);
  }

  /** Stops the RTP and sends BYE (not waiting for its answer). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.client.send({ method: 'BYE', uri: this.call.remoteTarget ?? this.call.uri, call: this.call });
    } catch {
      // the socket may be gone already
    }
    await this.client.close();
    await this.rtp.close();
  }
}
