/**
 * Starts and supervises a local nats-server with JetStream on a loopback port.
 * Used when no external NATS URL is configured. The port stays the same across restarts so
 * clients reconnect to the same URL; the JetStream store directory survives restarts.
 *
 * The server runs in its own process group, so a signal sent to the service's group
 * (Ctrl-C in a terminal, `kill -- -PGID`) reaches only the service, which then stops the
 * server last, after the event bus has flushed into it. `stopSupervising()` (called when the
 * service starts shutting down) makes any exit from then on expected: no warning, no restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DfdError } from '../src/errors.js';
import { createLogger } from '../src/log.js';
import { counter, gauge } from '../src/metrics.js';

const log = createLogger('events.nats-server');

export interface NatsServerProcessOptions {
  /** Path of the nats-server binary; empty: /usr/sbin/nats-server, /usr/bin/nats-server, then PATH. */
  binary: string;
  /** Loopback address to listen on. */
  host: string;
  /** Port; 0 picks a free one once (kept across restarts). */
  port: number;
  /** JetStream store directory; empty: a fresh temporary directory removed on close(). */
  storeDir: string;
  /** Optional client auth token (passed with --auth). */
  token: string;
  /** JetStream limits passed in a generated config file. */
  maxMemoryStore: number;
  maxFileStore: number;
  /** How long start() waits for the server to accept connections. */
  startTimeoutMs: number;
  /** Restart backoff after an unexpected exit: min * 2^n, capped. */
  restartBackoffMinMs: number;
  restartBackoffMaxMs: number;
  /** Successive failed restarts before giving up (emits 'failed'). */
  maxRestarts: number;
  /** Grace period between SIGTERM and SIGKILL on close()/restart(). */
  killTimeoutMs: number;
}

export const defaultNatsServerProcessOptions: NatsServerProcessOptions = {
  binary: '',
  host: '127.0.0.1',
  port: 0,
  storeDir: '',
  token: '',
  maxMemoryStore: 64 * 1024 * 1024,
  maxFileStore: 1024 * 1024 * 1024,
  startTimeoutMs: 10_000,
  restartBackoffMinMs: 200,
  restartBackoffMaxMs: 10_000,
  maxRestarts: 20,
  killTimeoutMs: 5_000,
};

export interface NatsServerProcessEvents {
  /** The server accepts connections (after start and after every restart). */
  ready: [];
  /** The process exited unexpectedly; a restart is scheduled. */
  died: [{ code: number | null; signal: string | null }];
  /** Restarts were exhausted. */
  failed: [DfdError];
}

const restartsTotal = counter<'reason'>({
  name: 'dfd_nats_server_restarts_total',
  help: 'Restarts of the embedded nats-server, by reason',
  labelNames: ['reason'],
});
const upGauge = gauge({ name: 'dfd_nats_server_up', help: '1 while the embedded nats-server accepts connections' });

