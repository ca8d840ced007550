import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestService } from '../../test/helpers/service.js';
import { TestSignallingClient } from '../../test/helpers/wsClient.js';
import { untilValue } from '../../test/helpers/until.js';
import { TokenSigner } from '../tokens.js';
import type { Service } from '../../src/Service.js';
import type { MediaTap } from '../MediaTap.js';

describe('signalling: bad input gets typed errors and changes nothing', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startTestService({ maxTransportsPerPeer: 2, maxMessageBytes: 4096, joinTimeoutMs: 1500 });
  });
  afterEach(async () => {
    await service.close();
  });

  async function joined(room = 'r1', name = 'Alice'): Promise<TestSignallingClient> {
    const c = await TestSignallingClient.connect(service.port);
    const { token } = service.issueToken(room, name);
    const r = await c.request('join', { token });
    expect(r.ok).toBe(true);
    return c;
  }

  it('malformed JSON, unknown methods, wrong types, binary frames', async () => {
    const c = await joined();
    c.sendRaw('{not json');
    expect((await c.nextResponse()).error?.code).toBe('ERR_BAD_JSON');
    expect((await c.request('fly', {})).error?.code).toBe('ERR_UNKNOWN_METHOD');
    expect((await c.request('createWebRtcTransport', { direction: 'sideways' })).error?.code).toBe('ERR_BAD_REQUEST');
    expect((await c.request('consume', { transportId: 42 })).error?.code).toBe('ERR_BAD_REQUEST');
    c.sendRaw(JSON.stringify({ type: 'request', id: 'x', method: 'leave' }));
    expect((await c.nextResponse()).error?.code).toBe('ERR_BAD_REQUEST');
    c.sendRaw(Buffer.from([1, 2, 3]));
    expect((await c.nextResponse()).error?.code).toBe('ERR_BAD_REQUEST');
    // mediasoup rejects nonsense parameters; we answer with a typed error.
    const t = await c.request('createWebRtcTransport', { direction: 'send' });
    expect(t.ok).toBe(true);
    const bad = await c.request('produce', { transportId: t.data!['id'], kind: 'audio', rtpParameters: { codecs: 'nope' } });
    expect(bad.ok).toBe(false);
    expect(bad.error?.code).toBe('ERR_BAD_REQUEST');
    // The connection is still usable.
    expect((await c.request('createWebRtcTransport', { direction: 'recv' })).ok).toBe(true);
    c.close();
  });

  it('oversized messages: typed error below the hard limit, clean close above it', async () => {
    const c = await joined();
    const big = JSON.stringify({ type: 'request', id: 1, method: 'leave', data: { pad: 'x'.repeat(6000) } });
    c.sendRaw(big);
    expect((await c.nextResponse()).error?.code).toBe('ERR_MESSAGE_TOO_LARGE');
    c.sendRaw('x'.repeat(4096 * 4 + 10));
    const closed = await c.closed;
    expect(closed.code).toBe(1009);
    // The server forgets the closed peer once its socket's close is handled.
    await untilValue('the closed peer to leave the room', () => (service.rooms.get('r1')?.peers.size ?? 0) === 0, 10_000);
    expect(service.rooms.get('r1')?.peers.size ?? 0).toBe(0);
  });

  it('expired, forged and missing tokens; requests before join', async () => {
    const c = await TestSignallingClient.connect(service.port);
    expect((await c.request('createWebRtcTransport', { direction: 'send' })).error?.code).toBe('ERR_NOT_JOINED');
    const forged = new TokenSigner('another-secret').sign({ room: 'r1', peer: 'mallory', name: 'M', role: 'participant' }, 60);
    expect((await c.request('join', { token: forged })).error?.code).toBe('ERR_TOKEN_INVALID');
    const expired = new TokenSigner('test-secret').sign({ room: 'r1', peer: 'old', name: 'O', role: 'participant' }, 10, Date.now() - 3_600_000);
    expect((await c.request('join', { token: expired })).error?.code).toBe('ERR_TOKEN_EXPIRED');
    expect((await c.request('join', { token: 'garbage' })).error?.code).toBe('ERR_TOKEN_INVALID');
    expect((await c.request('join', {})).error?.code).toBe('ERR_BAD_REQUEST');
    expect(service.rooms.get('r1')?.peers.size ?? 0).toBe(0);
    c.close();
  });

  it("a join token of one tenant never enters another tenant's room (ERR_TENANT_MISMATCH); the room keeps its tenant", async () => {
    const signer = new TokenSigner('test-secret');
    const acme = await TestSignallingClient.connect(service.port);
    expect((await acme.request('join', { token: signer.sign({ room: 'shared', peer: 'alice', name: 'Alice', role: 'participant', tenant: 'acme' }, 60) })).ok).toBe(true);
    expect(service.rooms.get('shared')?.tenant).toBe('acme');
    const globex = await TestSignallingClient.connect(service.port);
    expect((await globex.request('join', { token: signer.sign({ room: 'shared', peer: 'mallory', name: 'M', role: 'participant', tenant: 'globex' }, 60) })).error?.code).toBe('ERR_TENANT_MISMATCH');
    // A token without a tenant is the default tenant's: not acme's either.
    expect((await globex.request('join', { token: signer.sign({ room: 'shared', peer: 'mallory', name: 'M', role: 'participant' }, 60) })).error?.code).toBe('ERR_TENANT_MISMATCH');
    expect([...service.rooms.get('shared')!.peers.keys()]).toEqual(['alice']);
    // A room created by a token without a tenant belongs to the default tenant.
    expect((await globex.request('join', { token: signer.sign({ room: 'plain', peer: 'bob', name: 'Bob', role: 'participant' }, 60) })).ok).toBe(true);
    expect(service.rooms.get('plain')?.tenant).toBe('default');
    acme.close();
    globex.close();
  });

  it('limits: too many transports; a second join on the same socket', async () => {
    const c = await joined();
    expect((await c.request('createWebRtcTransport', { direction: 'send' })).ok).toBe(true);
    expect((await c.request('createWebRtcTransport', { direction: 'recv' })).ok).toBe(true);
    expect((await c.request('createWebRtcTransport', { direction: 'recv' })).error?.code).toBe('ERR_TOO_MANY_TRANSPORTS');
    const { token } = service.issueToken('r1', 'Again');
    expect((await c.request('join', { token })).error?.code).toBe('ERR_ALREADY_JOINED');
    const room = service.rooms.get('r1')!;
    expect([...room.peers.values()][0]!.transports.size).toBe(2);
    c.close();
  });

  it('a peer that disconnects mid-handshake leaks no transport, and other peers are unaffected', async () => {
    const bob = await joined('r2', 'Bob');
    const alice = await joined('r2', 'Alice');
    const room = service.rooms.get('r2')!;
    // Fire transport creation and vanish before the answer.
    alice.sendRaw(JSON.stringify({ type: 'request', id: 99, method: 'createWebRtcTransport', data: { direction: 'send' } }));
    alice.ws.terminate();
    await bob.waitForNotification('peerLeft');
    await new Promise((r) => setTimeout(r, 300));
    const dump = (await room.router.dump()) as { transportIds: string[] };
    // Only the tap DirectTransport remains: Alice's transport was closed.
    expect(dump.transportIds.length).toBe(1);
    expect(room.peers.size).toBe(1);
    expect((await bob.request('createWebRtcTransport', { direction: 'send' })).ok).toBe(true);
    bob.close();
  });

  it('a socket that never joins is closed after the join timeout', async () => {
    const c = await TestSignallingClient.connect(service.port);
    const closed = await c.closed;
    expect(closed.code).toBe(4408);
  });

  it("produce's noiseSuppression: a bad value is refused and adds nothing; the audio tap says whether the sender suppresses noise", async () => {
    const taps: MediaTap[] = [];
    service.rooms.on('tapopen', (tap) => taps.push(tap));
    const c = await joined();
    const t = await c.request('createWebRtcTransport', { direction: 'send' });
    const transportId = t.data!['id'];
    const rtp = (ssrc: number, kind: 'audio' | 'video') => ({
      codecs: kind === 'audio' ? [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }] : [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
      encodings: [{ ssrc }],
      headerExtensions: [],
      rtcp: { cname: 'c' },
    });
    for (const noiseSuppression of ['yes', 1, null]) {
      const bad = await c.request('produce', { transportId, kind: 'audio', rtpParameters: rtp(1000, 'audio'), noiseSuppression });
      expect(bad.error?.code).toBe('ERR_BAD_REQUEST');
    }
    expect(taps).toHaveLength(0);
    const off = await c.request('produce', { transportId, kind: 'audio', rtpParameters: rtp(1001, 'audio'), noiseSuppression: false });
    const unsaid = await c.request('produce', { transportId, kind: 'audio', rtpParameters: rtp(1002, 'audio') });
    const video = await c.request('produce', { transportId, kind: 'video', rtpParameters: rtp(1003, 'video'), noiseSuppression: true });
    expect([off.ok, unsaid.ok, video.ok]).toEqual([true, true, true]);
    const tapOf = (r: { data?: Record<string, unknown> }) => taps.find((x) => x.info.producerId === r.data?.['producerId']);
    expect(tapOf(off)?.info.senderNoiseSuppression).toBeUndefined();
    // Not said: a browser's getUserMedia suppresses noise unless told not to (DFD_ASSUME_SENDER_NOISE_SUPPRESSION).
    expect(tapOf(unsaid)?.info.senderNoiseSuppression).toBe(true);
    expect(tapOf(video)?.info.senderNoiseSuppression).toBeUndefined();
    c.close();

    // An operator whose clients turn the suppressor off without saying so: unsaid means none.
    const plain = await startTestService({ assumeSenderNoiseSuppression: false });
    try {
      const plainTaps: MediaTap[] = [];
      plain.rooms.on('tapopen', (tap) => plainTaps.push(tap));
      const d = await TestSignallingClient.connect(plain.port);
      expect((await d.request('join', { token: plain.issueToken('r2', 'Bob').token })).ok).toBe(true);
      const t2 = await d.request('createWebRtcTransport', { direction: 'send' });
      const said = await d.request('produce', { transportId: t2.data!['id'], kind: 'audio', rtpParameters: rtp(2001, 'audio'), noiseSuppression: true });
      const notSaid = await d.request('produce', { transportId: t2.data!['id'], kind: 'audio', rtpParameters: rtp(2002, 'audio') });
      const find = (r: { data?: Record<string, unknown> }) => plainTaps.find((x) => x.info.producerId === r.data?.['producerId']);
      expect(find(said)?.info.senderNoiseSuppression).toBe(true);
      expect(find(notSaid)?.info.senderNoiseSuppression).toBeUndefined();
      d.close();
    } finally {
      await plain.close();
    }
  });

  it('rate limiting answers ERR_RATE_LIMITED instead of queueing without bound', async () => {
    const c = await joined('r3');
    for (let i = 0; i < 400; i++) c.sendRaw(JSON.stringify({ type: 'request', id: 1000 + i, method: 'fly' }));
    const codes = new Set<string>();
    for (let i = 0; i < 400; i++) codes.add((await c.nextResponse()).error?.code ?? 'ok');
    expect(codes.has('ERR_RATE_LIMITED')).toBe(true);
    c.close();
  });
});
