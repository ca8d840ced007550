import fs from 'node:fs';
import net from 'node:net';
import { connect } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { registry } from '../src/metrics.js';
import { NatsServerProcess } from './NatsServerProcess.js';

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
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow();
    const nc = await connect({ servers: server.url, token: 'tok-0123456789abcdef', reconnect: false });
    await nc.close();
  });
});
