/**
 * End to end: the SIP user agent server's protocol behaviour, driven by a raw SIP test client
 * (ingest/testing/SipTestClient.ts) that writes requests as text and computes its own digest
 * answers. What is real: the whole service (startTestService: HTTP, rooms on a real mediasoup
 * worker), its SIP server on real UDP and TCP sockets on 127.0.0.1, real RTP datagrams from the
 * client's own UDP socket carrying real speech (a LibriVox reader, made 8 kHz G.711 by sox), and
 * extra SipServer instances (allowlist, rate limit) sharing the service's rooms and ingest keys.
 * Analysis and events are off (protocol, not detection). Checked: OPTIONS, digest challenges
 * and refusals, codec refusal (488), malformed input (drop / 400), a full call (100, 200 with
 * SDP answer retransmitted until ACK, RTP in, hold re-INVITE, BYE and its retransmission, 481),
 * CANCEL, SIPREC (two streams, caller and agent), the session timer's 422, SIP over TCP, the
 * source allowlist (403, trusted sources) and the INVITE rate limit (503 with Retry-After).
 * Waits are on conditions with deadlines; nothing asserts timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { startTestService } from '../helpers/service.js';
import { untilAsyncValue, untilValue } from '../helpers/until.js';
import type { Service } from '../../src/Service.js';
import type { RoomManager } from '../../sfu/RoomManager.js';
import { exposition } from '../../kernel/metrics.js';
import { RateLimiter } from '../../kernel/http/RateLimiter.js';
import { SipServer, type SipServerDeps } from '../../ingest/sip/SipServer.js';
import { sipRoomId } from '../../ingest/sip/SipCall.js';
import { buildResponse, serializeSipMessage, type SipRequest } from '../../ingest/sip/SipMessage.js';
import { missingPhoneSpeech } from '../../ingest/testing/phoneSpeech.js';
import { RtpSender, SipTestClient, sdpOffer, type SipCallState } from '../../ingest/testing/SipTestClient.js';

const KEY = 'acme-sip-protocol-key-0123456789';
const HOST = '127.0.0.1';
const RTP_MIN = 33000;
const RTP_MAX = 33999;
const EXTRA_RTP_MIN = 34000;
const EXTRA_RTP_MAX = 34999;
const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const PCMA = { pt: 8, name: 'PCMA', rate: 8000 };
const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };
const SDP = 'application/sdp';

/** The first `seconds` of the clip as 8 kHz G.711 bytes (sox: resample, encode, headerless). */
function speech(encoding: 'a-law' | 'mu-law', seconds: number): Buffer {
  const raw = execFileSync('sox', [CLIP, '-r', '8000', '-c', '1', '-e', encoding, '-b', '8', '-t', 'raw', '-', 'trim', '0', String(seconds)], { maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return raw;
}

/** A counter from the kernel registry (0 when never counted). `labels` as exposed: `method="INVITE",status="401"`. */
async function metric(name: string, labels: string): Promise<number> {
  const text = (await exposition()).text;
  const esc = labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${name}\\{${esc}\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function sipRooms(service: Service): string[] {
  return service.rooms
    .list()
    .map((r) => r.id)
    .filter((id) => id.startsWith('sip-'));
}

/** Every value of header `name` across its lines, split at commas. */
function headerList(res: { headers: { getAll(n: string): string[] } }, name: string): string[] {
  return res.headers.getAll(name).map((v) => v.trim());
}

describe('SIP protocol (raw SIP client over UDP and TCP, real service, real mediasoup worker, real RTP)', () => {
  let service: Service;
  const clients: SipTestClient[] = [];
  const senders: RtpSender[] = [];
  const extraServers: SipServer[] = [];

  async function client(transport: 'udp' | 'tcp' = 'udp', port = service.sip!.port): Promise<SipTestClient> {
    const c = await SipTestClient.open({ transport, serverHost: HOST, serverPort: port, user: 'acme', password: KEY });
    clients.push(c);
    return c;
  }

  async function rtpSender(): Promise<RtpSender> {
    const s = await RtpSender.open(HOST);
    senders.push(s);
    return s;
  }

  /** The call's room and SIP call are gone. */
  async function untilCallGone(callId: string, server: SipServer = service.sip!): Promise<void> {
    const roomId = sipRoomId(callId);
    await untilValue(`call ${roomId} and its room gone`, () => !service.rooms.get(roomId) && !server.calls().some((c) => c.roomId === roomId), 15_000);
  }

  /** In-dialog BYE -> 200. */
  async function bye(c: SipTestClient, call: SipCallState): Promise<void> {
    const req = c.send({ method: 'BYE', uri: call.remoteTarget ?? call.uri, call });
    await c.waitResponse({ callId: call.callId, cseq: req.cseq, method: 'BYE', status: 200 });
  }

  beforeAll(async () => {
    const missing = missingPhoneSpeech();
    if (missing.length > 0) throw new Error(missing.join('; '));
    service = await startTestService({ ingestKeys: [`acme=${KEY}`], sipHost: HOST, sipRtpMinPort: RTP_MIN, sipRtpMaxPort: RTP_MAX }, { events: false, analysis: false });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const s of senders) await s.close();
    for (const s of extraServers) await s.close();
    await service?.close();
  });

  it('OPTIONS is answered 200 with Allow listing the methods', async () => {
    const c = await client();
    const call = c.newCall();
    const req = c.send({ method: 'OPTIONS', uri: call.uri, call, headers: [['Accept', SDP]] });
    const res = await c.waitResponse({ callId: call.callId, cseq: req.cseq, method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(headerList(res, 'Allow')).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'UPDATE']));
    // The response copies the transaction's identifiers (RFC 3261 8.2.6.2).
    expect(res.headers.get('Via')).toContain(`branch=${req.branch}`);
    expect(res.headers.get('To')).toMatch(/;tag=/);
  });

  it('an INVITE without credentials, then with a wrong password, is challenged (401) and opens no room', async () => {
    const before = await metric('dfd_sip_requests_total', 'method="INVITE",status="401"');
    const c = await client();
    const call = c.newCall();
    const body = sdpOffer({ ip: HOST, streams: [{ port: 40000, codecs: [PCMU] }] });
    const first = c.send({ method: 'INVITE', uri: call.uri, call, body, contentType: SDP });
    const challenged = await c.waitResponse({ callId: call.callId, cseq: first.cseq, method: 'INVITE' });
    expect(challenged.status).toBe(401);
    const www = challenged.headers.get('WWW-Authenticate') ?? '';
    expect(www).toMatch(/^Digest /);
    expect(www).toMatch(/realm="[^"]+"/);
    expect(www).toMatch(/nonce="[^"]+"/);
    expect(www).toMatch(/qop="auth"/);
    c.ackError(call, first, challenged);

    /** The INVITE again with an answer to the challenge computed for `uri` and `password`; its final response, acknowledged. */
    const answered = async (uri: string, password: string): Promise<{ status: number; www: string | undefined }> => {
      const req = c.send({ method: 'INVITE', uri: call.uri, call, toTag: null, body, contentType: SDP, headers: [['Authorization', c.authorization(www, 'INVITE', uri, { user: 'acme', password })]] });
      const res = await c.waitResponse({ callId: call.callId, cseq: req.cseq, method: 'INVITE' });
      c.ackError(call, req, res);
      return { status: res.status, www: res.headers.get('WWW-Authenticate') };
    };
    const refused = await answered(call.uri, 'not-the-key-0123456789');
    expect(refused.status).toBe(401);
    expect(refused.www).toMatch(/^Digest .*nonce="[^"]+"/);
    // The right password for another Request-URI (a captured answer replayed elsewhere) is refused too.
    expect((await answered('sip:other@192.0.2.9', KEY)).status).toBe(401);

    expect(sipRooms(service)).toEqual([]);
    expect(service.sip!.calls()).toEqual([]);
    expect(await metric('dfd_sip_requests_total', 'method="INVITE",status="401"')).toBeGreaterThanOrEqual(before + 3);
  });

  it('an INVITE that requires an extension the server lacks (100rel) gets 420 with Unsupported; siprec and timer are supported', async () => {
    const c = await client();
    const call = c.newCall();
    const invite = c.send({ method: 'INVITE', uri: call.uri, call, body: sdpOffer({ ip: HOST, streams: [{ port: 40004, codecs: [PCMU] }] }), contentType: SDP, headers: [['Require', '100rel, timer']] });
    const res = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
    expect(res.status).toBe(420);
    expect(res.headers.get('Unsupported')).toBe('100rel');
    c.ackError(call, invite, res);
    const opts = c.newCall();
    const o = c.send({ method: 'OPTIONS', uri: opts.uri, call: opts });
    const ok = await c.waitResponse({ callId: opts.callId, cseq: o.cseq, method: 'OPTIONS' });
    expect(ok.headers.getAll('Supported')).toEqual(expect.arrayContaining(['timer', 'siprec']));
    expect(sipRooms(service)).toEqual([]);
  });

  it('when the service ends a call (its room closed), it sends BYE and resends it until the phone answers', async () => {
    const c = await client();
    const call = c.newCall();
    const invite = await c.authenticatedInvite(call, { body: sdpOffer({ ip: HOST, streams: [{ port: 40006, codecs: [PCMU] }] }), contentType: SDP });
    const ok = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 200 });
    c.learnDialog(call, ok);
    c.ack2xx(call, invite);
    const roomId = sipRoomId(call.callId);
    await untilValue('the call room', () => service.rooms.get(roomId), 10_000);
    const mark = c.mark();
    service.rooms.get(roomId)!.close('operator');
    const isBye = (r: { msg: { kind: string } }): boolean => r.msg.kind === 'request' && (r.msg as SipRequest).method === 'BYE' && (r.msg as SipRequest).headers.get('Call-ID') === call.callId;
    const first = await c.waitFor('the service BYE', isBye, { after: mark, timeoutMs: 10_000 });
    // Not answered: the same BYE comes again (T1 = 500 ms later).
    const again = await c.waitFor('the BYE resent', isBye, { after: first.index + 1, timeoutMs: 10_000 });
    expect(again.raw.toString('utf8')).toBe(first.raw.toString('utf8'));
    // In the dialog: From carries the service's tag, To the phone's, CSeq counts up from the service's own.
    const byeReq = first.msg as SipRequest;
    expect(byeReq.headers.get('From')).toContain(`tag=${call.toTag}`);
    expect(byeReq.headers.get('To')).toContain(`tag=${call.fromTag}`);
    c.sendRaw(serializeSipMessage(buildResponse(byeReq, 200, 'OK')));
    await untilCallGone(call.callId);
    expect(service.rooms.get(roomId)).toBeUndefined();
  });

  it('an authenticated INVITE offering only G.729 is refused with 488 and a Warning', async () => {
    const c = await client();
    const call = c.newCall();
    const invite = await c.authenticatedInvite(call, { body: sdpOffer({ ip: HOST, streams: [{ port: 40002, codecs: [{ pt: 18, name: 'G729', rate: 8000 }] }] }), contentType: SDP });
    const res = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
    expect(res.status).toBe(488);
    expect(res.headers.get('Warning')).toMatch(/^399 \S+ ".+"$/);
    c.ackError(call, invite, res);
    expect(sipRooms(service)).toEqual([]);
    expect(service.rooms.get(sipRoomId(call.callId))).toBeUndefined();
  });

  it('a garbage datagram is dropped unanswered (counted), the server still answers; a broken CSeq gets 400', async () => {
    const before = await metric('dfd_sip_messages_dropped_total', 'reason="malformed"');
    const c = await client();
    const mark = c.mark();
    c.sendRaw(Buffer.concat([Buffer.from('\x16\x03\x01 not SIP at all \xff\xfe\r\n\r\n', 'latin1'), Buffer.from([0, 1, 2, 3, 0xff])]));
    await untilAsyncValue('the garbage datagram counted as malformed', async () => (await metric('dfd_sip_messages_dropped_total', 'reason="malformed"')) > before, 10_000);

    const call = c.newCall();
    const options = c.send({ method: 'OPTIONS', uri: call.uri, call });
    const ok = await c.waitResponse({ callId: call.callId, cseq: options.cseq, method: 'OPTIONS', after: mark });
    expect(ok.status).toBe(200);
    // Datagrams on loopback are handled in order: the OPTIONS answer is the first thing that came back.
    expect(ok.index).toBe(mark);
    expect(c.unparsed).toEqual([]);

    // A request whose CSeq does not read (the other headers do): 400. The answer echoes the CSeq as
    // sent (RFC 3261 8.2.6.2), so the client's own parser refuses it too: it is read raw.
    const broken = c.newCall();
    const raw = c
      .build({ method: 'OPTIONS', uri: broken.uri, call: broken })
      .raw.toString('utf8')
      .replace(/^CSeq: .*$/m, 'CSeq: one OPTIONS');
    const before400 = await metric('dfd_sip_requests_total', 'method="OPTIONS",status="400"');
    c.sendRaw(raw);
    const bad = await c.waitUnparsed('400 to the request with a broken CSeq', (b) => b.toString('latin1').includes(`Call-ID: ${broken.callId}\r\n`));
    expect(bad.toString('latin1')).toMatch(/^SIP\/2\.0 400 /);
    expect(bad.toString('latin1')).toMatch(/^CSeq: one OPTIONS\r$/m);
    expect(await metric('dfd_sip_requests_total', 'method="OPTIONS",status="400"')).toBe(before400 + 1);

    // A CSeq naming another method than the request line's: 400 as well (this answer reads).
    const mismatched = c.newCall();
    const raw2 = c
      .build({ method: 'OPTIONS', uri: mismatched.uri, call: mismatched })
      .raw.toString('utf8')
      .replace(/^CSeq: .*$/m, 'CSeq: 7 INVITE');
    c.sendRaw(raw2);
    const bad2 = await c.waitResponse({ callId: mismatched.callId, cseq: 7, method: 'INVITE' });
    expect(bad2.status).toBe(400);
    expect(await metric('dfd_sip_messages_dropped_total', 'reason="malformed"')).toBeGreaterThanOrEqual(before + 3);
  });

  it('a PCMA call: 100, 200 with the SDP answer retransmitted until the ACK, real speech over RTP, hold re-INVITE, BYE (and its retransmission), 481', async () => {
    const sip = service.sip!;
    const c = await client();
    const rtp = await rtpSender();
    const call = c.newCall();
    const roomId = sipRoomId(call.callId);
    const offer = (direction: 'sendrecv' | 'sendonly', v: number): string => sdpOffer({ ip: HOST, sessionVersion: v, streams: [{ port: rtp.port, codecs: [PCMA], telephoneEventPt: 101, direction }] });
    const invite = await c.authenticatedInvite(call, { body: offer('sendrecv', 1), contentType: SDP });

    const trying = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 100 });
    expect(trying.headers.get('Via')).toContain(`branch=${invite.branch}`);
    const ok = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 200 });
    expect(ok.headers.get('Content-Type')).toBe(SDP);
    expect(ok.headers.get('Contact')).toMatch(/^<sip:[^>]+>/);
    expect(ok.headers.get('To')).toMatch(/;tag=[^;\s]+/);
    const answer = ok.body.toString('utf8');
    const m = /^m=audio (\d+) RTP\/AVP 8(?: 101)?\r?$/m.exec(answer);
    expect(m, answer).not.toBeNull();
    const port = Number(m![1]);
    expect(port).toBeGreaterThanOrEqual(RTP_MIN);
    expect(port).toBeLessThanOrEqual(RTP_MAX);
    expect(answer).toMatch(/^a=rtpmap:8 PCMA\/8000\r?$/m);
    expect(answer).toMatch(/^a=sendrecv\r?$/m);
    expect(answer).toMatch(/^c=IN IP4 127\.0\.0\.1\r?$/m);
    c.learnDialog(call, ok);

    // No ACK yet: the 200 comes again (RFC 3261 13.3.1.4).
    const again = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 200, after: ok.index + 1 });
    expect(again.body.toString('utf8')).toBe(answer);
    expect(again.headers.get('To')).toBe(ok.headers.get('To'));
    c.ack2xx(call, invite);

    const sipCall = await untilValue('the SIP call', () => sip.calls().find((x) => x.roomId === roomId), 10_000);
    expect(sipCall.streams).toEqual([expect.objectContaining({ role: 'caller', codec: 'PCMA', port })]);

    // About 2 s of a real reader, A-law, from the client's own RTP socket to the answered port.
    const packets = await rtp.sendAudio(speech('a-law', 2), 8, HOST, port);
    expect(packets).toBeGreaterThanOrEqual(95);
    await untilValue('RTP received by the call', () => sipCall.streams[0]!.received >= Math.floor(packets / 2), 10_000);
    const room = service.rooms.get(roomId);
    expect(room).toBeDefined();
    expect(room!.peers.get('caller')?.producers.size ?? 0).toBeGreaterThan(0);

    // Hold: a re-INVITE in the dialog offering sendonly is answered recvonly.
    const reinvite = c.send({ method: 'INVITE', uri: call.remoteTarget!, call, body: offer('sendonly', 2), contentType: SDP });
    const held = await c.waitResponse({ callId: call.callId, cseq: reinvite.cseq, method: 'INVITE', status: (s) => s >= 200 });
    expect(held.status).toBe(200);
    expect(held.body.toString('utf8')).toMatch(/^a=recvonly\r?$/m);
    expect(held.body.toString('utf8')).toMatch(new RegExp(`^m=audio ${port} RTP/AVP 8`, 'm'));
    c.ack2xx(call, reinvite);
    // The telephone-event the call negotiated stays in the answer.
    expect(held.body.toString('utf8')).toMatch(/^a=rtpmap:101 telephone-event\/8000\r?$/m);

    // Off hold with an UPDATE carrying the offer (RFC 3311): its 200 carries the answer, sendrecv again.
    const update = c.send({ method: 'UPDATE', uri: call.remoteTarget!, call, body: offer('sendrecv', 3), contentType: SDP });
    const resumed = await c.waitResponse({ callId: call.callId, cseq: update.cseq, method: 'UPDATE' });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('Content-Type')).toMatch(/^application\/sdp/);
    expect(resumed.body.toString('utf8')).toMatch(/^a=sendrecv\r?$/m);
    expect(resumed.body.toString('utf8')).toMatch(new RegExp(`^m=audio ${port} RTP/AVP 8`, 'm'));

    // BYE ends the call and its room.
    const byeReq = c.send({ method: 'BYE', uri: call.remoteTarget!, call });
    const byeOk = await c.waitResponse({ callId: call.callId, cseq: byeReq.cseq, method: 'BYE' });
    expect(byeOk.status).toBe(200);
    await untilCallGone(call.callId);

    // The same BYE again (same branch: a retransmission) gets the same 200.
    const mark = c.mark();
    c.sendRaw(byeReq.raw);
    const byeAgain = await c.waitResponse({ callId: call.callId, cseq: byeReq.cseq, method: 'BYE', after: mark });
    expect(byeAgain.status).toBe(200);
    expect(byeAgain.raw.toString('utf8')).toBe(byeOk.raw.toString('utf8'));

    // A BYE for a call that never was.
    const stray = c.newCall();
    const strayBye = c.send({ method: 'BYE', uri: stray.uri, call: stray, toTag: 'no-such-dialog' });
    const unknown = await c.waitResponse({ callId: stray.callId, cseq: strayBye.cseq, method: 'BYE' });
    expect(unknown.status).toBe(481);
  }, 60_000);

  it('CANCEL right after an INVITE: 200 and 487 (or, if the 200 OK won, ACK and BYE); no room remains', async () => {
    const c = await client();
    const rtp = await rtpSender();
    const call = c.newCall();
    const invite = await c.authenticatedInvite(call, { body: sdpOffer({ ip: HOST, streams: [{ port: rtp.port, codecs: [PCMU] }] }), contentType: SDP });
    const cancel = c.send({ method: 'CANCEL', uri: call.uri, call, cseq: invite.cseq, branch: invite.branch, toTag: null });
    const cancelOk = await c.waitResponse({ callId: call.callId, cseq: cancel.cseq, method: 'CANCEL' });
    expect(cancelOk.status).toBe(200);
    const final = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
    if (final.status === 487) {
      console.log('sip-protocol CANCEL: the call was still opening: 200 to the CANCEL, 487 to the INVITE');
      c.ackError(call, invite, final);
    } else {
      console.log(`sip-protocol CANCEL: the INVITE was answered ${final.status} before the CANCEL: ACK and BYE`);
      expect(final.status).toBe(200);
      c.learnDialog(call, final);
      c.ack2xx(call, invite);
      await bye(c, call);
    }
    await untilCallGone(call.callId);
    expect(sipRooms(service)).toEqual([]);
  });

  it('SIPREC: a multipart INVITE with recording metadata gets two recvonly streams, caller and agent, in one room', async () => {
    const sip = service.sip!;
    const c = await client();
    const customer = await rtpSender();
    const agent = await rtpSender();
    const call = c.newCall('sip:recorder@127.0.0.1');
    const roomId = sipRoomId(call.callId);
    const sdp = sdpOffer({
      ip: HOST,
      streams: [
        { port: customer.port, codecs: [PCMU], direction: 'sendonly', label: '1' },
        { port: agent.port, codecs: [PCMU], direction: 'sendonly', label: '2' },
      ],
    });
    const metadata = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<recording xmlns="urn:ietf:params:xml:ns:recording:1">',
      '  <datamode>complete</datamode>',
      '  <session session_id="c2Vzc2lvbi0x"><sipSessionID>0123456789abcdef;remote=fedcba9876543210</sipSessionID></session>',
      '  <participant participant_id="cGFydC1jdXN0b21lcg=="><nameID aor="sip:+15551230001@pstn.example.com"><name xml:lang="en">Customer</name></nameID></participant>',
      '  <participant participant_id="cGFydC1hZ2VudA=="><nameID aor="sip:4711@pbx.example.com"><name xml:lang="en">Agent</name></nameID></participant>',
      '  <stream stream_id="c3RyZWFtLTE=" session_id="c2Vzc2lvbi0x"><label>1</label></stream>',
      '  <stream stream_id="c3RyZWFtLTI=" session_id="c2Vzc2lvbi0x"><label>2</label></stream>',
      '  <participantstreamassoc participant_id="cGFydC1jdXN0b21lcg=="><send>c3RyZWFtLTE=</send><recv>c3RyZWFtLTI=</recv></participantstreamassoc>',
      '  <participantstreamassoc participant_id="cGFydC1hZ2VudA=="><send>c3RyZWFtLTI=</send><recv>c3RyZWFtLTE=</recv></participantstreamassoc>',
      '</recording>',
      '',
    ].join('\r\n');
    const boundary = 'dfd-siprec-boundary-42';
    const body = [`--${boundary}`, 'Content-Type: application/sdp', '', sdp, `--${boundary}`, 'Content-Type: application/rs-metadata+xml', 'Content-Disposition: recording-session', '', metadata, `--${boundary}--`, ''].join('\r\n');
    const invite = await c.authenticatedInvite(call, { body, contentType: `multipart/mixed;boundary=${boundary}`, headers: [['Require', 'siprec'], ['Accept', 'application/sdp, application/rs-metadata+xml']] });
    const ok = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
    expect(ok.status).toBe(200);
    const answer = ok.body.toString('utf8');
    expect(answer.match(/^m=audio [1-9]\d* RTP\/AVP 0\r?$/gm), answer).toHaveLength(2);
    expect(answer.match(/^a=recvonly\r?$/gm), answer).toHaveLength(2);
    expect(answer).not.toMatch(/^a=(sendrecv|sendonly)\r?$/m);
    c.learnDialog(call, ok);
    c.ack2xx(call, invite);

    const sipCall = await untilValue('the SIPREC call', () => sip.calls().find((x) => x.roomId === roomId), 10_000);
    expect(sipCall.streams.map((s) => s.role)).toEqual(['caller', 'agent']);
    const room = service.rooms.get(roomId);
    expect([...(room?.peers.keys() ?? [])].sort()).toEqual(['agent', 'caller']);

    // Both sides' speech arrives on their own streams.
    const ports = [...answer.matchAll(/^m=audio (\d+) /gm)].map((x) => Number(x[1]));
    const mu = speech('mu-law', 0.6);
    await Promise.all([customer.sendAudio(mu, 0, HOST, ports[0]!), agent.sendAudio(mu, 0, HOST, ports[1]!)]);
    await untilValue('RTP on both recorded streams', () => sipCall.streams.every((s) => s.received > 0), 10_000);

    await bye(c, call);
    await untilCallGone(call.callId);
  });

  it('a session timer below Min-SE is refused with 422 and Min-SE: 90; the retry with 90 is granted', async () => {
    const c = await client();
    const call = c.newCall();
    const invite = await c.authenticatedInvite(call, { body: sdpOffer({ ip: HOST, streams: [{ port: 40004, codecs: [PCMU] }] }), contentType: SDP, headers: [['Supported', 'timer'], ['Session-Expires', '30']] });
    const res = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
    expect(res.status).toBe(422);
    expect(res.headers.get('Min-SE')).toBe('90');
    c.ackError(call, invite, res);
    expect(service.rooms.get(sipRoomId(call.callId))).toBeUndefined();

    // The caller retries with the Min-SE it was told (RFC 4028 section 8): accepted, the timer granted.
    const rtp = await rtpSender();
    const retry = await c.authenticatedInvite(call, { body: sdpOffer({ ip: HOST, streams: [{ port: rtp.port, codecs: [PCMU] }] }), contentType: SDP, headers: [['Supported', 'timer'], ['Session-Expires', '90']] });
    const ok = await c.waitResponse({ callId: call.callId, cseq: retry.cseq, method: 'INVITE' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Session-Expires')).toMatch(/^90\s*;\s*refresher=(uac|uas)$/);
    expect(headerList(ok, 'Require')).toContain('timer');
    c.learnDialog(call, ok);
    c.ack2xx(call, retry);
    await bye(c, call);
    await untilCallGone(call.callId);
  });

  it('over TCP: an authenticated INVITE is answered 200 on the same connection; BYE ends the call', async () => {
    const c = await client('tcp');
    const rtp = await rtpSender();
    const call = c.newCall();
    const invite = await c.authenticatedInvite(call, { body: sdpOffer({ ip: HOST, streams: [{ port: rtp.port, codecs: [PCMU] }] }), contentType: SDP });
    const ok = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Via')).toMatch(/^SIP\/2\.0\/TCP /);
    expect(ok.headers.get('Contact')).toMatch(/transport=tcp/);
    c.learnDialog(call, ok);
    c.ack2xx(call, invite);
    const roomId = sipRoomId(call.callId);
    await untilValue('the TCP call', () => service.sip!.calls().find((x) => x.roomId === roomId), 10_000);
    expect(service.rooms.get(roomId)).toBeDefined();
    await bye(c, call);
    await untilCallGone(call.callId);
  });

  describe('source allowlist and INVITE flood (extra SipServer instances on the service rooms and keys)', () => {
    const deps = (extra: Partial<SipServerDeps> = {}): SipServerDeps => ({ rooms: service.rooms, keys: service.ingestKeys, challenges: () => undefined, shuttingDown: () => false, ...extra });
    const listen = async (deps: SipServerDeps, options: Parameters<typeof SipServer.listen>[1]): Promise<SipServer> => {
      const s = await SipServer.listen(deps, { host: HOST, port: 0, rtpMinPort: EXTRA_RTP_MIN, rtpMaxPort: EXTRA_RTP_MAX, ...options });
      extraServers.push(s);
      return s;
    };

    it('a source outside DFD_SIP_ALLOW gets 403', async () => {
      const server = await listen(deps(), { allow: ['10.9.9.0/24'] });
      const c = await client('udp', server.port);
      const call = c.newCall(`sip:screen@127.0.0.1:${server.port}`);
      const req = c.send({ method: 'OPTIONS', uri: call.uri, call });
      const res = await c.waitResponse({ callId: call.callId, cseq: req.cseq, method: 'OPTIONS' });
      expect(res.status).toBe(403);
    });

    it('with auth=allowlist a trusted source calls without credentials (200), and hangs up', async () => {
      const server = await listen(deps(), { auth: 'allowlist', allow: ['127.0.0.1/32'] });
      const c = await client('udp', server.port);
      const rtp = await rtpSender();
      const call = c.newCall(`sip:screen@127.0.0.1:${server.port}`);
      const invite = c.send({ method: 'INVITE', uri: call.uri, call, body: sdpOffer({ ip: HOST, streams: [{ port: rtp.port, codecs: [PCMU] }] }), contentType: SDP });
      const ok = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
      expect(ok.status).toBe(200);
      expect(Number(/^m=audio (\d+) /m.exec(ok.body.toString('utf8'))?.[1])).toBeGreaterThanOrEqual(EXTRA_RTP_MIN);
      c.learnDialog(call, ok);
      c.ack2xx(call, invite);
      await untilValue('the allowlisted call', () => server.calls().find((x) => x.roomId === sipRoomId(call.callId)), 10_000);
      expect(service.rooms.get(sipRoomId(call.callId))).toBeDefined();
      await bye(c, call);
      await untilCallGone(call.callId, server);
    });

    it('a call held while opening (room creation gated): a retransmitted INVITE gets the 100 again; CANCEL gets 200 and 487; the late room is closed', async () => {
      // The service's rooms, with room creation held back until the test lets it go: the call stays "opening" deterministically.
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const created: string[] = [];
      const rooms = {
        get: (id: string) => service.rooms.get(id),
        list: () => service.rooms.list(),
        getOrCreate: async (id: string) => {
          await gate;
          const room = await service.rooms.getOrCreate(id);
          created.push(id);
          return room;
        },
      } as unknown as RoomManager;
      const server = await listen(deps({ rooms }), { auth: 'allowlist', allow: ['127.0.0.1/32'] });
      const c = await client('udp', server.port);
      const rtp = await rtpSender();
      const call = c.newCall(`sip:screen@127.0.0.1:${server.port}`);
      const roomId = sipRoomId(call.callId);
      try {
        const invite = c.send({ method: 'INVITE', uri: call.uri, call, body: sdpOffer({ ip: HOST, streams: [{ port: rtp.port, codecs: [PCMU] }] }), contentType: SDP });
        const trying = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 100 });
        // The INVITE again (same branch: a retransmission, as when the 100 was lost): the 100 again (RFC 3261 17.2.1).
        c.sendRaw(invite.raw);
        await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE', status: 100, after: trying.index + 1 });

        const cancel = c.send({ method: 'CANCEL', uri: call.uri, call, cseq: invite.cseq, branch: invite.branch, toTag: null });
        expect((await c.waitResponse({ callId: call.callId, cseq: cancel.cseq, method: 'CANCEL' })).status).toBe(200);
        const final = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
        expect(final.status).toBe(487);
        c.ackError(call, invite, final);
      } finally {
        // Room creation goes on (also when the test failed: nothing stays pending).
        release();
      }
      // The room that opens late for the cancelled call is closed again.
      await untilValue('the gated room created', () => created.includes(roomId), 10_000);
      await untilCallGone(call.callId, server);
      expect(server.calls()).toEqual([]);
    });

    it('the 4th new INVITE in a row from one source is refused 503 with Retry-After', async () => {
      const limiter = new RateLimiter({ name: 'sip', perMinute: 3, burst: 3 });
      const server = await listen(deps({ admit: (address) => limiter.take(address) }), {});
      const c = await client('udp', server.port);
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        const call = c.newCall(`sip:screen@127.0.0.1:${server.port}`);
        const invite = c.send({ method: 'INVITE', uri: call.uri, call, body: sdpOffer({ ip: HOST, streams: [{ port: 40006, codecs: [PCMU] }] }), contentType: SDP });
        last = await c.waitResponse({ callId: call.callId, cseq: invite.cseq, method: 'INVITE' });
        c.ackError(call, invite, last);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 401, 401, 503]);
      // Retry-After is the limiter's own estimate (3 per minute: about 20 s for the next token), not a fixed guess.
      expect(Number(last!.headers.get('Retry-After'))).toBeGreaterThanOrEqual(10);
    });
  });
});
