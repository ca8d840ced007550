/**
 * The room registry of several service nodes (cluster/RoomPlacement.ts) on a real nats-server:
 * claims, the wrong node's answer, release, a crashed node's rooms freed by the TTL, heartbeats
 * that keep a lease, a lease lost to another node, a malformed value, the directory of every node's
 * rooms as their holders describe them.
 */
import { connect, type KV, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../events/NatsServerProcess.js';
import { RoomPlacement } from './RoomPlacement.js';

let nats: NatsServerProcess;
let nc: NatsConnection;
const opened: RoomPlacement[] = [];

const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> => {
  for (const deadline = Date.now() + ms; !(await cond()); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
};
const code = async (p: Promise<unknown>): Promise<{ code?: string; details?: Record<string, unknown> } | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; details?: Record<string, unknown> },
  );

async function node(id: string, leaseMs = 1000, bucket = 'T_ROOMS'): Promise<RoomPlacement> {
  const p = await RoomPlacement.open(nc, { nodeId: id, url: `http://${id}.example:8080`, leaseMs, bucket });
  opened.push(p);
  return p;
}

beforeAll(async () => {
  nats = await NatsServerProcess.start();
  nc = await connect({ servers: nats.url, ...nats.serviceAuth });
}, 60_000);

afterAll(async () => {
  for (const p of opened) await p.close(false);
  await nc?.close();
  await nats?.close();
});

