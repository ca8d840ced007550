import { connect } from 'nats';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registry } from '../kernel/metrics.js';
import { verifyBundle } from './AuditLog.js';
import { EventBus } from './EventBus.js';
import { makeEvent, type DfdEvent } from './schema.js';

const base = { roomId: 'room1', peerId: 'alice', displayName: 'Alice', models: [{ id: 'aasist-l', version: '1' }] };
const score = (i: number, roomId = 'room1'): DfdEvent =>
  makeEvent('score', { ...base, roomId, seq: i }, { detector: 'voice-antispoof', pFake: (i % 100) / 100, evidence: 4, windowSeq: i, queueMs: 1, inferenceMs: 20 });

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((s, v) => s + v.value, 0);
}

describe('EventBus on a real nats-server', () => {
  let bus: EventBus;
  beforeEach(async () => {
    bus = await EventBus.connect({ ackTimeoutMs: 1000 });
  });
  afterEach(async () => {
    await bus.close();
  });

  it('publishes validated events of every type and delivers them, sealed, to subscribers', async () => {
    const got: DfdEvent[] = [];
    bus.subscribe({ roomId: 'room1' }, (e) => {
      got.push(e);
    });
    const other: DfdEvent[] = [];
    bus.subscribe({ roomId: 'room1', type: 'verdict' }, (e) => {
      other.push(e);
    });
    await bus.connection.flush();
    const publishedBefore = await metricValue('dfd_events_published_total');

    const bad = bus.publish({ ...score(0), payload: { ...score(0).payload, pFake: 2 } } as DfdEvent);
    expect(bad.accepted).toBe(false);
    expect(!bad.accepted && bad.error.code).toBe('ERR_BAD_REQUEST');
    const unsafe = bus.publish(score(0, 'room.1'));
    expect(!unsafe.accepted && unsafe.error.code).toBe('ERR_BAD_REQUEST');

    const events: DfdEvent[] = [
      score(1),
      makeEvent('verdict', base, { state: 'likely-genuine', pFake: 0.1, confidence: 0.8, evidence: { speechSeconds: 9, faceFrames: 0 }, quality: { packetLoss: 0 }, dropped: {} }),
      makeEvent('challenge', base, { challengeId: 'ch1', challengeType: 'read-phrase', modality: 'audio', phase: 'issued' }),
      makeEvent('quality', base, { packetLoss: 0.03, bitrate: 20000, bandwidth: 'WB' }),
      makeEvent('decision', base, { decision: 'dismiss', tagState: 'suspicious', operator: 'op1' }),
    ];
    for (const e of events) expect(bus.publish(e)).toMatchObject({ accepted: true, id: e.id, subject: `dfd.v1.room1.alice.${e.type}` });
    expect(await bus.flush()).toBe(true);
    await vi.waitFor(() => expect(got).toHaveLength(5), { timeout: 5000 });

    expect(got.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(other.map((e) => e.type)).toEqual(['verdict']);
    // Delivered events are the sealed audit records: same content plus call id and chain link.
    for (const [i, e] of got.entries()) {
      expect(e).toMatchObject({ ...events[i], callId: got[0]?.callId, audit: { index: i } });
    }
    expect(bus.stats).toMatchObject({ published: 5, dropped: 0, invalid: 2, buffered: 0 });
    expect((await metricValue('dfd_events_published_total')) - publishedBefore).toBe(5);
  });

  it('rejects malformed messages consumed from NATS at the boundary and counts them', async () => {
    const got: DfdEvent[] = [];
    bus.subscribe({}, (e) => {
      got.push(e);
    });
    await bus.connection.flush();
    const invalidBefore = await metricValue('dfd_events_invalid_total', { direction: 'in' });
    const raw = await connect({ servers: bus.server?.url ?? '', ...bus.server?.serviceAuth });
    const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
    const good = score(5);
    raw.publish('dfd.v1.room1.alice.score', enc('{not json'));
    raw.publish('dfd.v1.room1.alice.score', enc({ ...good, payload: { detector: 'x' } }));
    raw.publish('dfd.v1.room1.mallory.score', enc(good)); // subject does not match the event's peer
    raw.publish('dfd.v1.room1.alice.score', enc(good));
    await raw.flush();
    await raw.close();
    await vi.waitFor(() => expect(got).toHaveLength(1), { timeout: 5000 });
    await vi.waitFor(() => expect(bus.stats.invalid).toBe(3), { timeout: 5000 });
    expect(got[0]?.id).toBe(good.id);
    expect((await metricValue('dfd_events_invalid_total', { direction: 'in' })) - invalidBefore).toBe(3);
  });

  it('authenticates every client: no or wrong credentials are refused; the reader user gets the events, and its forged verdict is denied by the server', async () => {
    await bus.close();
    const readerPassword = 'reader-pw-0123456789';
    bus = await EventBus.connect({ ackTimeoutMs: 1000, embedded: { readerPassword } });
    const url = bus.server?.url ?? '';
    const refused = { code: 'AUTHORIZATION_VIOLATION' };
    await expect(connect({ servers: url, reconnect: false })).rejects.toMatchObject(refused);
    await expect(connect({ servers: url, user: 'service', pass: 'not-the-service-password', reconnect: false })).rejects.toMatchObject(refused);
    await expect(connect({ servers: url, user: 'reader', pass: 'not-the-reader-password', reconnect: false })).rejects.toMatchObject(refused);
    await expect(connect({ servers: url, token: 'a-token-guess-0123456789', reconnect: false })).rejects.toMatchObject(refused);

    const got: DfdEvent[] = [];
    bus.subscribe({ roomId: 'authroom' }, (e) => {
      got.push(e);
    });
    await bus.connection.flush();
    const reader = await connect({ servers: url, user: 'reader', pass: readerPassword, reconnect: false });
    try {
      const denied: string[] = [];
      void (async () => {
        for await (const st of reader.status()) if (st.permissionContext) denied.push(`${st.permissionContext.operation} ${st.permissionContext.subject}`);
      })();
      const readerGot: string[] = [];
      reader.subscribe('dfd.v1.authroom.>', { callback: (e, m) => void (e ? undefined : readerGot.push(m.json<DfdEvent>().id)) });
      await reader.flush();

      // A forged verdict, valid by the schema and on its own subject: the bus would deliver it if the server let it through.
      const verdictPayload = { pFake: 0.02, confidence: 0.99, evidence: { speechSeconds: 30, faceFrames: 0 }, quality: { packetLoss: 0 }, dropped: {} };
      const forged = makeEvent('verdict', { ...base, roomId: 'authroom', peerId: 'mallory' }, { state: 'verified', ...verdictPayload });
      reader.publish('dfd.v1.authroom.mallory.verdict', JSON.stringify(forged));
      await reader.flush();
      await vi.waitFor(() => expect(denied).toEqual(['publish dfd.v1.authroom.mallory.verdict']), { timeout: 10_000 });

      // The service user publishes and consumes as before; the reader receives what it publishes.
      const real = makeEvent('verdict', { ...base, roomId: 'authroom' }, { state: 'likely-genuine', ...verdictPayload });
      expect(bus.publish(real).accepted).toBe(true);
      expect(await bus.flush()).toBe(true);
      await vi.waitFor(
        () => {
          expect(got.map((e) => e.id)).toContain(real.id);
          expect(readerGot).toContain(real.id);
        },
        { timeout: 10_000 },
      );
      // The server processed the forged publish (denied) before the real one was sent: had it passed, it would have arrived first.
      expect(got.map((e) => e.id)).toEqual([real.id]);
      expect(readerGot).toEqual([real.id]);
      expect(bus.stats.invalid).toBe(0);
      const bundle = await bus.exportBundle('authroom');
      expect(bundle.records.map((r) => r.id)).toEqual([real.id]);
      expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 1 });
    } finally {
      await reader.close();
    }
  });

  it('bounds its buffer: overflow drops are counted, critical events evict score events first', async () => {
    await bus.close();
    bus = await EventBus.connect({ maxBuffered: 10 });
    const droppedBefore = await metricValue('dfd_events_dropped_total', { reason: 'buffer-full' });
    const dropped: (string | undefined)[] = [];
    bus.on('dropped', (d) => dropped.push(d.id));
    // Synchronous burst: the pump cannot run in between, so only 10 fit.
    const scores = Array.from({ length: 25 }, (_, i) => score(i, 'burst'));
    const results = scores.map((e) => bus.publish(e));
    expect(results.filter((r) => r.accepted)).toHaveLength(10);
    expect(results.slice(10).every((r) => !r.accepted && r.error.code === 'ERR_QUEUE_FULL')).toBe(true);
    const v = makeEvent('verdict', { ...base, roomId: 'burst' }, { state: 'deepfake-likely', pFake: 0.9, confidence: 0.9, evidence: { speechSeconds: 30, faceFrames: 0 }, quality: {}, dropped: { audioWindows: 15 } });
    expect(bus.publish(v).accepted).toBe(true); // evicts the oldest score
    expect(dropped).toHaveLength(16);
    expect(dropped.at(-1)).toBe(scores[0]?.id);
    expect(await bus.flush()).toBe(true);

    const stored = (await bus.exportBundle('burst')).records.map((r) => r.id);
    expect(stored).toEqual([...scores.slice(1, 10).map((e) => e.id), v.id]);
    expect(stored.length + bus.stats.dropped).toBe(26);
    expect((await metricValue('dfd_events_dropped_total', { reason: 'buffer-full' })) - droppedBefore).toBe(16);
  });

  for (const hard of [false, true]) {
    it(`loses nothing while nats-server is ${hard ? 'killed (SIGKILL)' : 'restarted (SIGTERM)'} mid-stream`, async () => {
      const room = hard ? 'killroom' : 'restartroom';
      const sent: string[] = [];
      let disconnects = 0;
      bus.on('disconnected', () => disconnects++);
      const total = 600;
      // Publish continuously (30 events every 10 ms) while the server goes away and comes back.
      const producer = (async () => {
        while (sent.length < total) {
          for (let k = 0; k < 30 && sent.length < total; k++) {
            const ev = score(sent.length, room);
            bus.publish(ev);
            sent.push(ev.id);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await vi.waitFor(() => expect(sent.length).toBeGreaterThan(150), { timeout: 10_000 });
      const downAt = performance.now();
      await bus.server?.restart({ hard, downMs: 300 });
      await producer;
      expect(await bus.flush(15_000)).toBe(true);
      // Recovery time, reported (docs/reliability.md), not asserted: server down 300 ms, then every buffered event stored.
      process.stdout.write(`fault nats-server-${hard ? 'sigkill' : 'sigterm'}: all ${total} events stored ${Math.round(performance.now() - downAt)} ms after the server went down (down 300 ms)\n`);

      const bundle = await bus.exportBundle(room);
      const stored = new Set(bundle.records.map((r) => r.id));
      const { dropped } = bus.stats;
      expect(disconnects).toBeGreaterThanOrEqual(1);
      expect(stored.size + dropped).toBe(total);
      expect(dropped).toBe(0);
      expect(sent.every((id) => stored.has(id))).toBe(true);
      expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: total });
    });
  }
});
