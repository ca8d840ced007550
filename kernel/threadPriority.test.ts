import os from 'node:os';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isDfdError } from './errors.js';
import { currentThreadId, setThreadPriority, threadCpus, threadPriorityOf, type ThreadPriority } from './threadPriority.js';

/** This thread's nice value, from /proc. */
const currentThreadNice = (): number | undefined => threadPriorityOf(currentThreadId()!)?.nice;
import { startWorker } from './workerThread.js';

interface Probe {
  tid: number;
  nice: number;
  policy: string;
  childNice: number;
  /** Linux policy number: 0 normal, 3 batch, 5 idle. */
  childPolicy: number;
  cpus: number[];
  /** Cpus_allowed_list of the child, as the kernel prints it. */
  childCpus: string;
}

async function probe(priority?: ThreadPriority): Promise<Probe> {
  const w = startWorker(import.meta.url, 'testing/threadNiceProbe', priority === undefined ? {} : { priority });
  try {
    const [msg] = (await once(w, 'message')) as [Probe];
    return msg;
  } finally {
    await w.terminate();
  }
}

describe.runIf(os.platform() === 'linux')('thread priority (Linux)', () => {
  it('a worker started with a nice value runs at it, and so does what it starts; the starting thread keeps its own', async () => {
    const before = currentThreadNice()!;
    expect(before).toBeTypeOf('number');
    const target = Math.min(19, before + 7);
    const r = await probe({ nice: target, policy: 'normal' });
    expect(r.tid).not.toBe(currentThreadId());
    expect(r.tid).not.toBe(process.pid);
    expect([r.nice, r.policy]).toEqual([target, 'normal']);
    expect([r.childNice, r.childPolicy]).toEqual([target, 0]);
    expect(currentThreadNice()).toBe(before);
    expect(os.getPriority(process.pid)).toBe(before);
  });

  it.each([
    ['idle', 5],
    ['batch', 3],
  ] as const)('a worker started with the %s policy runs under it, and so does its child; this thread stays normal', async (policy, number) => {
    const r = await probe({ nice: Math.min(19, currentThreadNice()! + 1), policy });
    expect(r.policy).toBe(policy);
    expect(r.childPolicy).toBe(number);
    expect(threadPriorityOf(currentThreadId()!)?.policy).toBe('normal');
  });

  it('a worker started with CPUs runs on them only, and so does its child; this thread keeps its own', async () => {
    const mine = threadCpus(currentThreadId()!)!;
    const last = mine[mine.length - 1]!;
    const r = await probe({ nice: currentThreadNice()!, policy: 'normal', cpus: [last] });
    expect(r.cpus).toEqual([last]);
    expect(r.childCpus).toBe(String(last));
    expect(threadCpus(currentThreadId()!)).toEqual(mine);
  });

  it("without a priority a worker inherits the starting thread's", async () => {
    const r = await probe();
    expect(r.nice).toBe(currentThreadNice());
    expect(r.policy).toBe('normal');
  });

  it('rejects a nice value outside -20..19 or an unknown policy with ERR_CONFIG and changes nothing', () => {
    const before = threadPriorityOf(currentThreadId()!);
    for (const bad of [{ nice: 20 }, { nice: -21 }, { nice: 1.5 }, { nice: Number.NaN }, { policy: 'fifo' as never }, { cpus: [-1] }, { cpus: [0.5] }]) {
      let err: unknown;
      try {
        setThreadPriority(bad);
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err) && err.code === 'ERR_CONFIG').toBe(true);
    }
    expect(threadPriorityOf(currentThreadId()!)).toEqual(before);
  });
});
