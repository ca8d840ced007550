import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setLogLevel, type LogLevel } from '../kernel/log.js';
import { registry } from '../kernel/metrics.js';
import { NatsServerProcess, type NatsAuth, type NatsServerProcessOptions } from './NatsServerProcess.js';

async function restartsCounted(): Promise<number> {
  const m = registry.getSingleMetric('dfd_nats_server_restarts_total');
  const values = m ? (await m.get()).values : [];
  return values.filter((v) => v.labels['reason'] === 'died').reduce((s, v) => s + v.value, 0);
}

/** The first line a NATS server sends on a new connection. */
function info(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString('latin1'));
    });
    s.once('error', reject);
  });
}

describe('NatsServerProcess', () => {
  let server: NatsServerProcess | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('runs JetStream on a loopback port and restarts it, same port, after it dies', async () => {
    server = await NatsServerProcess.start({ restartBackoffMinMs: 50 });
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const first = JSON.parse((await info(server.port)).slice(5)) as { jetstream?: boolean };
    expect(first.jetstream).toBe(true);
    const before = await restartsCounted();
    const pid = server.pid;
    const ready = new Promise<void>((r) => server?.once('ready', () => r()));
    process.kill(pid ?? 0, 'SIGKILL');
    await ready;
    expect(server.pid).not.toBe(pid);
    expect(await info(server.port)).toMatch(/^INFO /);
    expect((await restartsCounted()) - before).toBe(1);
  });

  it('runs in its own process group, and after stopSupervising() an exit is expected: no restart', async () => {
    server = await NatsServerProcess.start({ restartBackoffMinMs: 20 });
    const pid = server.pid ?? 0;
    // Field 5 of /proc/PID/stat is the process group: the server leads its own, so a signal to the service's group misses it.
    const pgid = (p: number): number => Number(fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]);
    expect(pgid(pid)).toBe(pid);
    expect(pgid(pid)).not.toBe(pgid(process.pid));
    const before = await restartsCounted();
    let died = 0;
    server.on('died', () => died++);
    server.stopSupervising();
    const exited = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (server?.pid === undefined) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    process.kill(pid, 'SIGTERM');
    await exited;
    // 'died' (and the restart it schedules) would have been emitted in the same exit handler.
    expect(died).toBe(0);
    await server.close();
    expect(server.pid).toBeUndefined();
    expect((await restartsCounted()) - before).toBe(0);
  });

  it('close() stops the server for good and removes its temporary store', async () => {
    server = await NatsServerProcess.start();
    const { port, storeDir } = server;
    await server.close();
    await expect(info(port)).rejects.toThrow();
    expect(fs.existsSync(storeDir)).toBe(false);
    await expect(server.restart()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('fails start with a typed error when the binary is missing', async () => {
    await expect(NatsServerProcess.start({ binary: '/nonexistent/nats-server' })).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('requires its token when one is configured', async () => {
    server = await NatsServerProcess.start({ token: 'tok-0123456789abcdef' });
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    await expect(connect({ servers: server.url, token: 'tok-wrong-wrong-wrong', reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    expect(server.serviceAuth).toEqual({ token: 'tok-0123456789abcdef' });
    const nc = await connect({ servers: server.url, ...server.serviceAuth, reconnect: false });
    await nc.close();
  });

  it('always requires authentication: a generated service password, owner-only config file, the same across restarts', async () => {
    server = await NatsServerProcess.start({ restartBackoffMinMs: 50 });
    const auth = server.serviceAuth;
    expect(auth).toEqual({ user: 'service', pass: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) as unknown });
    expect(server.readerAuth).toBeUndefined();
    const conf = path.join(server.storeDir, 'dfd-nats-server.conf');
    expect(fs.statSync(conf).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(conf, 'utf8')).not.toMatch(/"reader"/);

    const refused = { code: 'AUTHORIZATION_VIOLATION' };
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toMatchObject(refused);
    await expect(connect({ servers: server.url, user: 'service', pass: 'not-the-password-0123', reconnect: false })).rejects.toMatchObject(refused);
    // No reader user without a reader password, whatever password is tried.
    await expect(connect({ servers: server.url, user: 'reader', pass: 'pass' in auth ? auth.pass : '', reconnect: false })).rejects.toMatchObject(refused);
    const connectsWith = async (a: NatsAuth): Promise<void> => {
      const nc = await connect({ servers: server?.url ?? '', ...a, reconnect: false });
      await nc.flush();
      await nc.close();
    };
    await connectsWith(auth);

    // Another server generates another password.
    const other = await NatsServerProcess.start();
    try {
      expect(other.serviceAuth).not.toEqual(auth);
      await expect(connect({ servers: other.url, ...auth, reconnect: false })).rejects.toMatchObject(refused);
    } finally {
      await other.close();
    }

    // Restarted by its supervisor after a crash, and on request: the same credentials still work.
    const ready = new Promise<void>((r) => server?.once('ready', () => r()));
    process.kill(server.pid ?? 0, 'SIGKILL');
    await ready;
    expect(server.serviceAuth).toEqual(auth);
    await connectsWith(auth);
    await server.restart();
    await connectsWith(auth);
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toMatchObject(refused);
  });

  it('gives the reader user subscribe on <prefix>.> and _INBOX.> only, and no publish outside _INBOX.>', async () => {
    server = await NatsServerProcess.start({ subjectPrefix: 'acme.v2', readerPassword: 'reader-pw-0123456789' });
    expect(server.readerAuth).toEqual({ user: 'reader', pass: 'reader-pw-0123456789' });
    await expect(connect({ servers: server.url, user: 'reader', pass: 'reader-pw-wrong-00000', reconnect: false })).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
    const service = await connect({ servers: server.url, ...server.serviceAuth, reconnect: false });
    const reader = await connect({ servers: server.url, ...(server.readerAuth ?? { token: '' }), reconnect: false });
    try {
      const denied: string[] = [];
      void (async () => {
        for await (const st of reader.status()) if (st.permissionContext) denied.push(`${st.permissionContext.operation} ${st.permissionContext.subject}`);
      })();
      const got: string[] = [];
      reader.subscribe('acme.v2.>', { callback: (e, m) => got.push(e ? `error ${e.message}` : `${m.subject} ${m.string()}`) });
      // A denied subscription is closed with the error (its callback gets it, no message).
      reader.subscribe('other.>', { callback: (e, m) => void (e ? undefined : got.push(`${m.subject} ${m.string()}`)) });
      const serviceGot: string[] = [];
      for (const subject of ['acme.v2.>', 'dfd.v1.>', 'other.>', '$JS.API.>']) service.subscribe(subject, { callback: (_e, m) => serviceGot.push(m.subject) });
      await service.flush();
      // Forged events, an event on another prefix, a JetStream API call (purging the audit stream).
      for (const subject of ['acme.v2.room1.alice.verdict', 'dfd.v1.room1.alice.verdict', '$JS.API.STREAM.PURGE.DFD_AUDIT']) reader.publish(subject, 'forged');
      await reader.flush();
      service.publish('acme.v2.room1.alice.verdict', 'real');
      service.publish('other.subject', 'x');
      await service.flush();
      await until(() => got.includes('acme.v2.room1.alice.verdict real') && denied.length >= 4, 'the real event at the reader and four denials');
      expect(got).toEqual(['acme.v2.room1.alice.verdict real']);
      expect(denied.sort()).toEqual([
        'publish $JS.API.STREAM.PURGE.DFD_AUDIT',
        'publish acme.v2.room1.alice.verdict',
        'publish dfd.v1.room1.alice.verdict',
        'subscription other.>',
      ]);
      // Nothing the reader published reached anyone; the service's own messages did.
      expect(serviceGot.sort()).toEqual(['acme.v2.room1.alice.verdict', 'other.subject']);
    } finally {
      await reader.close();
      await service.close();
    }
  });

  it('refuses, with ERR_CONFIG and before starting anything, options that would break its config file', async () => {
    const bad: Partial<NatsServerProcessOptions>[] = [
      { token: 'tok"}\nauthorization: {}' },
      { token: 'with space' },
      { pass: 'pw\\x', user: 'svc' },
      { user: 'svc' },
      { user: 'a b', pass: 'password-0123' },
      { user: 'reader', pass: 'password-0123' },
      { readerPassword: 'line\nbreak' },
      { readerPassword: '$2a$10$notreallybcrypt' },
      { readerPassword: 'quote"d' },
      { readerPassword: 'reader-pw-0123', token: 'tok-0123456789abcdef' },
      { host: '127.0.0.1"\nport: 1' },
      { storeDir: path.join(os.tmpdir(), 'dfd"nats') },
      { subjectPrefix: 'dfd.>' },
      { maxFileStore: Number.NaN },
    ];
    for (const options of bad) {
      await expect(NatsServerProcess.start(options), JSON.stringify(options)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    }
    expect(fs.existsSync(path.join(os.tmpdir(), 'dfd"nats'))).toBe(false);
    // The error names the option, never its value.
    const err = await NatsServerProcess.start({ readerPassword: 'secret value' }).catch((e: unknown) => e);
    expect(JSON.stringify(err)).not.toContain('secret value');
    expect(String((err as Error).message)).not.toContain('secret value');
  });
});

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A live process (not a zombie) with this pid. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(') ') + 2, stat.lastIndexOf(') ') + 3));
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Log lines this process writes while the test runs (tests run at LOG_LEVEL=error otherwise). */
function captureLogs(): { lines(): { level?: string; msg?: string; [k: string]: unknown }[]; restore(): void } {
  const written: string[] = [];
  const spies = [process.stdout, process.stderr].map((s) =>
    vi.spyOn(s, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }),
  );
  setLogLevel('info');
  return {
    lines: () => written.flatMap((w) => w.split('\n')).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as { level?: string; msg?: string }] : [])),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
      setLogLevel((process.env['LOG_LEVEL'] as LogLevel | undefined) ?? 'error');
    },
  };
}

