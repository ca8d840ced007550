/**
 * End to end: `npm start`'s program (src/main.ts, the real service with an embedded
 * nats-server, two mediasoup workers, the analysis pipeline and challenge-response) holds a
 * live two-person call between two real Chromium participants; then SIGTERM goes to the
 * service's whole process group, as Ctrl-C in a terminal or `kill -- -PGID` does (the
 * harder case: the mediasoup workers get it too). The service must tell both participants,
 * exit 0 within DFD_SHUTDOWN_TIMEOUT_MS, log nothing at level error and restart nothing.
 *
 * Then, in process (real service, embedded nats-server with JetStream, a signalling client):
 * a call live at shutdown ends, its summary (with a verdict that came in after it ended) is
 * written to the DFD_CALLS bucket before the event bus closes, and is in the history after a
 * restart on the same data directory.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, artifactsDir } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { startTestService } from '../helpers/service.js';
import { TestSignallingClient } from '../helpers/wsClient.js';
import { makeEvent } from '../../events/schema.js';
import { setLogLevel, type LogLevel } from '../../kernel/log.js';
import type { Service } from '../../src/Service.js';

const SHUTDOWN_TIMEOUT_MS = 20_000;
const ROOM = 'shutdown-e2e';

interface LogLine {
  level?: string;
  msg?: string;
  component?: string;
  [k: string]: unknown;
}

/** Everything the child writes, line by line, with waits that resolve on output (no polling). */
class ChildOutput {
  readonly lines: string[] = [];
  #partial = '';
  #waiters: (() => void)[] = [];

  constructor(...streams: Readable[]) {
    for (const s of streams) {
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        const parts = (this.#partial + chunk).split('\n');
        this.#partial = parts.pop() ?? '';
        this.lines.push(...parts);
        for (const w of this.#waiters.splice(0)) w();
      });
    }
  }

  json(): LogLine[] {
    return this.lines.flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as LogLine];
      } catch {
        return [];
      }
    });
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no output line matching ${re} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-20).join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

interface Stats {
  inbound: { kind: string; framesDecoded?: number; totalSamplesReceived?: number }[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  child: ChildProcessByStdio<null, Readable, Readable>;
  out: ChildOutput;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  dataDir: string;
}

function startService(): Started {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-shutdown-e2e-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      DFD_PORT: '0',
      DFD_HOST: '127.0.0.1',
      DFD_MEDIASOUP_WORKERS: '2',
      DFD_SIP_PORT: '0',
      DFD_DATA_DIR: dataDir,
      DFD_OPERATOR_PASSWORD: 'test-password',
      DFD_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like a program started from a shell, so the test can signal the whole group.
    detached: true,
  });
  const out = new ChildOutput(child.stdout, child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exited, dataDir };
}

