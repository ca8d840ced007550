/**
 * Test and bench helper: starts an analysis worker as a real process, as `npm run worker` does
 * (`node --import tsx src/worker.ts`), pointed at a nats-server, and resolves once it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { NatsServerProcess } from '../../events/NatsServerProcess.js';

const repo = path.resolve(import.meta.dirname, '..', '..');

/** NATS_URL and the service user's credentials of `nats`, as environment variables. */
export function natsEnv(nats: Pick<NatsServerProcess, 'url' | 'serviceAuth'>): Record<string, string> {
  const a = nats.serviceAuth;
  return { NATS_URL: nats.url, ...('user' in a ? { NATS_USER: a.user, NATS_PASS: a.pass } : { NATS_TOKEN: a.token }) };
}

/** A started worker process and the port of its /healthz and /metrics. */
export interface WorkerProcess {
  child: ChildProcess;
  port: number;
}

/**
 * `nats`: a NatsServerProcess (its URL and service user), or undefined when `env` carries NATS_URL and
 * the credentials (a cluster, another user). `env`: more settings (e.g. DFD_MODELS_DIR,
 * DFD_INFERENCE_WORKERS). Its stderr is kept for the error of a failed start.
 */
export async function startWorkerProcess(nats: Pick<NatsServerProcess, 'url' | 'serviceAuth'> | undefined, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'src/worker.ts')], {
    cwd: repo,
    env: { ...process.env, ...(nats ? natsEnv(nats) : {}), DFD_WORKER_PORT: '0', DFD_HOST: '127.0.0.1', DFD_ANALYSIS_NICE: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Analysis worker is running.*:(\d+)\/healthz/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`analysis worker exited (${code}) before serving: ${out}`)));
  });
  return { child, port };
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}
