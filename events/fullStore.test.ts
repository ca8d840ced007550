/**
 * Fault: a full disk under the JetStream store (docs/reliability.md, "Faults injected into real processes").
 *
 * The disk here is full by quota, not by ENOSPC: the embedded nats-server runs with a tiny
 * `maxFileStore` (its JetStream file-storage limit, 1 MiB), and a ballast stream, standing for
 * whatever else filled the volume, takes most of it. The bus's events fill the rest while it goes
 * on publishing; from then on the server refuses every audit write with "insufficient resources"
 * (JetStream API error 10023), as it does at its storage limit. (A real ENOSPC is another mode:
 * nats-server 2.9 then disables JetStream until it is restarted; see deploy/nats/README.md.)
 * Space is freed by deleting the ballast stream, as an operator would clean the volume up.
 *
 * What the product must do: the process (and its nats-server) stays up; publish() neither throws
 * nor blocks; live core-NATS subscribers receive every event, stored or not; each audit record the
 * store refused is counted (dfd_audit_write_failures_total, EventBus.auditStatus); once space is
 * freed new events are stored again, and what was stored of the call is one chain that verifies.
 * Waits are conditions with deadlines; the recovery time is printed (`fault full-store: ...`), not asserted.
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registry } from '../kernel/metrics.js';
import { verifyBundle } from './AuditLog.js';
import { EventBus, type AuditStatus } from './EventBus.js';
import { makeEvent, type DfdEvent } from './schema.js';

const ROOM = 'fullroom';
const STORE_BYTES = 1024 * 1024;
const BALLAST_CHUNK = 32 * 1024;
/** Left free for the bus's events once the ballast is in: room for about 80 of them. */
const FREE_BYTES = 64 * 1024;

const base = { roomId: ROOM, peerId: 'alice', displayName: 'Alice', models: [{ id: 'aasist-l', version: '1' }] };
const score = (i: number): DfdEvent =>
  makeEvent('score', { ...base, seq: i }, { detector: 'voice-antispoof', pFake: (i % 100) / 100, evidence: 4, windowSeq: i, queueMs: 1, inferenceMs: 20 });

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((s, v) => s + v.value, 0);
}

