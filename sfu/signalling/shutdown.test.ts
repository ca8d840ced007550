/**
 * Service shutdown as signalling clients see it (real service, real mediasoup worker):
 * joined participants are told, new joins are refused with a typed code, rooms close with
 * reason "shutdown" and the sockets close with 1001. Worker exits from then on are expected.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestService } from '../../test/helpers/service.js';
import { TestSignallingClient } from '../../test/helpers/wsClient.js';
import { registry } from '../../kernel/metrics.js';
import type { Service } from '../../src/Service.js';

async function workerRestarts(): Promise<number> {
  const m = await registry.getSingleMetric('dfd_sfu_worker_restarts_total')?.get();
  return m?.values[0]?.value ?? 0;
}

describe('signalling during shutdown', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startTestService({ numWorkers: 1 });
  });
  afterEach(async () => {
    await service.close();
  });

  it('tells joined participants, refuses joins with ERR_SHUTTING_DOWN, closes rooms and sockets', async () => {
    const alice = await TestSignallingClient.connect(service.port);
    expect((await alice.request('join', { token: service.issueToken('sd', 'Alice').token })).ok).toBe(true);
    const bob = await TestSignallingClient.connect(service.port);
    expect((await bob.request('join', { token: service.issueToken('sd', 'Bob').token })).ok).toBe(true);
    const late = await TestSignallingClient.connect(service.port);

    service.beginShutdown();

    for (const c of [alice, bob]) {
      expect(await c.waitForNotification('serviceShutdown')).toEqual({ reason: 'shutdown', retryable: true });
      expect((await c.waitForNotification('roomClosed'))['reason']).toBe('shutdown');
    }
    const refused = await late.request('join', { token: service.issueToken('sd', 'Carol').token });
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatchObject({ code: 'ERR_SHUTTING_DOWN', retryable: true });
    expect(late.notifications.map((n) => n.method)).toEqual(['serviceShutdown']);
    expect(service.rooms.get('sd')).toBeUndefined();
    expect(service.registry.openCall('sd')).toBeUndefined();
    expect((await alice.closed).code).toBe(1001);
    expect((await bob.closed).code).toBe(1001);

    const token = await fetch(`http://127.0.0.1:${service.port}/v1/demo/token?room=sd&name=Dave`);
    expect(token.status).toBe(503);
    expect(((await token.json()) as { error: { code: string } }).error.code).toBe('ERR_SHUTTING_DOWN');
    const health = await service.health();
    expect(health.ok).toBe(false);
    expect(health.checks['lifecycle']).toEqual({ ok: false, shuttingDown: true });
    late.close();
  });

  it('a mediasoup worker that exits once shutdown began is not replaced and not reported as died', async () => {
    const before = await workerRestarts();
    let died = 0;
    service.pool.on('workerdied', () => died++);
    const worker = service.pool.slots[0]!.worker;
    service.beginShutdown();
    // As a SIGTERM to the service's process group does: the worker gets it too.
    process.kill(worker.pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (!worker.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(worker.closed).toBe(true);
    expect(died).toBe(0);
    expect(service.pool.slots[0]!.worker).toBe(worker);
    expect(service.pool.alive()).toBe(0);
    expect(await workerRestarts()).toBe(before);
  });
});
