/**
 * The alert rules in a real Prometheus server against a real service: Debian's prometheus scrapes the
 * service's /metrics every second and evaluates deploy/prometheus/alerts.yml every second. Every rule
 * evaluates without an error on the live exposition (label sets, `or` / `unless` matching, histogram
 * buckets as the service really exports them), and when the service is flooded (a one-window inference
 * queue, 16 speech streams sent as RTP), DfdAnalysisThinned goes pending for the flooded detector while
 * DfdNodeAnalysisThinned stays out: one node is the whole cluster here, and its per-instance ratio, over
 * the bar too, is left to the cluster-wide alert. `for: 10m` is not waited out: promtool's unit tests
 * (alerts.test.yml) cover firing and its timing.
 */
import fs from 'node:fs';
import { parse as load } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/Service.js';
import type { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import { OVERLOAD_OPTIONS, startSpeechFlood } from '../../test/helpers/flood.js';
import { removeDir, testModelsDir } from '../../test/helpers/models.js';
import { startPrometheus, type TestPrometheus } from '../../test/helpers/prometheus.js';
import { startTestService } from '../../test/helpers/service.js';
import { untilAsyncValue } from '../../test/helpers/until.js';

const RULES = 'deploy/prometheus/alerts.yml';
interface Rule {
  alert: string;
  expr: string;
}
const rules = (): Rule[] => (load(fs.readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
/** DfdNodeAnalysisThinned's per-instance ratio: its expression before the threshold and `unless`. */
const nodeRatio = (): string => {
  const expr = rules().find((r) => r.alert === 'DfdNodeAnalysisThinned')!.expr;
  const m = /^([\s\S]*?\))\s*>\s*[0-9.]+\s*unless\b/.exec(expr.trim());
  if (!m) throw new Error('DfdNodeAnalysisThinned: expected "<ratio> > <threshold> unless ..."');
  return m[1]!;
};

interface ApiRule {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}
interface ApiAlert {
  labels: Record<string, string>;
  state: string;
}

describe('deploy/prometheus/alerts.yml in a real Prometheus against a running service', () => {
  let service: Service;
  let prometheus: TestPrometheus;
  let sender: RtpLoadSender | undefined;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, ...OVERLOAD_OPTIONS }, { events: false, analysis: true });
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${service.port}`], ruleFiles: [RULES] });
  });

  afterAll(async () => {
    sender?.close();
    await prometheus?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('scrapes the service and evaluates every rule without an error', async () => {
    const target = await untilAsyncValue(
      'the service as an up target',
      async () => (await prometheus.api<{ activeTargets: { health: string; lastError: string }[] }>('/api/v1/targets')).activeTargets.find((t) => t.health === 'up'),
      60_000,
    );
    expect(target.lastError).toBe('');
    const names = rules().map((r) => r.alert).sort();
    const evaluated = await untilAsyncValue(
      'every rule evaluated once',
      async () => {
        const all = (await prometheus.api<{ groups: { rules: ApiRule[] }[] }>('/api/v1/rules')).groups.flatMap((g) => g.rules);
        return all.length === names.length && all.every((r) => r.health !== 'unknown' && !r.lastEvaluation.startsWith('0001')) && all;
      },
      60_000,
    );
    expect(evaluated.map((r) => r.name).sort()).toEqual(names);
    for (const r of evaluated) expect({ rule: r.name, health: r.health, lastError: r.lastError ?? '' }).toEqual({ rule: r.name, health: 'ok', lastError: '' });
  });

  it('has DfdAnalysisThinned pending for the flooded detector, and the node rule leaves it to the cluster-wide alert', async () => {
    sender = await startSpeechFlood(service, 'prometheus-flood', 16, 7000);

    const pending = await untilAsyncValue(
      'DfdAnalysisThinned pending',
      async () => (await prometheus.api<{ alerts: ApiAlert[] }>('/api/v1/alerts')).alerts.find((a) => a.labels['alertname'] === 'DfdAnalysisThinned' && a.state === 'pending'),
      180_000,
    );
    const detector = pending.labels['detector']!;
    expect(pending.labels['severity']).toBe('warning');
    // The node's own ratio of that detector is over the bar as well (one instance holds every window)... It exists
    // once the node has scored a window of that detector too: the cluster-wide ratio counts a detector that has
    // only dropped so far, the node's does not, so wait for it.
    const node = await untilAsyncValue(
      `the node's ratio of ${detector}`,
      async () => (await prometheus.query(nodeRatio())).find((s) => s.metric['detector'] === detector),
      120_000,
    );
    expect(node?.metric['instance']).toBe(`127.0.0.1:${service.port}`);
    expect(Number(node?.value[1])).toBeGreaterThan(0.02);
    // ...and yet no node alert: the cluster-wide one already says it.
    const { alerts } = await prometheus.api<{ alerts: ApiAlert[] }>('/api/v1/alerts');
    expect(alerts.filter((a) => a.labels['alertname'] === 'DfdNodeAnalysisThinned')).toEqual([]);
  });
});
