import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent, type DfdEvent } from './schema.js';
import { signPayload, verifySignature, Webhooks, type DeadLetter } from './Webhooks.js';

const SECRET = 'test-secret-0123456789';
const base = { roomId: 'r1', peerId: 'p1', displayName: 'P', models: [] };
const verdict = (): DfdEvent =>
  makeEvent('verdict', base, { state: 'deepfake-likely', pFake: 0.93, confidence: 0.8, evidence: { speechSeconds: 20, faceFrames: 300 }, quality: {}, dropped: {} });

interface Received {
  body: string;
  signatureOk: boolean;
  attempt: string | undefined;
  eventId: string | undefined;
}

/** A real HTTP receiver; `respond` decides each request's fate (status, or 'hang'). */
async function receiver(respond: (n: number) => number | 'hang'): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = (n: string): string | undefined => req.headers[n] as string | undefined;
      received.push({
        body,
        signatureOk: verifySignature({ secret: SECRET, body, signature: h('x-dfd-signature'), timestamp: h('x-dfd-timestamp') }),
        attempt: h('x-dfd-delivery-attempt'),
        eventId: h('x-dfd-event-id'),
      });
      const r = respond(received.length);
      if (r === 'hang') return; // never answers
      res.writeHead(r, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('webhook signatures', () => {
  it('verifies only the exact body, secret and a fresh timestamp', () => {
    const body = JSON.stringify(verdict());
    const now = 1_800_000_000;
    const sig = signPayload(SECRET, now, body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    const ok = { secret: SECRET, body, signature: sig, timestamp: String(now), nowSec: now + 10 };
    expect(verifySignature(ok)).toBe(true);
    expect(verifySignature({ ...ok, body: body.replace('0.93', '0.03') })).toBe(false);
    expect(verifySignature({ ...ok, secret: 'another-secret-0123456' })).toBe(false);
    expect(verifySignature({ ...ok, timestamp: String(now + 1) })).toBe(false); // timestamp is signed
    expect(verifySignature({ ...ok, nowSec: now + 301 })).toBe(false); // replay after tolerance
    expect(verifySignature({ ...ok, signature: undefined })).toBe(false);
    expect(verifySignature({ ...ok, timestamp: 'abc' })).toBe(false);
  });

  it('rejects unsafe subscriber configuration', () => {
    expect(() => new Webhooks({ subscribers: [{ id: 'a', url: 'ftp://x/', secret: SECRET }] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }) as Error);
    expect(() => new Webhooks({ subscribers: [{ id: 'a', url: 'http://x/', secret: 'short' }] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }) as Error);
    expect(() => new Webhooks({ subscribers: [{ id: 'a.b', url: 'http://x/', secret: SECRET }] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }) as Error);
  });
});

describe('webhook deliveries to real HTTP receivers', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('retries 500, 500, then delivers with a valid signature on every attempt', async () => {
    const rx = await receiver((n) => (n <= 2 ? 500 : 200));
    cleanup.push(rx.close);
    const hooks = new Webhooks({ subscribers: [{ id: 'siem', url: rx.url, secret: SECRET, events: ['verdict'] }], backoffMinMs: 20, backoffMaxMs: 200, timeoutMs: 3000 });
    cleanup.push(() => hooks.close());
    const delivered: { attempts: number; status: number }[] = [];
    hooks.on('delivered', (d) => delivered.push(d));
    const ev = verdict();
    expect(hooks.dispatch(makeEvent('score', base, { detector: 'd', pFake: 0, evidence: 1, windowSeq: 0, queueMs: 0, inferenceMs: 0 }))).toBe(0); // filtered out
    expect(hooks.dispatch(ev)).toBe(1);
    expect(await hooks.idle(15_000)).toBe(true);
    expect(rx.received.map((r) => r.attempt)).toEqual(['1', '2', '3']);
    expect(rx.received.every((r) => r.signatureOk && r.eventId === ev.id)).toBe(true);
    expect(JSON.parse(rx.received[2]!.body)).toEqual(ev);
    expect(delivered).toEqual([{ subscriberId: 'siem', eventId: ev.id, attempts: 3, status: 200 }]);
    expect(hooks.deadLetters()).toEqual([]);
  });

  it('dead-letters a permanent 4xx at once', async () => {
    const rx = await receiver(() => 400);
    cleanup.push(rx.close);
    const hooks = new Webhooks({ subscribers: [{ id: 'bad', url: rx.url, secret: SECRET }], backoffMinMs: 10 });
    cleanup.push(() => hooks.close());
    hooks.dispatch(verdict());
    expect(await hooks.idle(10_000)).toBe(true);
    expect(rx.received).toHaveLength(1);
    expect(hooks.deadLetters()).toMatchObject([{ subscriberId: 'bad', attempts: 1, lastStatus: 400, reason: 'http-status' }]);
  });

  it('a hanging endpoint times out into dead-letter without holding up another subscriber or the caller', async () => {
    const hang = await receiver(() => 'hang');
    const fine = await receiver(() => 204);
    cleanup.push(hang.close, fine.close);
    const hooks = new Webhooks({
      subscribers: [
        { id: 'hanging', url: hang.url, secret: SECRET },
        { id: 'fine', url: fine.url, secret: SECRET },
      ],
      timeoutMs: 1500,
      maxAttempts: 2,
      backoffMinMs: 10,
      maxConcurrency: 2,
      perSubscriberConcurrency: 1,
      maxQueuedPerSubscriber: 3,
    });
    cleanup.push(() => hooks.close());
    const order: string[] = [];
    const dead: DeadLetter[] = [];
    hooks.on('delivered', (d) => order.push(`delivered:${d.subscriberId}`));
    hooks.on('deadLetter', (d) => {
      order.push(`dead:${d.subscriberId}`);
      dead.push(d);
    });
    // dispatch only queues: 5 events x 2 subscribers, 3 queued per subscriber at most.
    const queued = [0, 1, 2, 3, 4].map(() => hooks.dispatch(verdict()));
    expect(queued).toEqual([2, 2, 2, 0, 0]); // the 4th and 5th find both queues full: dropped, counted
    expect(await hooks.idle(30_000)).toBe(true);

    // The fine subscriber got its 3 events before the hanging one's first give-up.
    expect(order.slice(0, 3)).toEqual(['delivered:fine', 'delivered:fine', 'delivered:fine']);
    expect(fine.received).toHaveLength(3);
    expect(fine.received.every((r) => r.signatureOk)).toBe(true);
    expect(dead).toHaveLength(3);
    expect(dead.every((d) => d.subscriberId === 'hanging' && d.reason === 'timeout' && d.attempts === 2 && d.lastStatus === 0)).toBe(true);
    expect(hang.received).toHaveLength(6);
  });
});