describe('NatsServerProcess after the service died without stopping it', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    // Every step runs, even after one fails: a server left running would hold its port and store.
    const failures: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
  });

  function storeDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-nats-orphan-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  async function start(options: Parameters<typeof NatsServerProcess.start>[0]): Promise<NatsServerProcess> {
    const s = await NatsServerProcess.start(options);
    cleanups.push(() => s.close());
    return s;
  }

  /** A service stand-in in another Node process (test/helpers/natsServerChild.ts) running a server on `dir`. */
  async function serviceChild(dir: string, mode?: 'orphan-on-death'): Promise<{ child: ChildProcess; natsServerPid: number; exited: Promise<void> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/natsServerChild.ts', dir, ...(mode ? [mode] : [])], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const natsServerPid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no server pid within 30 s; stderr: ${err}`)), 30_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        const m = /\{"natsServerPid":(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code, signal) => reject(new Error(`service stand-in exited (${code ?? signal}); stderr: ${err}`)));
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      // A server this test left running: only if it is still that nats-server.
      const cmd = fs.existsSync(`/proc/${natsServerPid}/cmdline`) ? fs.readFileSync(`/proc/${natsServerPid}/cmdline`, 'utf8') : '';
      if (running(natsServerPid) && cmd.includes('nats-server') && cmd.includes(dir)) process.kill(natsServerPid, 'SIGKILL');
    });
    return { child, natsServerPid, exited };
  }

  it('stops the orphaned server of a killed service at the next start, then serves on the same store', async () => {
    const dir = storeDir();
    const pidFile = path.join(dir, 'dfd-nats-server.pid');
    // Without the parent-death signal, as where setpriv is missing: the server outlives its service.
    const { child, natsServerPid: orphan, exited } = await serviceChild(dir, 'orphan-on-death');
    expect(fs.readFileSync(pidFile, 'utf8').split('\n')[0]).toBe(String(orphan));
    child.kill('SIGKILL');
    await exited;
    expect(running(orphan)).toBe(true);

    const logs = captureLogs();
    let server: NatsServerProcess;
    try {
      server = await start({ storeDir: dir });
    } finally {
      logs.restore();
    }
    expect(running(orphan)).toBe(false);
    expect(server.reapedOrphan).toEqual({ pid: orphan, signal: 'SIGTERM' });
    expect(logs.lines().filter((l) => l.msg === 'reaped orphaned nats-server from a previous run')).toEqual([expect.objectContaining({ level: 'warn', pid: orphan })]);
    expect(server.pid).not.toBe(orphan);
    expect(fs.readFileSync(pidFile, 'utf8').split('\n')[0]).toBe(String(server.pid));
    // It serves, JetStream included, on the store the orphan held.
    const nc = await connect({ servers: server.url, ...server.serviceAuth, reconnect: false });
    const jsm = await nc.jetstreamManager();
    expect((await jsm.getAccountInfo()).api.errors).toBe(0);
    await nc.close();
    await server.close();
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('kills an orphan that does not stop on SIGTERM once killTimeoutMs has passed', async () => {
    const dir = storeDir();
    const { child, natsServerPid: orphan, exited } = await serviceChild(dir, 'orphan-on-death');
    child.kill('SIGKILL');
    await exited;
    // A stopped process leaves SIGTERM pending; only SIGKILL ends it.
    process.kill(orphan, 'SIGSTOP');
    const server = await start({ storeDir: dir, killTimeoutMs: 300 });
    expect(server.reapedOrphan).toEqual({ pid: orphan, signal: 'SIGKILL' });
    expect(running(orphan)).toBe(false);
    expect(await info(server.port)).toMatch(/^INFO /);
  });

  it('exits on its own when the service that started it is killed (parent-death signal)', async () => {
    const dir = storeDir();
    const { child, natsServerPid, exited } = await serviceChild(dir);
    child.kill('SIGKILL');
    await exited;
    await until(() => !running(natsServerPid), 'the server to exit after its parent died');
    // Its pid file is left behind; the next start finds the pid gone and just removes it.
    expect(fs.existsSync(path.join(dir, 'dfd-nats-server.pid'))).toBe(true);
    const logs = captureLogs();
    let server: NatsServerProcess;
    try {
      server = await start({ storeDir: dir });
    } finally {
      logs.restore();
    }
    expect(server.reapedOrphan).toBeUndefined();
    expect(logs.lines().filter((l) => l.msg === 'removed a stale nats-server pid file')).toEqual([expect.objectContaining({ level: 'info', pid: natsServerPid })]);
    expect(await info(server.port)).toMatch(/^INFO /);
  });

  it('never signals a process that is not this store\u2019s nats-server, whatever the pid file says', async () => {
    const dir = storeDir();
    const pidFile = path.join(dir, 'dfd-nats-server.pid');
    // An unrelated program that got the pid, and the nats-server of another store.
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    cleanups.push(() => void sleeper.kill('SIGKILL'));
    const other = await start({});
    for (const pid of [sleeper.pid ?? 0, other.pid ?? 0]) {
      // The recorded service pid is not its parent, as for a real orphan.
      fs.writeFileSync(pidFile, `${pid}\n999999999\n`);
      const server = await start({ storeDir: dir });
      expect(server.reapedOrphan).toBeUndefined();
      expect(running(pid)).toBe(true);
      expect(await info(server.port)).toMatch(/^INFO /);
      await server.close();
    }
    expect(sleeper.exitCode).toBeNull();
    expect(sleeper.signalCode).toBeNull();
    expect(await info(other.port)).toMatch(/^INFO /);
  });

  it('refuses a store whose server still belongs to a running service, and leaves that server alone', async () => {
    const dir = storeDir();
    const first = await start({ storeDir: dir });
    await expect(start({ storeDir: dir })).rejects.toMatchObject({ code: 'ERR_CONFIG', details: { pid: first.pid, servicePid: process.pid } });
    expect(running(first.pid ?? 0)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'dfd-nats-server.pid'), 'utf8').split('\n')[0]).toBe(String(first.pid));
    expect(await info(first.port)).toMatch(/^INFO /);
  });
});