describe('clean shutdown of the service during a live call (src/main.ts, real everything)', () => {
  let browser: Browser;
  const started: Started[] = [];

  beforeAll(async () => {
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.faceY4m });
  });

  afterAll(async () => {
    await browser?.close();
    for (const { child, out, dataDir } of started) {
      if (child.exitCode === null && child.signalCode === null) {
        // A failed run: kill the service's group, and nats-server, which has a group of its own.
        process.kill(-child.pid!, 'SIGKILL');
        for (const l of out.json()) if (l.msg === 'nats-server ready' && typeof l['pid'] === 'number' && alive(l['pid'])) process.kill(l['pid'], 'SIGKILL');
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  // 'group': Ctrl-C in a terminal or `kill -- -PGID` (the mediasoup workers get the signal too);
  // 'process': `kill PID`, a process manager or a container runtime signalling the service alone.
  it.each(['group', 'process'] as const)('SIGTERM to the %s: participants told, exit 0 in time, no error log line, no restart', async (target) => {
    const svc = startService();
    started.push(svc);
    const { child, out, exited } = svc;
    const ready = await out.waitFor(/Health\s+: http:\/\/localhost:\d+\/healthz/, 90_000);
    const base = /(http:\/\/localhost:\d+)\/healthz/.exec(ready)![1]!.replace('localhost', '127.0.0.1');

    const join = async (name: string): Promise<Page> => {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${base}/meet?room=${ROOM}&name=${name}&autojoin=1`);
      await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 30_000 });
      return page;
    };
    const alice = await join('Alice');
    const bob = await join('Bob');
    // A live call: each hears and sees the other (media flows through the SFU, taps feed the pipeline).
    for (const page of [alice, bob]) {
      await page.waitForFunction(
        async () => {
          const m = (window as unknown as { dfdMeeting?: { stats(): Promise<Stats> } }).dfdMeeting;
          const s = m ? await m.stats() : { inbound: [] };
          return s.inbound.some((i) => i.kind === 'audio' && (i.totalSamplesReceived ?? 0) > 48000) && s.inbound.some((i) => i.kind === 'video' && (i.framesDecoded ?? 0) > 10);
        },
        undefined,
        { timeout: 45_000, polling: 500 },
      );
    }
    const health = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
    const supervised = out
      .json()
      .filter((l) => (l.msg === 'worker started' || l.msg === 'nats-server ready') && typeof l['pid'] === 'number')
      .map((l) => l['pid'] as number);
    expect(supervised.length).toBe(3);

    const signalledAt = Date.now();
    process.kill(target === 'group' ? -child.pid! : child.pid!, 'SIGTERM');
    const { code, signal } = await exited;
    const tookMs = Date.now() - signalledAt;

    // Both participants were told, and the page says so (not a bare "connection lost").
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.body.dataset['status'] === 'shutting-down', undefined, { timeout: 5_000 });
      expect(await page.getByTestId('notice').textContent()).toContain('The service is shutting down');
      expect(await page.getByTestId('notice').isVisible()).toBe(true);
    }
    fs.mkdirSync(artifactsDir, { recursive: true });
    await alice.screenshot({ path: path.join(artifactsDir, `meeting-shutdown-${target}.png`) });
    fs.writeFileSync(path.join(artifactsDir, `shutdown-${target}.log`), out.lines.join('\n'));
    await alice.context().close();
    await bob.context().close();

    const logs = out.json();
    const report = JSON.stringify({ code, signal, tookMs, tail: out.lines.slice(-30) }, null, 1);
    expect(code, report).toBe(0);
    expect(signal).toBeNull();
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(logs.filter((l) => l.level === 'error'), report).toEqual([]);
    const from = logs.findIndex((l) => l.msg === 'shutting down');
    expect(from).toBeGreaterThanOrEqual(0);
    const during = logs.slice(from);
    expect(during.filter((l) => /restart|replac|respawn|died|worker started|nats-server ready/i.test(l.msg ?? '')), report).toEqual([]);
    // The event bus flushed: nothing queued was lost on the way out.
    expect(during.filter((l) => /event (dropped|rejected)/.test(l.msg ?? '')), report).toEqual([]);
    // The call ended and its summary was written before the NATS connection closed.
    expect(during.filter((l) => /call summar(y not stored|ies still pending)/.test(l.msg ?? '')), report).toEqual([]);
    expect(during.some((l) => l.msg === 'room closed' && l['reason'] === 'shutdown')).toBe(true);
    expect(during.at(-1)?.msg).toBe('shut down');
    // Nothing it supervised outlives it (mediasoup workers exit on their own once told or signalled).
    const deadline = Date.now() + 5_000;
    while (supervised.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(supervised.filter(alive)).toEqual([]);
  }, 180_000);
});

describe('call summaries at shutdown (real service, embedded NATS with JetStream)', () => {
  const HISTORY_ROOM = 'shutdown-history';
  const services: Service[] = [];
  const dirs: string[] = [];

  afterAll(async () => {
    for (const s of services) await s.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('every open call ends, its summary is stored before the bus closes, and is in the history after a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-shutdown-history-'));
    dirs.push(dataDir);
    const first = await startTestService({ dataDir }, { events: true, analysis: false });
    services.push(first);
    const alice = await TestSignallingClient.connect(first.port);
    expect((await alice.request('join', { token: first.issueToken(HISTORY_ROOM, 'Alice', 'participant', 'alice').token })).ok).toBe(true);
    const callId = first.registry.openCall(HISTORY_ROOM)!.callId;
    // A call with no SFU room behind it (as a late event can open): it must end at shutdown too.
    first.registry.peerJoined('no-room', 'ghost', 'Ghost');
    const orphanId = first.registry.openCall('no-room')!.callId;

    const bus = first.bus!;
    const history = first.history!;
    let atBusClose: { pending: number; ended: boolean[] } | undefined;
    const closeBus = bus.close.bind(bus);
    vi.spyOn(bus, 'close').mockImplementation(() => {
      atBusClose ??= { pending: history.pendingWrites, ended: [callId, orphanId].map((id) => first.registry.call(id)?.endedAt !== undefined) };
      return closeBus();
    });
    const level = (process.env['LOG_LEVEL'] as LogLevel | undefined) ?? 'warn';
    setLogLevel('warn');
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      // As the signal handler does (src/Shutdown.ts): begin at once, then close in order.
      first.beginShutdown();
      expect(first.registry.call(callId)?.endedAt).toBeDefined();
      // The pipeline's last verdict for Alice arrives after her call ended.
      first.publish(
        makeEvent('verdict', { roomId: HISTORY_ROOM, peerId: 'alice', displayName: 'Alice', callId, models: [] }, { state: 'suspicious', pFake: 0.7, confidence: 0.6, evidence: { speechSeconds: 6, faceFrames: 0 }, quality: {}, dropped: {} }),
      );
      await first.close();
    } finally {
      setLogLevel(level);
    }
    const warnings = stderr.mock.calls.map((c) => String(c[0])).filter((l) => /call summar|event dropped/.test(l));
    stderr.mockRestore();
    expect(warnings).toEqual([]);
    // Every call had ended and no summary write was pending when the NATS connection closed.
    expect(atBusClose).toEqual({ pending: 0, ended: [true, true] });
    expect((await alice.closed).code).toBe(1001);

    const second = await startTestService({ dataDir }, { events: true, analysis: false });
    services.push(second);
    expect(second.history!.entry(callId)).toMatchObject({
      callId,
      roomId: HISTORY_ROOM,
      live: false,
      endedAt: expect.any(String),
      participants: [expect.objectContaining({ peerId: 'alice', displayName: 'Alice', finalState: 'suspicious', leftAt: expect.any(String) })],
    });
    expect(second.history!.entry(orphanId)).toMatchObject({ callId: orphanId, live: false, participants: [expect.objectContaining({ peerId: 'ghost' })] });
  }, 60_000);
});
