/**
 * A real 3-node nats-server JetStream cluster on loopback for tests, with the deployment's own
 * users and permissions (a copy of deploy/nats/dfd-auth.conf, included; passwords from the
 * servers' environment as in production). Each node: its own client and route ports, store
 * directory and server name; routes to the other two, authenticated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { freePort } from '../../events/NatsServerProcess.js';

const repo = path.resolve(import.meta.dirname, '..', '..');

function binary(): string {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server']) if (fs.existsSync(p)) return p;
  return 'nats-server';
}

export interface ClusterNode {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
}

export class NatsCluster {
  readonly nodes: ClusterNode[];
  readonly passwords: { service: string; worker: string; reader: string };
  readonly #dir: string;

  private constructor(nodes: ClusterNode[], passwords: NatsCluster['passwords'], dir: string) {
    this.nodes = nodes;
    this.passwords = passwords;
    this.#dir = dir;
  }

  /** Starts the three nodes and resolves once every one accepts the service user and JetStream answers. */
  static async start(size = 3): Promise<NatsCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-nats-cluster-'));
    // A letter first: nats-server parses an environment value that starts like a number (12e45...) as one.
    const pw = (): string => `p${randomBytes(12).toString('hex')}`;
    const passwords = { service: pw(), worker: pw(), reader: pw() };
    const route = pw();
    fs.copyFileSync(path.join(repo, 'deploy', 'nats', 'dfd-auth.conf'), path.join(dir, 'dfd-auth.conf'));
    const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort() })));
    const nodes: ClusterNode[] = ports.map((p, i) => {
      const name = `n${i + 1}`;
      const routes = ports.filter((_, j) => j !== i).map((q) => `nats-route://route:${route}@127.0.0.1:${q.cluster}`);
      const conf = [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${p.client}`,
        `jetstream { store_dir: "${path.join(dir, name)}", max_memory_store: 64MB, max_file_store: 2GB }`,
        `cluster { name: dfd-test, listen: 127.0.0.1:${p.cluster}, authorization { user: route, password: "${route}" }, routes: [${routes.map((r) => `"${r}"`).join(', ')}] }`,
        // nats-server 2.9 resolves every include against the config's own folder, absolute paths too.
        'include "./dfd-auth.conf"',
      ].join('\n');
      const file = path.join(dir, `${name}.conf`);
      fs.writeFileSync(file, conf, { mode: 0o600 });
      const child = spawn(binary(), ['-c', file], {
        env: { ...process.env, DFD_NATS_SERVICE_PASSWORD: passwords.service, DFD_NATS_WORKER_PASSWORD: passwords.worker, DFD_NATS_READER_PASSWORD: passwords.reader },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      child.once('exit', (code, signal) => {
        if (code !== null && code !== 0) process.stderr.write(`nats-server ${name} exited ${code ?? signal}: ${err}\n`);
      });
      return { name, url: `nats://127.0.0.1:${p.client}`, port: p.client, child };
    });
    const cluster = new NatsCluster(nodes, passwords, dir);
    try {
      await cluster.#ready();
    } catch (e) {
      await cluster.close();
      throw e;
    }
    return cluster;
  }

  /** Every node's client URL. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** SIGKILL one node; resolves when it has exited. */
  async kill(name: string): Promise<void> {
    const { child } = this.node(name);
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGKILL');
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.name)));
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  async #ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const n of this.nodes) {
      for (;;) {
        try {
          const nc = await connect({ servers: n.url, user: 'service', pass: this.passwords.service, reconnect: false, timeout: 1000 });
          try {
            // JetStream answers only once the meta group has a leader, i.e. the routes are up.
            await (await nc.jetstreamManager()).getAccountInfo();
            break;
          } finally {
            await nc.close();
          }
        } catch (e) {
          if (Date.now() > deadline) throw new Error(`nats cluster node ${n.name} not ready: ${String(e)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }
}
