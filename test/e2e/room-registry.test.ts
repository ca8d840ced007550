/**
 * Several service nodes on one NATS (issue 16): two real services (mediasoup, signalling) with
 * DFD_ROOM_REGISTRY=nats share a real nats-server. A room opened on node A is pinned there; a
 * participant whose join reaches node B is answered ERR_WRONG_NODE with A's URL and joins on A; the
 * meeting page in a real Chromium follows it on its own; node B lists A's room and who is in it before
 * anyone spoke; an operator action posted to B is forwarded to A and answered through B;
 * an event reaches a webhook subscribed on both nodes once; when A shuts down its rooms are released
 * and B serves the room, in a call that names the call it continues.
 * A crashed node's rooms (no release) come free after the lease: cluster/RoomPlacement.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../../events/NatsServerProcess.js';
import type { Service } from '../../src/Service.js';
import { freePort } from '../../events/NatsServerProcess.js';
import { launchBrowser } from '../helpers/browser.js';
import { startTestService } from '../helpers/service.js';
import { untilAsyncValue, untilValue } from '../helpers/until.js';
import { TestSignallingClient } from '../helpers/wsClient.js';

describe('room registry: two service nodes on one NATS', () => {
  let nats: NatsServerProcess;
  let a: Service;
  let b: Service;
  const clients: TestSignallingClient[] = [];

  // Each node's public URL is where this test reaches it: the meeting page follows it.
  const node = async (id: string): Promise<Service> => {
    const auth = nats.serviceAuth;
    const port = await freePort();
    return startTestService(
      { port, natsUrl: [nats.url], ...('user' in auth ? { natsUser: auth.user, natsPass: auth.pass } : { natsToken: auth.token }), roomRegistry: 'nats', nodeId: id, publicUrl: `http://127.0.0.1:${port}`, roomLeaseMs: 3000, challenges: false },
      { events: true, analysis: false },
    );
  };
  const urlOf = (s: Service): string => `http://127.0.0.1:${s.port}`;
  const operatorOn = async (s: Service): Promise<Record<string, string>> => {
    const login = await fetch(`${urlOf(s)}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
    return { authorization: `Bearer ${((await login.json()) as { token: string }).token}`, 'content-type': 'application/json' };
  };

  const join = async (s: Service, room: string, peer: string) => {
    const c = await TestSignallingClient.connect(s.port);
    clients.push(c);
    return c.request('join', { token: s.tokens.sign({ room, peer, name: peer, role: 'participant' }, 600) });
  };

  beforeAll(async () => {
    nats = await NatsServerProcess.start({ maxFileStore: 4 * 1024 ** 3 });
    a = await node('node-a');
    b = await node('node-b');
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.ws.close();
    await a?.close();
    await b?.close();
    await nats?.close();
  });

  it("sends a join on the wrong node to the room's node, and moves the room when its node shuts down", async () => {
    expect((await join(a, 'shared', 'alice')).ok).toBe(true);
    const wrong = await join(b, 'shared', 'bob');
    expect(wrong).toMatchObject({ ok: false, error: { code: 'ERR_WRONG_NODE', details: { roomId: 'shared', node: 'node-a', url: urlOf(a) } } });
    expect(b.rooms.get('shared')).toBeUndefined();
    // Following the answer: bob joins on node A, with alice.
    const right = await join(a, 'shared', 'bob');
    expect(right.ok).toBe(true);
    expect((right.data?.['peers'] as { peerId: string }[]).map((p) => p.peerId)).toEqual(['alice']);
    // Other rooms open wherever their first participant arrives.
    expect((await join(b, 'other', 'carol')).ok).toBe(true);
    expect((await join(a, 'other', 'dave')).error).toMatchObject({ code: 'ERR_WRONG_NODE', details: { node: 'node-b' } });
    // Every node lists every room with who is in it, before anyone has spoken (no event yet): node B shows
    // node A's call under A's call id, and which node serves it.
    const auth = await operatorOn(b);
    type Listed = { roomId: string; callId: string; node?: string; nodeUrl?: string; participants: { peerId: string; present: boolean }[] };
    const listed = await untilAsyncValue(
      "node B listing node A's room",
      async () => {
        const r = (await (await fetch(`${urlOf(b)}/v1/rooms`, { headers: auth })).json()) as { rooms: Listed[] };
        const shared = r.rooms.find((x) => x.roomId === 'shared');
        return shared && shared.participants.filter((p) => p.present).length === 2 ? shared : undefined;
      },
      20_000,
    );
    expect(listed).toMatchObject({ node: 'node-a', nodeUrl: urlOf(a), callId: a.registry.openCall('shared')!.callId });
    expect(listed.participants.map((p) => p.peerId).sort()).toEqual(['alice', 'bob']);
    expect(b.rooms.get('shared')).toBeUndefined();
    // An operator on node B acting on a call of node A: the action is forwarded to node A, which runs it
    // (the decision event is A's, for A's call) and answers through B.
    const decision = await fetch(`${urlOf(b)}/v1/rooms/shared/participants/alice/decision`, { method: 'POST', headers: auth, body: JSON.stringify({ decision: 'dismiss', note: 'from node B' }) });
    expect(decision.status).toBe(200);
    expect(await decision.json()).toMatchObject({ type: 'decision', roomId: 'shared', peerId: 'alice', callId: listed.callId, payload: { decision: 'dismiss', operator: 'operator' } });
    // Node A's own checks answer through B: a participant A does not have, a malformed body.
    const unknown = await fetch(`${urlOf(b)}/v1/rooms/shared/participants/nobody/decision`, { method: 'POST', headers: auth, body: JSON.stringify({ decision: 'dismiss' }) });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'ERR_PEER_NOT_FOUND' } });
    const malformed = await fetch(`${urlOf(b)}/v1/rooms/shared/participants/alice/decision`, { method: 'POST', headers: auth, body: JSON.stringify({ decision: 'maybe' }) });
    expect(malformed.status).toBe(400);
    await untilValue('node B seeing the decision', () => (b.registry.openCall('shared')?.participants.get('alice')?.decisions.length ?? 0) > 0, 20_000);
    // A participant who leaves node A's room is shown as gone on node B too (bob's socket is the third).
    clients[2]!.ws.close();
    await untilAsyncValue(
      "node B seeing bob leave node A's room",
      async () => {
        const r = (await (await fetch(`${urlOf(b)}/v1/rooms`, { headers: auth })).json()) as { rooms: Listed[] };
        return r.rooms.find((x) => x.roomId === 'shared')?.participants.find((p) => p.peerId === 'bob')?.present === false;
      },
      20_000,
    );
    // The meeting page opened on node B ends up in the call on node A.
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${urlOf(b)}/meet?room=shared&name=Eve&autojoin=1`);
      await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 30_000 });
      expect(page.url().startsWith(`${urlOf(a)}/meet?room=shared`)).toBe(true);
      expect([...a.rooms.get('shared')!.peers.values()].map((p) => p.displayName)).toContain('Eve');
      expect(b.rooms.get('shared')).toBeUndefined();
    } finally {
      await browser.close();
    }
    // A webhook subscribed on both nodes gets each event once: every node reads every event from NATS, and only
    // the node that published one delivers it.
    const received: string[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push((JSON.parse(body) as { id: string }).id);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      for (const s of [a, b]) s.webhooks.addSubscriber({ id: 'both', url, secret: 'a-long-enough-secret', events: ['decision'] });
      const onA = await fetch(`http://127.0.0.1:${a.port}/v1/rooms/shared/participants/alice/decision`, { method: 'POST', headers: await operatorOn(a), body: JSON.stringify({ decision: 'dismiss' }) });
      expect(onA.status).toBe(200);
      const eventId = ((await onA.json()) as { id: string }).id;
      await untilValue('the decision delivered', () => received.includes(eventId), 20_000);
      // Node B has read the same event from NATS (its call registry shows the decision) with nothing to deliver.
      await untilValue('node B read the decision', () => (b.registry.openCall('shared')?.participants.get('alice')?.decisions.length ?? 0) > 0, 20_000);
      expect(b.webhooks.pending).toBe(0);
      expect(await a.webhooks.idle(10_000)).toBe(true);
      expect(received.filter((x) => x === eventId)).toHaveLength(1);
    } finally {
      receiver.close();
    }
    // Node A shuts down gracefully: its leases are deleted at once, and node B may serve the room.
    await a.close();
    const moved = await join(b, 'shared', 'alice');
    expect(moved.ok).toBe(true);
    // The room moved with people in it: node B's new call says which call it continues (call history too).
    const continued = b.registry.openCall('shared')!;
    expect(continued.remote).toBeUndefined();
    expect(continued.callId).not.toBe(listed.callId);
    expect(continued.continues).toBe(listed.callId);
    expect(b.history?.entry(continued.callId)).toMatchObject({ continues: listed.callId });
    const health = (await (await fetch(`http://127.0.0.1:${b.port}/healthz`)).json()) as { checks?: Record<string, unknown> };
    expect(JSON.stringify(health)).toContain('"node":"node-b"');
  }, 120_000);
});
