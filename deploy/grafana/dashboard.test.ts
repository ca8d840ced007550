/**
 * The Grafana dashboard only queries metrics the service really exports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
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
    // Worker threads report their metrics about once a second.
    await new Promise((r) => setTimeout(r, 2500));
  });
  afterAll(async () => {
    await service?.close();
    removeDir(modelsDir);
  });

  it('is current (node deploy/grafana/make-dashboard.mjs regenerates it)', () => {
    const file = 'deploy/grafana/dfd-dashboard.json';
    const before = fs.readFileSync(file, 'utf8');
    execFileSync(process.execPath, ['deploy/grafana/make-dashboard.mjs'], { stdio: 'ignore' });
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it('references only metrics that /metrics exports', async () => {
    const dash = JSON.parse(fs.readFileSync('deploy/grafana/dfd-dashboard.json', 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    const used = new Set(exprs.flatMap((e) => e.match(/dfd_[a-z0-9_]+/g) ?? []).map((m) => m.replace(/_bucket$/, '')));
    const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (dfd_[a-z0-9_]+) /gm)].map((m) => m[1]!));
    const missing = [...used].filter((m) => !exported.has(m));
    expect(missing).toEqual([]);
  });
});
