/**
 * A real Prometheus server for tests (Debian's, kept under .deps/promtool by `scripts/bootstrap.sh --test`): it
 * scrapes the given targets every second and evaluates rule files every second, with its own temporary storage,
 * listening on 127.0.0.1 only. Nothing is installed or left running: `close()` stops it and removes its files,
 * and a parent-death signal (util-linux setpriv, where present) stops it if the test process dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findParentDeathWrapper, freePort } from '../../events/NatsServerProcess.js';
import { untilAsyncValue } from './until.js';

export const PROMETHEUS_BIN = process.env['DFD_PROMETHEUS'] ?? path.resolve('.deps/promtool/prometheus');

export interface PrometheusOptions {
  /** host:port of each /metrics to scrape (one job, `dfd`). */
  targets: string[];
  /** Rule files, absolute or relative to the working directory. */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval (default 1s). */
  interval?: string;
}

export interface TestPrometheus {
  readonly url: string;
  /** GET an HTTP API path (e.g. `/api/v1/rules`) and return its `data`; throws on a non-success answer. */
  api<T>(pathAndQuery: string): Promise<T>;
  /** An instant query's result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  close(): Promise<void>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<TestPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-prometheus-'));
  const interval = options.interval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'rule_files:',
    ...(options.ruleFiles ?? []).map((f) => `  - ${JSON.stringify(path.resolve(f))}`),
    'scrape_configs:',
    '  - job_name: dfd',
    '    static_configs:',
    `      - targets: ${JSON.stringify(options.targets)}`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config + '\n');
  const port = await freePort();
  const args = [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  const setpriv = await findParentDeathWrapper();
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', PROMETHEUS_BIN, ...args]] : [PROMETHEUS_BIN, args];
  let stderr = '';
  const child: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}`;
  const close = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(url + p);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error ?? res.status}`);
    return body.data;
  };
  try {
    await untilAsyncValue(
      'prometheus to become ready',
      async () => {
        if (exited) throw new Error(`prometheus exited: ${stderr}`);
        return (await fetch(`${url}/-/ready`).then((r) => r.ok).catch(() => false)) || undefined;
      },
      60_000,
    );
  } catch (e) {
    await close();
    throw e;
  }
  return {
    url,
    api,
    query: async (promql) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    close,
  };
}
