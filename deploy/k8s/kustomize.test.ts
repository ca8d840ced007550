/**
 * The Kubernetes base as kubectl renders it (`kubectl kustomize`, offline: no cluster needed): every
 * object lands in the dfd namespace and the workloads read the ConfigMap under the name the
 * generator gave it. deploy/deploy.test.ts checks the files themselves.
 */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../kernel/paths.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v ?? {}) as Obj;
const hasKubectl = !spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error;

describe('kubectl kustomize deploy/k8s', () => {
  it.skipIf(!hasKubectl)('renders (skipped: no kubectl on PATH)', () => {
    const r = spawnSync('kubectl', ['kustomize', 'deploy/k8s'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter(Boolean);
    const kinds = objects.map((o) => `${String(o['kind'])}/${String(obj(o['metadata'])['name'])}`);
    const configMap = kinds.find((k) => k.startsWith('ConfigMap/dfd-config-'));
    expect(configMap, 'generated ConfigMap with a content hash').toBeDefined();
    for (const k of ['Namespace/dfd', 'StatefulSet/dfd-service', 'Deployment/dfd-worker', 'HorizontalPodAutoscaler/dfd-worker', 'PodDisruptionBudget/dfd-worker', 'Service/dfd-service']) expect(kinds).toContain(k);
    for (const o of objects.filter((o) => o['kind'] !== 'Namespace')) expect(obj(o['metadata'])['namespace'], String(o['kind'])).toBe('dfd');
    for (const w of objects.filter((o) => o['kind'] === 'StatefulSet' || o['kind'] === 'Deployment')) {
      const c = obj((obj(obj(obj(w['spec'])['template'])['spec'])['containers'] as unknown[])[0]);
      expect(c['image'], String(w['kind'])).toBe('deepfake-defense:0.1.0');
      expect(c['envFrom'], String(w['kind'])).toEqual([{ configMapRef: { name: configMap!.slice('ConfigMap/'.length) } }]);
    }
  });
});
