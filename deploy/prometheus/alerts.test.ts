/**
 * The alert rules (deploy/prometheus/alerts.yml) with the real tools: Debian's promtool checks
 * them and runs their unit tests (alerts.test.yml: which series fire which alert, with which
 * labels and text), and a real service's /metrics exports every metric they name, so a renamed
 * metric cannot leave an alert silently watching nothing.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as load } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/Service.js';
import { metricsInPromql, metricsNotExported } from '../../test/helpers/metrics.js';
import { removeDir, testModelsDir } from '../../test/helpers/models.js';
import { startTestService } from '../../test/helpers/service.js';

const run = promisify(execFile);
/** Installed by `scripts/bootstrap.sh --test` from Debian's prometheus package. */
const PROMTOOL = process.env['DFD_PROMTOOL'] ?? path.resolve('.deps/promtool/promtool');
const RULES = 'deploy/prometheus/alerts.yml';

interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const rules = (): Rule[] => ((load(fs.readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups ?? []).flatMap((g) => g.rules);

describe('deploy/prometheus/alerts.yml', () => {
  it('is valid for promtool, and every alert has a severity, a summary and a description', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', RULES]);
    expect(stdout).toContain(`SUCCESS: ${rules().length} rules found`);
    expect(rules().map((r) => r.alert).sort()).toEqual(['DfdAnalysisThinned', 'DfdAnalysisThreadsCrashing', 'DfdDetectorFailing', 'DfdEventsLost', 'DfdNoAnalysisWorkers', 'DfdNodeAnalysisThinned', 'DfdVerdictLagging']);
    for (const r of rules()) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary.length, r.alert).toBeGreaterThan(10);
      expect(r.annotations.description.length, r.alert).toBeGreaterThan(50);
    }
  });

  it('fires as its unit tests say (promtool test rules alerts.test.yml)', async () => {
    const r = await run(PROMTOOL, ['test', 'rules', 'deploy/prometheus/alerts.test.yml']).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    });
    expect(r.stdout).toContain('SUCCESS');
  });

  describe('against a running service', () => {
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

    it("names only metrics that the service's /metrics exports", async () => {
      const used = metricsInPromql(rules().map((r) => r.expr).join('\n'));
      expect([...used].sort()).toEqual([
        'dfd_events_dropped_total',
        'dfd_inference_worker_restarts_total',
        'dfd_pipeline_media_worker_restarts_total',
        'dfd_pipeline_window_to_verdict_seconds',
        'dfd_windows_dropped_total',
        'dfd_windows_processed_total',
      ]);
      expect(await metricsNotExported(service.port, used), "not on the service's /metrics").toEqual([]);
    });
  });
});
