/**
 * The Grafana dashboard only queries metrics the service really exports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startTestService } from '../../test/helpers/service.js';
import { testModelsDir, removeDir } from '../../test/helpers/models.js';
import type { Service } from '../../src/Service.js';

describe('deploy/grafana/dfd-dashboard.json', () => {
  let service: Service;
  let modelsDir: string;
  beforeAll(async () => {
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir }, { events: true, analysis: true });
  });
  afterAll(async () => {
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

  it('references only metrics that /metrics exports', async () => {
    const dash = JSON.parse(fs.readFileSync('deploy/grafana/dfd-dashboard.json', 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const used = new Set(exprs.flatMap((e) => e.match(/dfd_[a-z0-9_]+/g) ?? []).map((m) => m.replace(/_bucket$/, '')));
    // Worker threads report their metrics about once a second: wait until /metrics exports them all (or give up and show what is missing).
    let missing: string[] = [...used];
    for (const deadline = Date.now() + 30_000; missing.length > 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
      const exported = new Set([...text.matchAll(/^# TYPE (dfd_[a-z0-9_]+) /gm)].map((m) => m[1]!));
      missing = [...used].filter((m) => !exported.has(m));
    }
    expect(missing).toEqual([]);
  });
});
