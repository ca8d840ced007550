/**
 * Operator actions forwarded between service nodes (cluster/ActionRelay.ts) on a real nats-server:
 * the result comes back, the serving node's typed error comes back with its code and details, a node
 * that is not there is ERR_NODE_UNREACHABLE with its URL, and malformed messages on a node's subject
 * are answered ERR_ACTION_MESSAGE without reaching the handler.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../events/NatsServerProcess.js';
import { ACTION_VERSION, decodeActionReply, type ActionRequest } from '../events/actionWire.js';
import { DfdError } from '../kernel/errors.js';
import { ActionRelay, actionSubject } from './ActionRelay.js';

let nats: NatsServerProcess;
let nc: NatsConnection;
const relays: ActionRelay[] = [];

beforeAll(async () => {
  nats = await NatsServerProcess.start();
  nc = await connect({ servers: nats.url, ...nats.serviceAuth });
}, 60_000);

afterAll(async () => {
  for (const r of relays) await r.close();
  await nc?.close();
  await nats?.close();
});

const relay = (nodeId: string, timeoutMs = 5000): ActionRelay => {
  const r = new ActionRelay(nc, { subjectPrefix: 'dfd.v1', nodeId, timeoutMs });
  relays.push(r);
  return r;
};
const decision = (peerId: string): ActionRequest => ({ v: ACTION_VERSION, action: 'decision', roomId: 'r1', peerId, operator: 'ops', tenant: 'acme', body: { decision: 'confirm', note: 'checked' } });

describe('ActionRelay (real nats-server)', () => {
  it("runs an action on the serving node and returns its result or its typed error; a node that is not there is ERR_NODE_UNREACHABLE", async () => {
    const handled: ActionRequest[] = [];
    // A node id with a dot and a colon: still one subject token.
    relay('host.a:8080').serve(async (r) => {
      handled.push(r);
      if (r.peerId === 'nobody') throw new DfdError('ERR_PEER_NOT_FOUND', 'not in this call', { peerId: r.peerId });
      return { ok: true, peer: r.peerId };
    });
    const b = relay('b');
    expect(await b.forward({ node: 'host.a:8080', url: 'http://a.example' }, decision('alice'))).toEqual({ ok: true, peer: 'alice' });
    expect(handled[0]).toEqual(decision('alice'));
    await expect(b.forward({ node: 'host.a:8080', url: 'http://a.example' }, decision('nobody'))).rejects.toMatchObject({
      code: 'ERR_PEER_NOT_FOUND',
      status: 404,
      message: 'peer not found: not in this call',
      details: { peerId: 'nobody' },
    });
    await expect(b.forward({ node: 'gone', url: 'http://gone.example' }, decision('alice'))).rejects.toMatchObject({ code: 'ERR_NODE_UNREACHABLE', retryable: true, details: { node: 'gone', url: 'http://gone.example', roomId: 'r1' } });
    expect(actionSubject('dfd.v1', 'host.a:8080')).toMatch(/^dfd\.v1_action\.v1\.[A-Za-z0-9_-]+$/);
  });

  it('answers malformed or foreign messages with ERR_ACTION_MESSAGE; the handler never sees them', async () => {
    let calls = 0;
    relay('c').serve(async () => {
      calls++;
      return {};
    });
    const subject = actionSubject('dfd.v1', 'c');
    const bad = [
      'not json',
      JSON.stringify({ v: 2, action: 'decision', roomId: 'r', peerId: 'p', operator: 'o', body: { decision: 'confirm' } }),
      JSON.stringify({ ...decision('p'), action: 'erase' }),
      JSON.stringify({ ...decision('p'), roomId: '../../x' }),
      JSON.stringify({ ...decision('p'), body: { decision: 'maybe' } }),
      JSON.stringify({ ...decision('p'), tenant: 'Not A Tenant!' }),
      'x'.repeat(70_000),
    ];
    for (const m of bad) {
      const reply = decodeActionReply((await nc.request(subject, new TextEncoder().encode(m), { timeout: 5000 })).data);
      expect(reply, m.slice(0, 60)).toMatchObject({ v: 1, error: { code: 'ERR_ACTION_MESSAGE' } });
    }
    expect(calls).toBe(0);
    // A malformed reply is refused the same way on the forwarding side.
    const fake = nc.subscribe(actionSubject('dfd.v1', 'liar'), { callback: (_e, m) => m.respond(new TextEncoder().encode('{"v":1,"result":5}')) });
    await expect(relay('d').forward({ node: 'liar', url: 'http://liar.example' }, decision('p'))).rejects.toMatchObject({ code: 'ERR_ACTION_MESSAGE' });
    fake.unsubscribe();
  });
});
