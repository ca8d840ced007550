/**
 * The Grafana dashboard only queries metrics that are really exported: by the service, or (the
 * cluster row's dfd_worker_* panels) by an analysis worker process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTestService } from '../../test/helpers/service.js';
import { testModelsDir, removeDir } from '../../test/helpers/models.js';
import type { Service } from '../../src/Service.js';
import { NatsServerProcess } from '../../events/NatsServerProcess.js';
import { exited, startWorkerProcess, type WorkerProcess } from '../../cluster/testing/workerProcess.js';
import { exportedMetrics as exported, metricsInPromql, metricsNotExported } from '../../test/helpers/metrics.js';


describe('deploy/grafana/dfd-dashboard.json', () => {
  let service: Service;
  let nats: NatsServerProcess;
  let worker: WorkerProcess;
  let modelsDir: string;
  beforeAll(async () => {
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir }, { events: true, analysis: true });
    // A worker process has a registry of its own: the service's /metrics cannot speak for it.
    nats = await NatsServerProcess.start();
    worker = await startWorkerProcess(nats, { DFD_MODELS_DIR: modelsDir });
  });
  afterAll(async () => {
    if (worker) {
      worker.child.kill('SIGTERM');
      await exited(worker.child);
    }
    await nats?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('is current (node deploy/grafana/make-dashboard.mjs regenerates it)', () => {
    // Generated into a temporary file: the test never writes into the tracked one.
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-dash-')), 'dfd-dashboard.json');
    try {
      execFileSync(process.execPath, ['deploy/grafana/make-dashboard.mjs', out], { stdio: 'ignore' });
      expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync('deploy/grafana/dfd-dashboard.json', 'utf8'));
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });

  it('references only metrics that the service\'s /metrics, or a worker\'s for dfd_worker_*, exports', async () => {
    const dash = JSON.parse(fs.readFileSync('deploy/grafana/dfd-dashboard.json', 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const used = metricsInPromql(exprs.join('\n'));
    const fromWorker = [...used].filter((m) => m.startsWith('dfd_worker_'));
    expect(fromWorker.length).toBeGreaterThan(2);
    const workerExports = await exported(worker.port);
    expect(fromWorker.filter((m) => !workerExports.has(m)), 'not on the worker\'s /metrics').toEqual([]);
    // Worker threads report their metrics about once a second: wait until /metrics exports them all (or give up and show what is missing).
    expect(await metricsNotExported(service.port, [...used].filter((m) => !fromWorker.includes(m))), 'not on the service\'s /metrics').toEqual([]);
  });
});
