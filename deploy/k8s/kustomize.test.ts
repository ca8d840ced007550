/**
 * The Kubernetes base as kubectl renders it (`kubectl kustomize`, offline: no cluster needed): every
 * object lands in the dfd namespace and the workloads read the ConfigMap under the name the
 * generator gave it, and the service StatefulSet still runs several nodes with the room registry
 * after kustomize's processing. deploy/deploy.test.ts checks the files themselves. The optional
 * prometheus-operator component renders beside the base: PodMonitors that select the pods by their
 * labels and named ports, and a PrometheusRule that is deploy/prometheus/alerts.yml's groups unchanged.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../kernel/paths.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v ?? {}) as Obj;
const hasKubectl = !spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error;
/** A workload's (StatefulSet's, Deployment's) first container. */
const firstContainer = (w: Obj): Obj => obj((obj(obj(obj(w['spec'])['template'])['spec'])['containers'] as unknown[])[0]);
/** The service container's env entries of a rendering. */
const serviceEnv = (objects: Obj[]): Obj[] => (firstContainer(objects.find((o) => o['kind'] === 'StatefulSet')!)['env'] as unknown[]).map(obj);
const render = (dir: string): Obj[] => {
  const r = spawnSync('kubectl', ['kustomize', dir], { cwd: repoRoot, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
};

describe('kubectl kustomize deploy/k8s', () => {
  it.skipIf(!hasKubectl)('renders (skipped: no kubectl on PATH)', () => {
    const objects = render('deploy/k8s');
    const kinds = objects.map((o) => `${String(o['kind'])}/${String(obj(o['metadata'])['name'])}`);
    const configMap = kinds.find((k) => k.startsWith('ConfigMap/dfd-config-'));
    expect(configMap, 'generated ConfigMap with a content hash').toBeDefined();
    for (const k of ['Namespace/dfd', 'StatefulSet/dfd-service', 'Deployment/dfd-worker', 'HorizontalPodAutoscaler/dfd-worker', 'PodDisruptionBudget/dfd-worker', 'Service/dfd-service']) expect(kinds).toContain(k);
    for (const o of objects.filter((o) => o['kind'] !== 'Namespace')) expect(obj(o['metadata'])['namespace'], String(o['kind'])).toBe('dfd');
    for (const w of objects.filter((o) => o['kind'] === 'StatefulSet' || o['kind'] === 'Deployment')) {
      const c = firstContainer(w);
      expect(c['image'], String(w['kind'])).toBe('deepfake-defense:0.1.0');
      expect(c['envFrom'], String(w['kind'])).toEqual([{ configMapRef: { name: configMap!.slice('ConfigMap/'.length) } }]);
    }
    // Several service nodes: the room registry on the service pods (not in the ConfigMap the workers
    // read too), each pod's id and public URL, DFD_PUBLIC_URL after the variable it expands.
    const data = obj(objects.find((o) => o['kind'] === 'ConfigMap')!['data']);
    expect(Object.keys(data).every((k) => /^[A-Z][A-Z0-9_]*$/.test(k)), 'no comment line became a key').toBe(true);
    expect(data).not.toHaveProperty('DFD_ROOM_REGISTRY');
    const sts = objects.find((o) => o['kind'] === 'StatefulSet')!;
    expect(Number(obj(sts['spec'])['replicas'])).toBeGreaterThan(1);
    const env = serviceEnv(objects);
    const at = (name: string): number => env.findIndex((e) => e['name'] === name);
    expect(env[at('DFD_ROOM_REGISTRY')]).toEqual({ name: 'DFD_ROOM_REGISTRY', value: 'nats' });
    expect(env[at('DFD_NODE_ID')]).toEqual({ name: 'DFD_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    const publicUrl = String(env[at('DFD_PUBLIC_URL')]!['value']);
    expect(publicUrl).toMatch(/^https?:\/\//);
    for (const [, v] of publicUrl.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) expect(at(v!), `${v!} before DFD_PUBLIC_URL`).toBeGreaterThanOrEqual(0);
    for (const [, v] of publicUrl.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) expect(at(v!), `${v!} before DFD_PUBLIC_URL`).toBeLessThan(at('DFD_PUBLIC_URL'));
    // Pools sized by the pod's CPU request (no CPU limit: the container sees the node's cores), rounded up.
    const requestedCpus = { valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1' } } };
    expect(env[at('DFD_MEDIASOUP_WORKERS')]).toEqual({ name: 'DFD_MEDIASOUP_WORKERS', ...requestedCpus });
    expect(env[at('DFD_AUDIO_WORKERS')]).toEqual({ name: 'DFD_AUDIO_WORKERS', ...requestedCpus });
    const worker = firstContainer(objects.find((o) => o['kind'] === 'Deployment')!);
    expect((worker['env'] as unknown[]).map(obj).find((e) => e['name'] === 'DFD_INFERENCE_WORKERS')).toEqual({ name: 'DFD_INFERENCE_WORKERS', ...requestedCpus });
    for (const w of [sts, objects.find((o) => o['kind'] === 'Deployment')!]) {
      const resources = obj(firstContainer(w)['resources']);
      expect(obj(resources['requests'])['cpu'], 'a CPU request to size the pools by').toBeDefined();
      expect(obj(resources['limits'])['cpu'], 'no CPU limit: a spent quota throttles forwarding too').toBeUndefined();
    }
  });

  it.skipIf(!hasKubectl)("renders deploy/README.md's per-pod TLS overlay with DFD_NODE_ID still above DFD_PUBLIC_URL (skipped: no kubectl on PATH)", () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'deploy/README.md'), 'utf8');
    const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('overlays/production/kustomization.yaml'));
    expect(block, 'the overlay example in deploy/README.md').toBeDefined();
    expect(block).toContain('  - ../../deploy/k8s\n');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-overlay-'));
    try {
      // The same overlay, pointed at this checkout's base from wherever the temporary folder is.
      fs.writeFileSync(path.join(dir, 'kustomization.yaml'), block!.replace('  - ../../deploy/k8s\n', `  - ${path.relative(dir, path.join(repoRoot, 'deploy/k8s'))}\n`));
      const env = serviceEnv(render(dir));
      const at = (name: string): number => env.findIndex((e) => e['name'] === name);
      expect(env.filter((e) => e['name'] === 'DFD_PUBLIC_URL')).toEqual([{ name: 'DFD_PUBLIC_URL', value: 'https://$(DFD_NODE_ID).calls.example.com' }]);
      expect(env.filter((e) => e['name'] === 'DFD_NODE_ID')).toEqual([{ name: 'DFD_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
      expect(at('DFD_NODE_ID')).toBeLessThan(at('DFD_PUBLIC_URL'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/k8s/prometheus-operator (component)', () => {
  it('prometheus-rule.yaml is current (node deploy/k8s/make-prometheus-rule.mjs regenerates it) and holds alerts.yml unchanged', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-rule-'));
    try {
      const out = path.join(dir, 'rule.yaml');
      execFileSync(process.execPath, ['deploy/k8s/make-prometheus-rule.mjs', out], { cwd: repoRoot, stdio: 'ignore' });
      const committed = fs.readFileSync(path.join(repoRoot, 'deploy/k8s/prometheus-operator/prometheus-rule.yaml'), 'utf8');
      expect(committed, 'run: node deploy/k8s/make-prometheus-rule.mjs').toBe(fs.readFileSync(out, 'utf8'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const rule = parse(fs.readFileSync(path.join(repoRoot, 'deploy/k8s/prometheus-operator/prometheus-rule.yaml'), 'utf8')) as Obj;
    const alerts = parse(fs.readFileSync(path.join(repoRoot, 'deploy/prometheus/alerts.yml'), 'utf8')) as Obj;
    expect(rule['kind']).toBe('PrometheusRule');
    expect(obj(rule['spec'])['groups']).toEqual(alerts['groups']);
  });

  it.skipIf(!hasKubectl)('renders with the base: PodMonitors find the pods and their ports, the rule lands in dfd (skipped: no kubectl on PATH)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-overlay-'));
    try {
      const rel = (p: string): string => path.relative(dir, path.join(repoRoot, p));
      fs.writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'resources:', `  - ${rel('deploy/k8s')}`, 'components:', `  - ${rel('deploy/k8s/prometheus-operator')}`, ''].join('\n'),
      );
      const objects = render(dir);
      const monitors = objects.filter((o) => o['kind'] === 'PodMonitor');
      expect(monitors.map((m) => obj(m['metadata'])['name']).sort()).toEqual(['dfd-service', 'dfd-worker']);
      for (const o of [...monitors, ...objects.filter((o) => o['kind'] === 'PrometheusRule')]) expect(obj(o['metadata'])['namespace'], String(obj(o['metadata'])['name'])).toBe('dfd');
      expect(objects.filter((o) => o['kind'] === 'PrometheusRule')).toHaveLength(1);
      const workloads = objects.filter((o) => o['kind'] === 'StatefulSet' || o['kind'] === 'Deployment');
      for (const m of monitors) {
        const match = obj(obj(obj(m['spec'])['selector'])['matchLabels']);
        // exactly one workload's pods carry the selected labels, and its container names the scraped port
        const selected = workloads.filter((w) => {
          const labels = obj(obj(obj(obj(w['spec'])['template'])['metadata'])['labels']);
          return Object.entries(match).every(([k, v]) => labels[k] === v);
        });
        expect(selected, String(obj(m['metadata'])['name'])).toHaveLength(1);
        const ports = (firstContainer(selected[0]!)['ports'] as unknown[]).map(obj);
        for (const e of (obj(m['spec'])['podMetricsEndpoints'] as unknown[]).map(obj)) {
          expect(ports.map((p) => p['name'])).toContain(e['port']);
          expect(e['path']).toBe('/metrics');
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
