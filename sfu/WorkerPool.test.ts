import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestService } from '../test/helpers/service.js';
import { TestSignallingClient } from '../test/helpers/wsClient.js';
import { registry } from '../kernel/metrics.js';
import type { Service } from '../src/Service.js';
import { WorkerPool } from './WorkerPool.js';

async function restarts(): Promise<number> {
  const m = await registry.getSingleMetric('dfd_sfu_worker_restarts_total')?.get();
  return m?.values[0]?.value ?? 0;
}

describe('mediasoup worker death', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startTestService({ numWorkers: 1 });
  });
  afterEach(async () => {
    await service.close();
  });

  it('closes the rooms on the dead worker, tells their peers, and new rooms work on a replacement', async () => {
    const before = await restarts();
    const alice = await TestSignallingClient.connect(service.port);
    expect((await alice.request('join', { token: service.issueToken('doomed', 'Alice').token })).ok).toBe(true);
    expect((await alice.request('createWebRtcTransport', { direction: 'send' })).ok).toBe(true);
    const oldWorker = service.pool.slots[0]!.worker;

    const killedAt = performance.now();
    process.kill(oldWorker.pid, 'SIGKILL');

    const note = await alice.waitForNotification('roomClosed');
    expect(note['reason']).toBe('worker-died');
    expect((await alice.closed).code).toBe(4410);
    expect(service.rooms.get('doomed')).toBeUndefined();

    // The pool replaces the worker; a new room lands on it and works.
    const deadline = Date.now() + 10_000;
    while (service.pool.alive() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(service.pool.slots[0]!.worker).not.toBe(oldWorker);
    expect(service.pool.slots[0]!.worker.closed).toBe(false);
    const bob = await TestSignallingClient.connect(service.port);
    expect((await bob.request('join', { token: service.issueToken('fresh', 'Bob').token })).ok).toBe(true);
    expect((await bob.request('createWebRtcTransport', { direction: 'recv' })).ok).toBe(true);
    expect(await restarts()).toBe(before + 1);
    const health = await service.health();
    expect(health.ok).toBe(true);
    // Recovery time, reported (docs/reliability.md), not asserted.
    process.stdout.write(`fault mediasoup-worker-sigkill: a new room served ${Math.round(performance.now() - killedAt)} ms after the kill\n`);
    bob.close();
  });
});

describe('mediasoup worker priority and CPUs', () => {
  it.runIf(process.platform === 'linux')('gives every thread of each worker the configured CPUs and nice value', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const { threadCpus, currentThreadId } = await import('../kernel/threadPriority.js');
    const mine = threadCpus(currentThreadId()!)!;
    const last = mine[mine.length - 1]!;
    const nice = Math.min(19, os.getPriority(process.pid) + 3);
    const pool = await WorkerPool.create({ numWorkers: 1, nice, cpus: [last] });
    try {
      const pid = pool.slots[0]!.worker.pid;
      expect(os.getPriority(pid)).toBe(nice);
      const tasks = fs.readdirSync(`/proc/${pid}/task`);
      expect(tasks.length).toBeGreaterThan(0);
      for (const tid of tasks) {
        const line = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
        expect(line?.split(':')[1]?.trim()).toBe(String(last));
      }
    } finally {
      pool.close();
    }
  });

  // Real time needs root or CAP_SYS_NICE (the set-up contract runs as root); without it the worker runs on at the default.
  it.runIf(process.platform === 'linux')('runs every thread of each worker at the configured real-time policy and priority (DFD_SFU_SCHED), or warns and keeps the default', async () => {
    const fs = await import('node:fs');
    const { processScheduling, setRealtime } = await import('../kernel/threadPriority.js');
    // Whether this machine allows it, tried on a throwaway process.
    const { spawn } = await import('node:child_process');
    const probe = spawn('sleep', ['30'], { stdio: 'ignore' });
    let allowed = true;
    try {
      setRealtime(probe.pid!, 'fifo', 1);
    } catch {
      allowed = false;
    } finally {
      probe.kill();
    }
    const pool = await WorkerPool.create({ numWorkers: 1, sched: 'rr', rtPriority: 7 });
    try {
      const pid = pool.slots[0]!.worker.pid;
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // Fields 40 (rt_priority) and 41 (policy: 2 = SCHED_RR).
        expect([f[37], f[38]], `thread ${tid}`).toEqual(allowed ? ['7', '2'] : ['0', '0']);
      }
      expect(processScheduling(pid)).toEqual(allowed ? { policy: 'rr', rtPriority: 7 } : { policy: 'normal', rtPriority: 0 });
      // The worker still forwards: a router can be made on it.
      expect((await pool.slots[0]!.worker.createRouter({ mediaCodecs: [] })).closed).toBe(false);
    } finally {
      pool.close();
    }
    expect(() => setRealtime(process.pid, 'fifo', 0)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => setRealtime(process.pid, 'deadline' as 'fifo', 10)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});
