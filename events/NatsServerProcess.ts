/**
 * Starts and supervises a local nats-server with JetStream on a loopback port.
 * Used when no external NATS URL is configured. The port stays the same across restarts so
 * clients reconnect to the same URL; the JetStream store directory survives restarts.
 *
 * The server runs in its own process group, so a signal sent to the service's group
 * (Ctrl-C in a terminal, `kill -- -PGID`) reaches only the service, which then stops the
 * server last, after the event bus has flushed into it. `stopSupervising()` (called when the
 * service starts shutting down) makes any exit from then on expected: no warning, no restart.
 *
 * A service that dies without stopping it (SIGKILL, the OOM killer, a crash, a second Ctrl-C)
 * must not leave the server running on its port and JetStream store:
 * - the kernel sends the server SIGTERM when its parent dies (`exitWithParent`: the
 *   parent-death signal, set by util-linux `setpriv --pdeathsig` before it execs nats-server;
 *   nats-server has no option of its own for this);
 * - a pid file in the store directory (`dfd-nats-server.pid`: the server's pid, then the
 *   service's) lives as long as the server. At start, a server it names that is still running
 *   for this store (its /proc cmdline: the nats-server binary with this store's config file)
 *   and no longer a child of the service that started it is an orphan: it is stopped (SIGTERM,
 *   SIGKILL after `killTimeoutMs`) before the new one starts. A pid that is gone, or now
 *   belongs to another program, only removes the file: nothing else is ever signalled.
 *
 * Every client authenticates. The server's config file (mode 0600, in the store directory) has
 * either the configured `token`, or users: `service` (the event bus: full permissions; its
 * password is `pass`, or generated at start from the CSPRNG and kept across the server's
 * restarts) and, when `readerPassword` is set, `reader`, which may subscribe to
 * `<subjectPrefix>.>` and `_INBOX.>` and publish only to `_INBOX.>`: an external dashboard or
 * consumer that reads the events and can neither forge one nor touch JetStream. A value that
 * would not survive being written into that file is refused with ERR_CONFIG.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge } from '../kernel/metrics.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { assertSubjectPrefix, DEFAULT_SUBJECT_PREFIX } from './schema.js';

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
  /** Client auth token: the one credential the server accepts (no users, so no `reader`). Empty: users. */
  token: string;
  /** User name and password of the `service` user (full permissions); both empty: `service` with a generated password. */
  user: string;
  pass: string;
  /** Password of the read-only `reader` user; empty: no such user. Needs users (no `token`). */
  readerPassword: string;
  /** Subject prefix of the events: `reader` may subscribe to `<subjectPrefix>.>`. */
  subjectPrefix: string;
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
  /** Grace period between SIGTERM and SIGKILL on close()/restart() and for an orphan reaped at start. */
  killTimeoutMs: number;
  /**
   * The kernel stops the server (SIGTERM) when the process that started it dies, through
   * util-linux `setpriv --pdeathsig` where it is available (Linux). Start the server from the
   * main thread: the signal follows the thread that spawned it.
   */
  exitWithParent: boolean;
}

export const defaultNatsServerProcessOptions: NatsServerProcessOptions = {
  binary: '',
  host: '127.0.0.1',
  port: 0,
  storeDir: '',
  token: '',
  user: '',
  pass: '',
  readerPassword: '',
  subjectPrefix: DEFAULT_SUBJECT_PREFIX,
  maxMemoryStore: 64 * 1024 * 1024,
  maxFileStore: 1024 * 1024 * 1024,
  startTimeoutMs: 10_000,
  restartBackoffMinMs: 200,
  restartBackoffMaxMs: 10_000,
  maxRestarts: 20,
  killTimeoutMs: 5_000,
  exitWithParent: true,
};

/** An orphaned server from a previous run that start() stopped before starting its own. */
export interface ReapedOrphan {
  pid: number;
  /** SIGKILL when SIGTERM did not stop it within killTimeoutMs. */
  signal: 'SIGTERM' | 'SIGKILL';
}

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

const CONFIG_FILE = 'dfd-nats-server.conf';
const PID_FILE = 'dfd-nats-server.pid';

/** The user the event bus connects as when no token is configured. */
export const SERVICE_USER = 'service';
/** The read-only user (see `readerPassword`). */
export const READER_USER = 'reader';

/** Credentials a client passes to nats.js `connect()` (and EventBus.connect): user and password, or a token. */
export type NatsAuth = { user: string; pass: string } | { token: string };

/** User names: letters, digits and `._@-`. */
const USER_RE = /^[A-Za-z0-9._@-]{1,128}$/;
/**
 * Passwords and tokens: printable ASCII without blanks, quotes or backslashes (they are written
 * into a quoted string of the config file), not starting with `$` (nats-server takes a password
 * that starts with `$2` for a bcrypt hash).
 */