describe('RoomPlacement (real nats-server, JetStream KV)', () => {
  it('one node claims a room; another is sent to it (ERR_WRONG_NODE with its URL); after release anyone may claim it', async () => {
    const a = await node('a', 5000, 'T_ROOMS_1');
    const b = await node('b', 5000, 'T_ROOMS_1');
    await a.claim('r1');
    await a.claim('r1'); // held already: fine
    expect(await code(b.claim('r1'))).toMatchObject({ code: 'ERR_WRONG_NODE', details: { roomId: 'r1', node: 'a', url: 'http://a.example:8080' } });
    await b.claim('r2');
    expect(await b.holder('r1')).toMatchObject({ node: 'a', url: 'http://a.example:8080' });
    expect(await a.holder('r2')).toMatchObject({ node: 'b' });
    expect(await a.elsewhere('r2')).toMatchObject({ node: 'b' });
    expect(await a.elsewhere('r1')).toBeUndefined();
    await a.release('r1');
    await b.claim('r1');
    expect(b.held.sort()).toEqual(['r1', 'r2']);
    expect(await code(a.claim('r1'))).toMatchObject({ code: 'ERR_WRONG_NODE', details: { node: 'b' } });
  });

  it("a crashed node's rooms are free after the lease; a live node's heartbeats keep its rooms past it", async () => {
    const a = await node('a', 1000, 'T_ROOMS_2');
    const b = await node('b', 1000, 'T_ROOMS_2');
    const kv: KV = await nc.jetstream().views.kv('T_ROOMS_2');
    await a.claim('live');
    await b.claim('crashed');
    await b.close(false); // no release: as a crash
    const firstRev = (await kv.get('live'))!.revision;
    const crashedAt = Date.now();
    await until('the crashed node\'s room claimable', async () => (await code(a.claim('crashed'))) === undefined);
    const freedAfterMs = Date.now() - crashedAt;
    expect(a.held.sort()).toEqual(['crashed', 'live']);
    // Two heartbeats later (each a new revision), the live room is still a's: nobody else may take it.
    await until('two heartbeats of the live room', async () => (await kv.get('live'))!.revision >= firstRev + 2);
    const c = await node('c', 1000, 'T_ROOMS_2');
    expect(await code(c.claim('live'))).toMatchObject({ code: 'ERR_WRONG_NODE', details: { node: 'a' } });
    process.stdout.write(`${JSON.stringify({ test: 'room-placement', leaseMs: 1000, crashedRoomFreeAfterMs: freedAfterMs })}\n`);
  });

  it("a node that lost a room to another (missed heartbeats) says so ('lost'); a malformed lease blocks its room (retryable) until it expires", async () => {
    const a = await node('a', 1000, 'T_ROOMS_3');
    const b = await node('b', 1000, 'T_ROOMS_3');
    const kv: KV = await nc.jetstream().views.kv('T_ROOMS_3');
    await a.claim('r');
    const lost = new Promise<string>((resolve) => a.once('lost', (roomId, holder) => resolve(`${roomId}:${holder?.node}`)));
    // As if a's lease had run out while it was cut off, and b had taken the room meanwhile.
    await kv.delete('r');
    await b.claim('r');
    expect(await lost).toBe('r:b');
    expect(a.held).toEqual([]);
    await kv.put('junk', new TextEncoder().encode('{"node": 5}'));
    expect(await code(b.claim('junk'))).toMatchObject({ code: 'ERR_ROOM_REGISTRY', details: { roomId: 'junk', retryInMs: 1000 } });
    expect(await b.holder('junk')).toBeUndefined();
    await until('the malformed lease expired', async () => (await code(b.claim('junk'))) === undefined);
  });

  it("every node's directory lists every room as its holder describes it; a released room leaves it, a crashed node's after the lease; a malformed description is not listed", async () => {
    const a = await node('a', 1000, 'T_ROOMS_5');
    const b = await node('b', 1000, 'T_ROOMS_5');
    const kv: KV = await nc.jetstream().views.kv('T_ROOMS_5');
    const seen: string[] = [];
    b.on('directory', (roomId, lease) => seen.push(`${roomId}:${lease ? `${lease.node}/${lease.room?.participants.length ?? '-'}` : 'gone'}`));
    await b.watch();
    await a.claim('r1');
    await a.describe('r1', { tenant: 'acme', callId: 'c-1', startedAt: new Date().toISOString(), participants: [{ peerId: 'alice', displayName: 'Alice' }] });
    await until('b listing r1 with alice', () => b.directory().get('r1')?.room?.participants[0]?.peerId === 'alice');
    expect(b.directory().get('r1')).toMatchObject({ node: 'a', url: 'http://a.example:8080', room: { tenant: 'acme', callId: 'c-1' } });
    // Someone joins: the next description reaches b; heartbeats keep the description in the lease.
    await a.describe('r1', { tenant: 'acme', callId: 'c-1', startedAt: new Date().toISOString(), participants: [{ peerId: 'alice', displayName: 'Alice' }, { peerId: 'bob', displayName: 'Bob' }] });
    await until('b listing bob', () => b.directory().get('r1')?.room?.participants.length === 2);
    const rev = (await kv.get('r1'))!.revision;
    await until('a heartbeat', async () => (await kv.get('r1'))!.revision > rev);
    expect(b.directory().get('r1')?.room?.participants.length).toBe(2);
    // A room not held is not described.
    await a.describe('not-held', { tenant: 'acme', callId: 'c-2', startedAt: new Date().toISOString(), participants: [] });
    expect(await kv.get('not-held')).toBeNull();
    // Released: gone at once.
    await a.release('r1');
    await until('r1 gone from b', () => !b.directory().has('r1'));
    // A crashed holder: its lease stops being rewritten and leaves the directory after the lease.
    const c = await node('c', 1000, 'T_ROOMS_5');
    await c.claim('r2');
    await c.describe('r2', { tenant: 'acme', callId: 'c-3', startedAt: new Date().toISOString(), participants: [] });
    await until('b listing r2', () => b.directory().has('r2'));
    await c.close(false);
    await until('r2 gone from b after the lease', () => !b.directory().has('r2'));
    // A malformed description (a peer id that is not an id) makes the whole lease invalid: not listed.
    await kv.put('r3', new TextEncoder().encode(JSON.stringify({ node: 'x', url: 'http://x.example', at: new Date().toISOString(), room: { tenant: 'acme', callId: 'c', startedAt: new Date().toISOString(), participants: [{ peerId: '../etc', displayName: 'x' }] } })));
    await kv.put('r4', new TextEncoder().encode(JSON.stringify({ node: 'x', url: 'http://x.example', at: new Date().toISOString() })));
    await until('b listing r4', () => b.directory().has('r4'));
    expect(b.directory().has('r3')).toBe(false);
    expect(seen).toContain('r1:a/1');
    expect(seen).toContain('r1:a/2');
    expect(seen).toContain('r1:gone');
    expect(seen).toContain('r2:gone');
  });

  it('answers ERR_ROOM_REGISTRY (retryable) when NATS cannot be reached, not ERR_WRONG_NODE', async () => {
    const own = await connect({ servers: nats.url, ...nats.serviceAuth });
    const p = await RoomPlacement.open(own, { nodeId: 'a', url: 'http://a.example:8080', leaseMs: 1000, bucket: 'T_ROOMS_4', timeoutMs: 1000 });
    opened.push(p);
    await own.close();
    expect(await code(p.claim('r'))).toMatchObject({ code: 'ERR_ROOM_REGISTRY', details: { roomId: 'r' } });
  });

  it('keeps its rooms while the registry cannot be read (NATS or JetStream unavailable): only another node\'s lease makes a room lost', async () => {
    const own = await connect({ servers: nats.url, ...nats.serviceAuth });
    const p = await RoomPlacement.open(own, { nodeId: 'a', url: 'http://a.example:8080', leaseMs: 1000, bucket: 'T_ROOMS_6', timeoutMs: 500 });
    opened.push(p);
    await p.claim('r');
    const lost: string[] = [];
    p.on('lost', (roomId) => lost.push(roomId));
    const kv: KV = await nc.jetstream().views.kv('T_ROOMS_6');
    const rev = (await kv.get('r'))!.revision;
    await own.close();
    // Several heartbeats fail (every 333 ms) while the connection is gone.
    await new Promise((r) => setTimeout(r, 1500));
    expect(lost).toEqual([]);
    expect(p.held).toEqual(['r']);
    expect((await kv.get('r'))?.revision ?? rev).toBe(rev);
  });

  it('refuses a missing node id or URL with ERR_CONFIG', async () => {
    await expect(RoomPlacement.open(nc, { nodeId: '', url: 'http://x:1' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(RoomPlacement.open(nc, { nodeId: 'x', url: 'ftp://x' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });
});
