import { afterEach, describe, expect, it } from 'vitest';
import { SupervisedWorker, type SupervisedWorkerOptions, type WorkerExit } from './SupervisedWorker.js';

type ToProbe = { type: 'echo'; n: number } | { type: 'crash' } | { type: 'close' } | { type: 'deaf' };
type FromProbe = { type: 'ready' | 'echo' | 'deaf'; n?: number; threadId?: number };

const open: SupervisedWorker<ToProbe, FromProbe>[] = [];

function probe(options: Partial<SupervisedWorkerOptions> = {}): SupervisedWorker<ToProbe, FromProbe> {
  const w = new SupervisedWorker<ToProbe, FromProbe>({ name: 'probe', callerUrl: import.meta.url, entry: 'testing/supervisedProbe', closeMessage: { type: 'close' }, ...options });
  open.push(w);
  return w;
}

/** Resolves with the next message of `type`. */
function next(w: SupervisedWorker<ToProbe, FromProbe>, type: FromProbe['type']): Promise<FromProbe> {
  return new Promise((resolve) => {
    const l = (m: FromProbe): void => {
      if (m.type !== type) return;
      w.off('message', l);
      resolve(m);
    };
    w.on('message', l);
  });
}

const nextExit = (w: SupervisedWorker<ToProbe, FromProbe>): Promise<WorkerExit> => new Promise((resolve) => w.once('exited', resolve));
const nextStart = (w: SupervisedWorker<ToProbe, FromProbe>): Promise<number> => new Promise((resolve) => w.once('started', resolve));

afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close()));
});

describe('SupervisedWorker', () => {
  it('starts a thread, carries messages both ways, and closes it by asking it to exit', async () => {
    const w = probe();
    const started = nextStart(w);
    const ready = next(w, 'ready');
    w.start();
    expect(await started).toBe(1);
    await ready;
    expect(w.running).toBe(true);
    const echo = next(w, 'echo');
    expect(w.post({ type: 'echo', n: 7 })).toBe(true);
    expect((await echo).n).toBe(7);
    const exit = nextExit(w);
    expect(await w.close()).toEqual({ forced: false });
    expect(await exit).toEqual({ code: 0, expected: true });
    expect(w.running).toBe(false);
    expect(w.post({ type: 'echo', n: 8 })).toBe(false);
    w.start();
    expect(w.generation).toBe(1); // closed for good
  });

  it('replaces a thread that crashes; the replacement answers and the old one is never heard again', async () => {
    const w = probe();
    const first = next(w, 'ready');
    w.start();
    const a = await first;
    const exit = nextExit(w);
    const restarted = nextStart(w);
    const second = next(w, 'ready');
    w.post({ type: 'crash' });
    expect(await exit).toEqual({ code: 3, expected: false, restartInMs: 0 });
    expect(await restarted).toBe(2);
    const b = await second;
    expect(b.threadId).not.toBe(a.threadId);
    expect(w.restarts).toBe(1);
    const echo = next(w, 'echo');
    w.post({ type: 'echo', n: 1 });
    expect((await echo).threadId).toBe(b.threadId);
  });

  it('backs off while a thread keeps crashing before it is healthy, and starts over once it is', async () => {
    const w = probe({ restartDelayMs: 20 });
    const delays: (number | undefined)[] = [];
    w.on('exited', (e) => delays.push(e.restartInMs));
    w.start();
    for (let i = 0; i < 3; i++) {
      const ready = next(w, 'ready');
      await ready;
      const restarted = nextStart(w);
      w.post({ type: 'crash' });
      await restarted;
    }
    expect(delays).toEqual([20, 100, 200]);
    await next(w, 'ready');
    w.healthy();
    const exit = nextExit(w);
    w.post({ type: 'crash' });
    expect((await exit).restartInMs).toBe(20);
  });

  it('on-demand: a crashed thread stays down until start(); terminate() detaches the thread at once', async () => {
    const w = probe({ restart: 'on-demand' });
    const ready = next(w, 'ready');
    w.start();
    await ready;
    const exit = nextExit(w);
    w.post({ type: 'crash' });
    expect(await exit).toEqual({ code: 3, expected: false });
    expect(w.running).toBe(false);
    expect(w.generation).toBe(1);
    const again = next(w, 'ready');
    w.start();
    await again;
    expect(w.generation).toBe(2);
    const exits: WorkerExit[] = [];
    w.on('exited', (e) => exits.push(e));
    const gone = w.terminate();
    // Detached before the thread is gone: the next start() gets a new thread.
    expect(w.running).toBe(false);
    expect(exits).toEqual([{ code: 1, expected: false }]);
    await gone;
    expect(exits).toHaveLength(1);
  });

  it('close() terminates a thread that ignores the close message, and reports it as forced', async () => {
    const w = probe({ closeTimeoutMs: 50 });
    const ready = next(w, 'ready');
    w.start();
    await ready;
    const deaf = next(w, 'deaf');
    w.post({ type: 'deaf' });
    await deaf;
    expect(await w.close()).toEqual({ forced: true });
    expect(w.running).toBe(false);
  });

  it('close() during a pending restart cancels it', async () => {
    const w = probe({ restartDelayMs: 60_000, maxRestartDelayMs: 60_000 });
    const ready = next(w, 'ready');
    w.start();
    await ready;
    const exit = nextExit(w);
    w.post({ type: 'crash' });
    expect((await exit).restartInMs).toBe(60_000);
    expect(await w.close()).toEqual({ forced: false });
    expect(w.generation).toBe(1);
    expect(w.running).toBe(false);
  });
});
