/**
 * Several service nodes on one NATS (issue 16): two real services (mediasoup, signalling) with
 * DFD_ROOM_REGISTRY=nats share a real nats-server. A room opened on node A is pinned there; a
 * participant whose join reaches node B is answered ERR_WRONG_NODE with A's URL and joins on A; the
 * meeting page in a real Chromium follows it on its own; an operator action posted to B is sent to A;
 * an event reaches a webhook subscribed on both nodes once; when A shuts down its rooms are released
 * and B serves the room.
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
import { untilValue } from '../helpers/until.js';
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
    // An operator on node B acting on a call of node A is sent to node A (the action is not forwarded).
    const auth = await operatorOn(b);
    const decision = await fetch(`http://127.0.0.1:${b.port}/v1/rooms/shared/participants/alice/decision`, { method: 'POST', headers: auth, body: JSON.stringify({ decision: 'dismiss' }) });
    expect(decision.status).toBe(421);
    expect(await decision.json()).toMatchObject({ error: { code: 'ERR_WRONG_NODE', details: { node: 'node-a', url: urlOf(a) } } });
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
    const health = (await (await fetch(`http://127.0.0.1:${b.port}/healthz`)).json()) as { checks?: Record<string, unknown> };
    expect(JSON.stringify(health)).toContain('"node":"node-b"');
  }, 120_000);
});
