/**
 * Signalling liveness (real service, real mediasoup worker, real `ws` clients):
 * - heartbeat: a client that stops answering pings (`autoPong: false`, its TCP connection
 *   still open) is removed from the room within (misses + 1) x interval, and the others see it
 *   leave; a client that answers stays;
 * - rejoin: a join with the identity (room, peer, role) of a peer another socket still holds
 *   replaces it (old socket closed 4409, same call); a peer held by no signalling socket, or
 *   another role for the same peer id, still gets ERR_ALREADY_JOINED.
 * Every wait is on an event or a condition, with a deadline.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestService } from '../../test/helpers/service.js';
import { TestSignallingClient } from '../../test/helpers/wsClient.js';
import { Peer } from '../Peer.js';
import { REPLACED_CLOSE_CODE } from './SignallingServer.js';
import type { Service } from '../../src/Service.js';

const INTERVAL_MS = 100;
const MISSES = 2;

/** Resolves once the client has received `n` more pings; rejects past the deadline. */
function pings(client: TestSignallingClient, n: number, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const onPing = (): void => {
      if (++seen < n) return;
      clearTimeout(timer);
      client.ws.off('ping', onPing);
      resolve();
    };
    const timer = setTimeout(() => {
      client.ws.off('ping', onPing);
      reject(new Error(`only ${seen} of ${n} pings within ${timeoutMs} ms`));
    }, timeoutMs);
    client.ws.on('ping', onPing);
  });
}

describe('signalling heartbeat', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startTestService({ wsPingIntervalMs: INTERVAL_MS, wsPingMisses: MISSES });
  });
  afterEach(async () => {
    await service.close();
  });

  it('a client that stops answering pings leaves the room within the bound; one that answers stays', async () => {
    const bob = await TestSignallingClient.connect(service.port);
    expect((await bob.request('join', { token: service.issueToken('hb', 'Bob', 'participant', 'bob').token })).ok).toBe(true);
    // Alice's TCP connection stays open, she just never answers a ping (no close, as after a silent drop).
    const connectedAt = Date.now();
    const alice = await TestSignallingClient.connect(service.port, { autoPong: false });
    let alicePings = 0;
    alice.ws.on('ping', () => alicePings++);
    expect((await alice.request('join', { token: service.issueToken('hb', 'Alice', 'participant', 'alice').token })).ok).toBe(true);
    const room = service.rooms.get('hb')!;
    expect([...room.peers.keys()].sort()).toEqual(['alice', 'bob']);

    const left = await bob.waitForNotification('peerLeft', 20_000);
    const tookMs = Date.now() - connectedAt;
    expect(left).toEqual({ peerId: 'alice' });
    expect([...room.peers.keys()]).toEqual(['bob']);
    // Terminated, not closed with a handshake: her side sees an abnormal close.
    expect((await alice.closed).code).toBe(1006);
    // Removed at the tick after MISSES unanswered pings, never before (the count, not the clock, is the
    // property; how soon that tick comes on a busy machine is a timing claim, not asserted here).
    expect(alicePings).toBe(MISSES);
    expect(tookMs).toBeGreaterThanOrEqual(MISSES * INTERVAL_MS - 5);
    expect(service.registry.participant('hb', 'alice')?.leftAt).toBeDefined();

    // Bob answers: after more than MISSES + 1 further pings he is still in the room, socket open.
    await pings(bob, MISSES + 3);
    expect(bob.ws.readyState).toBe(bob.ws.OPEN);
    expect([...room.peers.keys()]).toEqual(['bob']);
    expect((await bob.request('createWebRtcTransport', { direction: 'recv' })).ok).toBe(true);
    bob.close();
  });
});

describe('signalling rejoin with the same identity', () => {
  let service: Service;
  beforeEach(async () => {
    // No heartbeat: the stale socket stays until the rejoin replaces it.
    service = await startTestService({ wsPingIntervalMs: 0 });
  });
  afterEach(async () => {
    await service.close();
  });

  it('replaces the peer a stale socket still holds: old socket closed 4409, the new one joins the same call', async () => {
    const bob = await TestSignallingClient.connect(service.port);
    expect((await bob.request('join', { token: service.issueToken('rj', 'Bob', 'participant', 'bob').token })).ok).toBe(true);
    const { token } = service.issueToken('rj', 'Alice', 'participant', 'alice');
    const stale = await TestSignallingClient.connect(service.port);
    expect((await stale.request('join', { token })).ok).toBe(true);
    const room = service.rooms.get('rj')!;
    const oldPeer = room.peers.get('alice')!;
    const callId = service.registry.openCall('rj')!.callId;

    const fresh = await TestSignallingClient.connect(service.port);
    const r = await fresh.request('join', { token });
    expect(r.ok).toBe(true);
    expect(r.data).toMatchObject({ roomId: 'rj', peerId: 'alice' });
    expect(await stale.closed).toEqual({ code: REPLACED_CLOSE_CODE, reason: 'replaced by a new connection' });
    expect(oldPeer.closed).toBe(true);
    // The old socket's close did not take the new peer with it.
    const newPeer = room.peers.get('alice');
    expect(newPeer).toBeDefined();
    expect(newPeer).not.toBe(oldPeer);
    expect(newPeer!.closed).toBe(false);
    expect([...room.peers.keys()].sort()).toEqual(['alice', 'bob']);
    // Bob saw Alice leave and come back; it is still the same call.
    await bob.waitForNotification('peerJoined');
    expect(bob.notifications.map((n) => `${n.method}:${String(n.data['peerId'])}`)).toEqual(['peerJoined:alice', 'peerLeft:alice', 'peerJoined:alice']);
    expect(service.registry.openCall('rj')?.callId).toBe(callId);
    expect(service.registry.participant('rj', 'alice')?.leftAt).toBeUndefined();
    expect((await fresh.request('createWebRtcTransport', { direction: 'send' })).ok).toBe(true);
    fresh.close();
    bob.close();
  });

  it('a peer held by no signalling socket, or another role for the same peer id, is not replaced', async () => {
    const holder = await TestSignallingClient.connect(service.port);
    expect((await holder.request('join', { token: service.issueToken('rk', 'Bob', 'participant', 'bob').token })).ok).toBe(true);
    const room = service.rooms.get('rk')!;
    // A server-side peer (as a phone leg's caller is).
    const caller = new Peer({ id: 'caller', displayName: 'Caller', role: 'participant', notify: () => undefined });
    room.join(caller);

    const c = await TestSignallingClient.connect(service.port);
    const asCaller = await c.request('join', { token: service.issueToken('rk', 'Mallory', 'participant', 'caller').token });
    expect(asCaller.error?.code).toBe('ERR_ALREADY_JOINED');
    expect(room.peers.get('caller')).toBe(caller);
    const asObserver = await c.request('join', { token: service.issueToken('rk', 'Bob', 'observer', 'bob').token });
    expect(asObserver.error?.code).toBe('ERR_ALREADY_JOINED');
    expect(holder.ws.readyState).toBe(holder.ws.OPEN);
    expect(room.peers.get('bob')?.role).toBe('participant');
    c.close();
    holder.close();
  });
});
