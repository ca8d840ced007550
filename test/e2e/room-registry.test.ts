/**
 * Several service nodes on one NATS (issue 16): two real services (mediasoup, signalling) with
 * DFD_ROOM_REGISTRY=nats share a real nats-server. A room opened on node A is pinned there; a
 * participant whose join reaches node B is answered ERR_WRONG_NODE with A's URL and joins on A; the
 * meeting page in a real Chromium follows it on its own; an operator action posted to B is sent to A;
 * when A shuts down its rooms are released and B serves the room.
 * A crashed node's rooms (no release) come free after the lease: cluster/RoomPlacement.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../../events/NatsServerProcess.js';
import type { Service } from '../../src/Service.js';
import { freePort } from '../../events/NatsServerProcess.js';
import { launchBrowser } from '../helpers/browser.js';
import { startTestService } from '../helpers/service.js';
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
    const login = await fetch(`http://127.0.0.1:${b.port}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
    const auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}`, 'content-type': 'application/json' };
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
    // Node A shuts down gracefully: its leases are deleted at once, and node B may serve the room.
    await a.close();
    const moved = await join(b, 'shared', 'alice');
    expect(moved.ok).toBe(true);
    const health = (await (await fetch(`http://127.0.0.1:${b.port}/healthz`)).json()) as { checks?: Record<string, unknown> };
    expect(JSON.stringify(health)).toContain('"node":"node-b"');
  }, 120_000);
});