const SECRET_RE = /^[\x21-\x7e]{1,256}$/;
const SECRET_BAD = /["'\\`]/;
/** Host: an IP address or a host name. */
const HOST_RE = /^[A-Za-z0-9.:-]{1,253}$/;

function configError(what: string, details: Record<string, unknown> = {}): DfdError {
  return new DfdError('ERR_CONFIG', `embedded nats-server: ${what}`, details);
}

/** Refuses options that would break (or change the meaning of) the generated config file. */
function validateOptions(o: NatsServerProcessOptions): void {
  const secret = (name: string, v: string): void => {
    // The value itself is never put into the error.
    if (v && (!SECRET_RE.test(v) || SECRET_BAD.test(v) || v.startsWith('$'))) {
      throw configError(`${name} may only hold printable ASCII without blanks, quotes or backslashes, at most 256 characters, and may not start with $`, { option: name });
    }
  };
  secret('token', o.token);
  secret('pass', o.pass);
  secret('readerPassword', o.readerPassword);
  if (o.user && !USER_RE.test(o.user)) throw configError('user may only hold letters, digits and ._@- (at most 128)', { option: 'user' });
  if (Boolean(o.user) !== Boolean(o.pass)) throw configError('user and pass go together', { option: o.user ? 'pass' : 'user' });
  if (o.token && o.user) throw configError('a token and a user exclude each other', { option: 'token' });
  if (o.token && o.readerPassword) throw configError('the reader user needs user/password authentication: leave the token empty', { option: 'readerPassword' });
  if (o.user === READER_USER) throw configError(`the service user cannot be named ${READER_USER}`, { option: 'user' });
  if (!HOST_RE.test(o.host)) throw configError('host must be an IP address or a host name', { option: 'host' });
  // Control characters, quotes and backslashes would need escapes the config parser may read differently.
  if (/[\p{Cc}"\\]/u.test(o.storeDir)) throw configError('storeDir may not hold control characters, quotes or backslashes', { option: 'storeDir' });
  if (!Number.isSafeInteger(o.port) || o.port < 0 || o.port > 65535) throw configError('port must be 0..65535', { option: 'port' });
  for (const k of ['maxMemoryStore', 'maxFileStore'] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw configError(`${k} must be a positive integer`, { option: k });
  }
  assertSubjectPrefix(o.subjectPrefix);
}

/** A password from the CSPRNG: 192 bits, base64url (safe in the config file). */
function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The binary to run: the configured one, the Debian package's, then PATH; undefined when none is executable. */
function resolveBinary(b: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  const candidates = b ? (b.includes('/') ? [b] : dirs.map((d) => path.join(d, b))) : ['/usr/sbin/nats-server', '/usr/bin/nats-server', ...dirs.map((d) => path.join(d, 'nats-server'))];
  return candidates.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

let parentDeathWrapper: Promise<string | undefined> | undefined;

/** util-linux setpriv when it can set a parent-death signal (`setpriv --pdeathsig TERM -- cmd…`), probed once. */
export function findParentDeathWrapper(): Promise<string | undefined> {
  parentDeathWrapper ??= new Promise((resolve) => {
    const bin = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) : undefined;
    if (!bin) {
      resolve(undefined);
      return;
    }
    execFile(bin, ['--pdeathsig', 'TERM', '--', 'true'], { timeout: 5_000 }, (err) => resolve(err ? undefined : bin));
  });
  return parentDeathWrapper;
}

/** What /proc says about a running process; undefined when it is gone (or a zombie) or procfs cannot tell. */
interface ProcInfo {
  ppid: number;
  /** Clock ticks after boot: with the pid, names one process for good. */
  startTime: string;
  argv: string[];
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state, ppid, … starttime (field 22 of the line).
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return { ppid: Number(f[1]), startTime: f[19] ?? '', argv };
  } catch {
    return undefined;
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
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

/**
 * Stops a process that is not our child: SIGTERM, then SIGKILL after graceMs. Each signal goes
 * only to the same process (pid and start time), never to one that reused the pid.
 */
async function terminate(pid: number, startTime: string, graceMs: number): Promise<'SIGTERM' | 'SIGKILL'> {
  const running = (): boolean => procInfo(pid)?.startTime === startTime;
  const gone = async (): Promise<boolean> => {
    const deadline = Date.now() + graceMs;
    while (running()) {
      if (Date.now() >= deadline) return false;
      await sleep(20);
    }
    return true;
  };
  const send = (signal: NodeJS.Signals): void => {
    if (!running()) return;
    try {
      process.kill(pid, signal);
    } catch (e) {
      if (errno(e) === 'ESRCH') return;
      throw new DfdError('ERR_INTERNAL', 'cannot stop an orphaned nats-server', { pid }, { cause: e });
    }
  };
  send('SIGTERM');
  if (await gone()) return 'SIGTERM';
  send('SIGKILL');
  if (await gone()) return 'SIGKILL';
  throw new DfdError('ERR_INTERNAL', 'an orphaned nats-server did not exit', { pid, timeoutMs: graceMs });
}

export class NatsServerProcess extends TypedEmitter<NatsServerProcessEvents> {
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
  #binary = '';
  /** setpriv, when the server is started with a parent-death signal. */
  #parentDeathWrapper: string | undefined;
  #pidWritten: number | undefined;
  #reapedOrphan: ReapedOrphan | undefined;
  /** What the service connects with; fixed for this instance, so that restarts keep it. */
  readonly #serviceAuth: NatsAuth;

  /** Throws DfdError ERR_CONFIG on options that cannot go into the config file. */
  constructor(options: Partial<NatsServerProcessOptions> = {}) {
    super();
    this.options = { ...defaultNatsServerProcessOptions, ...options };
    validateOptions(this.options);
    const o = this.options;
    this.#serviceAuth = o.token ? { token: o.token } : { user: o.user || SERVICE_USER, pass: o.pass || generatePassword() };
  }

  /** Starts a supervised server and waits until it accepts connections. ERR_CONFIG on invalid options (nothing started). */
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

  /** Credentials of the `service` user (or the token): `connect({ servers: s.url, ...s.serviceAuth })`. */
  get serviceAuth(): NatsAuth {
    return { ...this.#serviceAuth };
  }

  /** Credentials of the read-only `reader` user; undefined without `readerPassword`. */
  get readerAuth(): NatsAuth | undefined {
    return this.options.readerPassword && !this.options.token ? { user: READER_USER, pass: this.options.readerPassword } : undefined;
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

  /** The orphaned server of a previous run on this store that start() stopped, if there was one. */
  get reapedOrphan(): ReapedOrphan | undefined {
    return this.#reapedOrphan;
  }

  async #init(): Promise<void> {
    const o = this.options;
    const binary = resolveBinary(o.binary);
    if (!binary) throw new DfdError('ERR_CONFIG', 'cannot start nats-server: binary not found', { binary: o.binary || 'nats-server' });
    this.#binary = binary;
    if (o.exitWithParent) {
      this.#parentDeathWrapper = await findParentDeathWrapper();
      if (!this.#parentDeathWrapper) log.info('setpriv --pdeathsig unavailable: an orphaned nats-server is stopped at the next start instead');
    }
    if (o.storeDir) {
      // Absolute: the pid file check matches the config file's path in the server's command line.
      this.#storeDir = path.resolve(o.storeDir);
      fs.mkdirSync(this.#storeDir, { recursive: true });
      await this.#reapOrphan();
    } else {
      this.#storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-nats-'));
      this.#ownsStoreDir = true;
    }
    this.#port = o.port || (await freePort(o.host));
    await this.#spawnAndWait();
  }

  #pidFile(): string {
    return path.join(this.#storeDir, PID_FILE);
  }

  /** Records the running server (its pid, then the service's) for the next start to find if this process dies. */
  #writePidFile(pid: number): void {
    const file = this.#pidFile();
    try {
      fs.writeFileSync(`${file}.tmp`, `${pid}\n${process.pid}\n`, { mode: 0o644 });
      fs.renameSync(`${file}.tmp`, file);
      this.#pidWritten = pid;
    } catch (e) {
      // A safety net only: the server runs without it.
      log.warn('cannot write the nats-server pid file', { file, error: e });
    }
  }

  /** Removes the pid file if it still names the server this instance wrote it for. */
  #removePidFile(): void {
    if (this.#pidWritten === undefined) return;
    const file = this.#pidFile();
    try {
      if (Number(fs.readFileSync(file, 'utf8').split('\n')[0]) === this.#pidWritten) fs.rmSync(file, { force: true });
    } catch (e) {
      if (errno(e) !== 'ENOENT') log.warn('cannot remove the nats-server pid file', { file, error: e });
    }
    this.#pidWritten = undefined;
  }

  /**
   * A previous run on this store died without stopping its server: stop that server, now an
   * orphan, so that it neither holds the port nor competes for the store. Only a process whose
   * command line is this store's nats-server is signalled; a store still in use by a running
   * service (the server is still its child) fails the start instead.
   */
  async #reapOrphan(): Promise<void> {
    const file = this.#pidFile();
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw e;
    }
    const [pid, owner] = text.split('\n').map((l) => Number(l.trim()));
    const drop = (msg: string, fields: Record<string, unknown>): void => {
      fs.rmSync(file, { force: true });
      log.info(msg, { file, ...fields });
    };
    if (!pid || !Number.isSafeInteger(pid) || pid <= 1) return drop('removed an unreadable nats-server pid file', {});
    if (!fs.existsSync('/proc/self/stat')) return drop('removed a nats-server pid file that cannot be checked without /proc', { pid });
    const info = procInfo(pid);
    if (!info) return drop('removed a stale nats-server pid file', { pid });
    const configFile = path.join(this.#storeDir, CONFIG_FILE);
    const argv0 = path.basename(info.argv[0] ?? '');
    const isOurs = (argv0 === path.basename(this.#binary) || argv0 === 'nats-server') && info.argv.includes(configFile);
    if (!isOurs) return drop('removed a nats-server pid file naming another program (left alone)', { pid });
    if (info.ppid === owner) {
      throw new DfdError('ERR_CONFIG', 'the JetStream store is in use by the nats-server of a running service', { storeDir: this.#storeDir, pid, servicePid: owner });
    }
    const signal = await terminate(pid, info.startTime, this.options.killTimeoutMs);
    fs.rmSync(file, { force: true });
    this.#reapedOrphan = { pid, signal };
    log.warn('reaped orphaned nats-server from a previous run', { pid, signal, storeDir: this.#storeDir });
  }

  /** The `authorization` block: the token, or the users and what each may do. */
  #authorization(): string {
    const a = this.#serviceAuth;
    if ('token' in a) return `authorization: { token: ${JSON.stringify(a.token)} }`;
    const q = JSON.stringify;
    // No permissions: the service may publish and subscribe anywhere (events, JetStream API, KV, inboxes).
    const users = [`    { user: ${q(a.user)}, password: ${q(a.pass)} }`];
    const reader = this.readerAuth;
    if (reader && 'user' in reader) {
      const sub = [`${this.options.subjectPrefix}.>`, '_INBOX.>'];
      users.push(`    { user: ${q(reader.user)}, password: ${q(reader.pass)}, permissions: { publish: { allow: ${q(['_INBOX.>'])} }, subscribe: { allow: ${q(sub)} } } }`);
    }
    return ['authorization: {', '  users: [', ...users, '  ]', '}'].join('\n');
  }

  #configFile(): string {
    const o = this.options;
    const file = path.join(this.#storeDir, CONFIG_FILE);
    // JSON strings are valid NATS config strings (the options were checked to need no escapes); monitoring stays off (no http port).
    const conf = [
      `host: ${JSON.stringify(o.host)}`,
      `port: ${this.#port}`,
      `jetstream: { store_dir: ${JSON.stringify(this.#storeDir)}, max_memory_store: ${o.maxMemoryStore}, max_file_store: ${o.maxFileStore} }`,
      this.#authorization(),
      'max_payload: 1048576',
    ].join('\n');
    // Holds passwords: owner-only, also when an older file is replaced.
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, conf + '\n', { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
    return file;
  }

  async #spawnAndWait(): Promise<void> {
    const o = this.options;
    const args = ['-c', this.#configFile()];
    const wrapper = this.#parentDeathWrapper;
    // setpriv sets the parent-death signal and execs nats-server: same pid, nats-server's command line.
    const [cmd, argv] = wrapper ? [wrapper, ['--pdeathsig', 'TERM', '--', this.#binary, ...args]] : [this.#binary, args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.#child = child;
    if (child.pid !== undefined) this.#writePidFile(child.pid);
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
      if (spawnError) throw new DfdError('ERR_CONFIG', 'cannot start nats-server', { binary: this.#binary }, { cause: spawnError });
      if (exited) throw new DfdError('ERR_INTERNAL', 'nats-server exited during start', { stderr: stderrTail.slice(-500) });
      if (await probe(o.host, this.#port, 500)) {
        upGauge.set(1);
        this.#failedRestarts = 0;
        log.info('nats-server ready', { port: this.#port, pid: child.pid });
        this.safeEmit('ready');
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
    this.safeEmit('died', { code, signal });
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const o = this.options;
    if (this.#failedRestarts >= o.maxRestarts) {
      const err = new DfdError('ERR_INTERNAL', 'nats-server restarts exhausted', { restarts: this.#failedRestarts });
      log.error('nats-server restarts exhausted', { restarts: this.#failedRestarts });
      if (this.listenerCount('failed') > 0) this.safeEmit('failed', err);
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
    this.#removePidFile();
    if (this.#ownsStoreDir) fs.rmSync(this.#storeDir, { recursive: true, force: true });
  }
}
