import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ShutdownController, type SignalSource, type Stoppable } from './Shutdown.js';

/** A service whose close() the test resolves or rejects; records the call order. */
function fakeService(): Stoppable & { calls: string[]; finish(): void; fail(): void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const closed = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const calls: string[] = [];
  return {
    calls,
    beginShutdown: () => calls.push('beginShutdown'),
    close: () => {
      calls.push('close');
      return closed;
    },
    finish: () => resolve(),
    fail: () => reject(new Error('boom')),
  };
}

function controller(timeoutMs = 60_000) {
  const source = new EventEmitter();
  let onExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (onExit = r));
  const codes: number[] = [];
  const c = new ShutdownController({
    timeoutMs,
    source: source as SignalSource,
    exit: (code) => {
      codes.push(code);
      onExit(code);
    },
  }).install();
  return { c, source, exited, codes };
}

describe('ShutdownController', () => {
  it('the first signal begins the shutdown synchronously and exits 0 once close() is done', async () => {
    const { c, source, exited, codes } = controller();
    const svc = fakeService();
    c.attach(svc);
    source.emit('SIGTERM');
    expect(svc.calls).toEqual(['beginShutdown', 'close']);
    expect(c.signal).toBe('SIGTERM');
    expect(codes).toEqual([]);
    svc.finish();
    expect(await exited).toBe(0);
    c.uninstall();
  });

  it('a second signal exits at once with 128 + its number', async () => {
    const { c, source, exited, codes } = controller();
    const svc = fakeService();
    c.attach(svc);
    source.emit('SIGINT');
    source.emit('SIGTERM');
    expect(await exited).toBe(128 + 15);
    svc.finish();
    await new Promise((r) => setImmediate(r));
    expect(codes).toEqual([143]);
    c.uninstall();
  });

  it('exits 1 when the shutdown takes longer than timeoutMs, or when close() fails', async () => {
    const slow = controller(30);
    slow.c.attach(fakeService());
    slow.source.emit('SIGTERM');
    expect(await slow.exited).toBe(1);
    slow.c.uninstall();

    const failing = controller();
    const svc = fakeService();
    failing.c.attach(svc);
    failing.source.emit('SIGHUP');
    svc.fail();
    expect(await failing.exited).toBe(1);
    failing.c.uninstall();
  });

  it('a signal during start-up stops the service as soon as it is attached', async () => {
    const { c, source, exited } = controller();
    source.emit('SIGTERM');
    const svc = fakeService();
    expect(svc.calls).toEqual([]);
    c.attach(svc);
    expect(svc.calls).toEqual(['beginShutdown', 'close']);
    svc.finish();
    expect(await exited).toBe(0);
    c.uninstall();
  });
});