/** Still running (signal 0 only checks). */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('EventBus when the JetStream store is full', () => {
  let bus: EventBus | undefined;
  let raw: NatsConnection | undefined;
  afterEach(async () => {
    await raw?.close();
    await bus?.close();
  });

  it('keeps the process up and live delivery going, counts the audit records refused, and stores a verifiable chain again once space is freed', { timeout: 180_000 }, async () => {
    // No byte limit on the audit stream (a stream's limit must fit in the server's); the server's limit is what fills.
    bus = await EventBus.connect({ audit: { maxBytes: -1 }, embedded: { maxFileStore: STORE_BYTES } });
    const b = bus;
    const server = b.server;
    if (!server) throw new Error('no embedded server');
    const serverPid = server.pid;

    // The ballast: another writer that took all but FREE_BYTES of the store.
    raw = await connect({ servers: server.url, ...server.serviceAuth });
    const jsm = await raw.jetstreamManager();
    await jsm.streams.add({ name: 'BALLAST', subjects: ['ballast.>'], storage: StorageType.File });
    const js = raw.jetstream();
    const chunk = new Uint8Array(BALLAST_CHUNK);
    for (let i = 0; i < Math.floor((STORE_BYTES - FREE_BYTES) / BALLAST_CHUNK); i++) await js.publish(`ballast.${i}`, chunk);

    const live = new Set<string>();
    b.subscribe({ roomId: ROOM }, (e) => {
      live.add(e.id);
    });
    await b.connection.flush();
    const transitions: { storing: boolean; at: number }[] = [];
    b.on('audit', (s: AuditStatus) => transitions.push({ storing: s.storing, at: performance.now() }));
    const failuresBefore = await metricValue('dfd_audit_write_failures_total', { reason: 'store-full' });

    // The service keeps publishing throughout: 5 events every 5 ms.
    const sent: string[] = [];
    let threw = 0;
    let notAccepted = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        for (let k = 0; k < 5; k++) {
          const ev = score(sent.length);
          try {
            const r = b.publish(ev);
            if (r.accepted) sent.push(ev.id);
            else notAccepted++;
          } catch {
            threw++;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    let freedAt = Number.NaN;
    let afterRecovery = Number.NaN;
    try {
      // The store fills up and starts refusing.
      await vi.waitFor(() => expect(b.auditStatus.storing).toBe(false), { timeout: 60_000, interval: 20 });
      const fullAt = sent.length;
      // While it is full, 200 more events are published and every one reaches the live subscriber.
      await vi.waitFor(() => expect(sent.length).toBeGreaterThanOrEqual(fullAt + 200), { timeout: 60_000, interval: 20 });
      const duringFull = sent.slice(fullAt, fullAt + 200);
      await vi.waitFor(() => expect(duringFull.filter((id) => !live.has(id))).toEqual([]), { timeout: 60_000, interval: 20 });
      expect(b.auditStatus).toMatchObject({ storing: false, lastFailure: { reason: 'store-full' } });
      expect(b.auditStatus.writeFailures).toBeGreaterThanOrEqual(200);
      expect(b.connected).toBe(true);
      expect(server.pid).toBe(serverPid);
      expect(alive(serverPid)).toBe(true);

      // Space is freed: the ballast goes.
      freedAt = performance.now();
      await jsm.streams.delete('BALLAST');
      await vi.waitFor(() => expect(transitions.at(-1)?.storing).toBe(true), { timeout: 60_000, interval: 20 });
      afterRecovery = sent.length;
      await vi.waitFor(() => expect(sent.length).toBeGreaterThanOrEqual(afterRecovery + 50), { timeout: 60_000, interval: 20 });
    } finally {
      producing = false;
      await producer;
    }
    const recoveredAt = transitions.findLast((t) => t.storing)?.at ?? Number.NaN;
    expect(await b.flush(60_000)).toBe(true);
    await vi.waitFor(() => expect(sent.filter((id) => !live.has(id))).toEqual([]), { timeout: 60_000, interval: 20 });

    // publish() never threw, never refused (the queue never filled), and nothing was dropped.
    expect(threw).toBe(0);
    expect(notAccepted).toBe(0);
    const { auditWriteFailures, dropped, published } = b.stats;
    expect(dropped).toBe(0);
    expect((await metricValue('dfd_audit_write_failures_total', { reason: 'store-full' })) - failuresBefore).toBe(auditWriteFailures);
    expect(b.auditStatus).toMatchObject({ storing: true, writeFailures: auditWriteFailures });
    // One episode: full, then storing again.
    expect(transitions.map((t) => t.storing)).toEqual([false, true]);

    // What was stored is one chain that verifies; every event is either stored or counted.
    const bundle = await b.exportBundle(ROOM);
    const stored = new Set(bundle.records.map((r) => r.id));
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: published });
    expect(stored.size + auditWriteFailures).toBe(sent.length);
    // Events published after the store took records again are all stored.
    expect(sent.slice(afterRecovery).filter((id) => !stored.has(id))).toEqual([]);
    expect(sent.length - afterRecovery).toBeGreaterThanOrEqual(50);
    expect(server.pid).toBe(serverPid);
    expect(alive(serverPid)).toBe(true);

    // Recovery time, reported (docs/reliability.md), not asserted.
    console.log(
      `fault full-store: ${auditWriteFailures} of ${sent.length} audit records refused while the store was full, all ${sent.length} events delivered live, none dropped; ` +
        `first record stored again ${Math.round(recoveredAt - freedAt)} ms after space was freed; the ${bundle.records.length} stored records verify as one chain`,
    );
  });
});