function resolveBinary(b: string): string {
  if (b) return b;
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server']) if (fs.existsSync(p)) return p;
  return 'nats-server';
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server sends its INFO line on a fresh TCP connection. */
function probe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('data', (d) => done(d.toString('latin1').startsWith('INFO ')));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class NatsServerProcess extends EventEmitter<NatsServerProcessEvents> {
  readonly options: NatsServerProcessOptions;
  #child: ChildProcess | undefined;
  #port = 0;
  #storeDir = '';
  #ownsStoreDir = false;
  #closed = false;
  #failedRestarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #intentionalExit = false;
  #supervising = true;

  constructor(options: Partial<NatsServerProcessOptions> = {}) {
    super();
    this.options = { ...defaultNatsServerProcessOptions, ...options };
  }

  /** Starts a supervised server and waits until it accepts connections. */
  static async start(options: Partial<NatsServerProcessOptions> = {}): Promise<NatsServerProcess> {
    const s = new NatsServerProcess(options);
    try {
      await s.#init();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  get url(): string {
    return `nats://${this.options.host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get storeDir(): string {
    return this.#storeDir;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #init(): Promise<void> {
    const o = this.options;
    this.#port = o.port || (await freePort(o.host));
    if (o.storeDir) {
      this.#storeDir = o.storeDir;
      fs.mkdirSync(o.storeDir, { recursive: true });
    } else {
      this.#storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-nats-'));
      this.#ownsStoreDir = true;
    }
    await this.#spawnAndWait();
  }

  #configFile(): string {
    const o = this.options;
    const file = path.join(this.#storeDir, 'dfd-nats-server.conf');
    // JSON strings are valid NATS config strings; monitoring stays off (no http port).
    const conf = [
      `host: ${JSON.stringify(o.host)}`,
      `port: ${this.#port}`,
      `jetstream: { store_dir: ${JSON.stringify(this.#storeDir)}, max_memory_store: ${o.maxMemoryStore}, max_file_store: ${o.maxFileStore} }`,
      o.token ? `authorization: { token: ${JSON.stringify(o.token)} }` : '',
      'max_payload: 1048576',
    ].join('\n');
    fs.writeFileSync(file, conf + '\n', { mode: 0o600 });
    return file;
  }

  async #spawnAndWait(): Promise<void> {
    const o = this.options;
    const child = spawn(resolveBinary(o.binary), ['-c', this.#configFile()], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.#child = child;
    this.#intentionalExit = false;
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString('utf8')).slice(-2000);
    });
    let exited = false;
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    child.once('exit', (code, signal) => {
      exited = true;
      this.#onExit(child, code, signal);
    });
    const deadline = Date.now() + o.startTimeoutMs;
    while (Date.now() < deadline) {
      if (spawnError) throw new DfdError('ERR_CONFIG', 'cannot start nats-server', { binary: resolveBinary(o.binary) }, { cause: spawnError });
      if (exited) throw new DfdError('ERR_INTERNAL', 'nats-server exited during start', { stderr: stderrTail.slice(-500) });
      if (await probe(o.host, this.#port, 500)) {
        upGauge.set(1);
        this.#failedRestarts = 0;
        log.info('nats-server ready', { port: this.#port, pid: child.pid });
        this.emit('ready');
        return;
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new DfdError('ERR_INTERNAL', 'nats-server did not become ready', { timeoutMs: o.startTimeoutMs });
  }

  #onExit(child: ChildProcess, code: number | null, signal: string | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    upGauge.set(0);
    if (this.#closed || this.#intentionalExit) return;
    if (!this.#supervising) {
      log.info('nats-server stopped during shutdown', { code, signal });
      return;
    }
    log.warn('nats-server died', { code, signal });
    this.emit('died', { code, signal });
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const o = this.options;
    if (this.#failedRestarts >= o.maxRestarts) {
      const err = new DfdError('ERR_INTERNAL', 'nats-server restarts exhausted', { restarts: this.#failedRestarts });
      log.error('nats-server restarts exhausted', { restarts: this.#failedRestarts });
      if (this.listenerCount('failed') > 0) this.emit('failed', err);
      return;
    }
    const delay = Math.min(o.restartBackoffMaxMs, o.restartBackoffMinMs * 2 ** this.#failedRestarts);
    this.#failedRestarts++;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#closed || !this.#supervising) return;
      restartsTotal.inc({ reason: 'died' });
      this.#spawnAndWait().catch((e: unknown) => {
        log.warn('nats-server restart failed', { err: e });
        if (!this.#closed && !this.#child) this.#scheduleRestart();
      });
    }, delay);
  }

  async #stopChild(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.#intentionalExit = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.killTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Stops the server and starts it again on the same port and store (for tests and operations).
   * `hard` sends SIGKILL instead of a graceful SIGTERM.
   */
  async restart(opts: { hard?: boolean; downMs?: number } = {}): Promise<void> {
    if (this.#closed) throw new DfdError('ERR_CLOSED');
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#stopChild(opts.hard ? 'SIGKILL' : 'SIGTERM');
    if (opts.downMs) await sleep(opts.downMs);
    restartsTotal.inc({ reason: 'requested' });
    await this.#spawnAndWait();
  }

  /**
   * The service is shutting down: from now on an exit of the server is expected (logged at
   * info, never restarted). close() still stops it. Idempotent.
   */
  stopSupervising(): void {
    this.#supervising = false;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
  }

  /** Kills the process without restarting it and removes a temporary store. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    await this.#stopChild('SIGTERM');
    upGauge.set(0);
    if (this.#ownsStoreDir) fs.rmSync(this.#storeDir, { recursive: true, force: true });
  }
}
