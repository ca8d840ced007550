/**
 * The deployment files (deploy/README.md), checked as files: nothing here builds an image or starts
 * a container. Each check is a mistake that would otherwise surface only on a real deployment: a
 * setting the service does not read, a COPY of a missing folder, two nodes on the same UDP ports,
 * a NATS node that does not route to the others, a worker nobody scrapes or autoscales.
 * deploy/k8s/kustomize.test.ts renders the Kubernetes base with kubectl.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as load, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../kernel/paths.js';
import { loadConfig, settings } from '../src/config.js';

type Obj = Record<string, unknown>;
const read = (rel: string): string => fs.readFileSync(path.join(repoRoot, rel), 'utf8');
// merge: compose's `<<: *anchor` keys (YAML 1.1), which YAML 1.2's core schema leaves unexpanded.
const yaml = (rel: string): Obj => load(read(rel), { merge: true }) as Obj;
const obj = (v: unknown): Obj => (v ?? {}) as Obj;
const list = (v: unknown): unknown[] => (v ?? []) as unknown[];

/** Every environment variable the service and the worker read: src/config.ts's settings, as the README table. */
const CONFIG_VARS = new Set(Object.values(settings).map((s) => s.env));
const DEFAULT = (env: string): string => Object.values(settings).find((s) => s.env === env)!.default;
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

// ---------- Dockerfile ----------

/** Instructions with their continuation lines joined; comments dropped. */
const instructions = read('deploy/Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
/** The run-time stage: the instructions after the last FROM. */
const runtime = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));

const GLOB: Record<string, string> = { '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*' };
/** A .dockerignore pattern as a regular expression over repository paths (it also covers what lies below). */
const ignoredBy = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((p) => new RegExp(`^${p.replace(/\*\*\/|\*\*|\*|[.+?^${}()|[\]\\]/g, (t) => GLOB[t] ?? `\\${t}`)}(?:/.*)?$`));
const dockerignored = (rel: string): boolean => ignoredBy.some((re) => re.test(rel));

describe('deploy/Dockerfile', () => {
  it('copies only what exists in the repository and is not excluded from the build context', () => {
    const sources = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1).filter((t) => !t.startsWith('--')));
    expect(sources).toEqual(expect.arrayContaining(['package-lock.json', 'src', 'detectors', 'scripts/build-web.mjs']));
    for (const s of sources) {
      expect(fs.existsSync(path.join(repoRoot, s)), s).toBe(true);
      expect(dockerignored(s), `${s} is in .dockerignore`).toBe(false);
    }
  });

  it('bakes the models in and leaves the training venv and caches out of the context', () => {
    const models = fs.readdirSync(path.join(repoRoot, 'detectors/models'));
    expect(models.length).toBeGreaterThan(3);
    for (const m of models) for (const f of ['manifest.json', 'model.onnx']) expect(dockerignored(`detectors/models/${m}/${f}`), `${m}/${f}`).toBe(false);
    for (const p of ['node_modules', '.git', 'test-artifacts', 'bench-results', 'detectors/training/.venv', 'detectors/training/.cache/x']) expect(dockerignored(p), p).toBe(true);
  });

  it('installs what bootstrap.sh installs for running: the same mediasoup-worker pin and Debian packages', () => {
    const bootstrap = read('scripts/bootstrap.sh');
    const pin = /^WORKER_DEB_VERSION="([^"]+)"/m.exec(bootstrap)![1]!;
    expect(instructions).toContain(`ARG WORKER_DEB_VERSION=${pin}`);
    const aptPkgs = /^APT_PKGS=\(([^)]*)\)/m.exec(bootstrap)![1]!.split(/\s+/).filter(Boolean);
    const install = runtime.find((l) => l.includes('apt-get install'))!;
    for (const p of aptPkgs) expect(install.split(/\s+/), p).toContain(p);
    expect(instructions.join('\n')).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
    expect(instructions).toContain('RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error');
  });

  it('points MEDIASOUP_WORKER_BIN at the binary it copies into the run-time image', () => {
    const dest = runtime.find((l) => l.startsWith('COPY --from=mediasoup-worker '))!.split(/\s+/).at(-1);
    expect(runtime.find((l) => l.startsWith('ENV ') && l.includes(`MEDIASOUP_WORKER_BIN=${dest}`)), String(dest)).toBeDefined();
  });

  it('runs the service as npm start does, unprivileged, with a /healthz check and the default ports exposed', () => {
    const cmd = JSON.parse(runtime.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    expect(cmd.join(' ')).toBe(pkg.scripts['start']);
    expect(runtime.find((l) => l.startsWith('USER '))).toMatch(/^USER (?!root|0\b)\S+$/);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK '))).toMatch(/DFD_PORT.*\/healthz/);
    const exposed = runtime.filter((l) => l.startsWith('EXPOSE ')).flatMap((l) => l.split(/\s+/).slice(1));
    const d = DEFAULT;
    for (const p of [`${d('DFD_PORT')}/tcp`, `${d('DFD_SIP_PORT')}/udp`, `${d('DFD_SIP_PORT')}/tcp`, `${d('DFD_WORKER_PORT')}/tcp`, `${d('DFD_SIP_RTP_MIN_PORT')}-${d('DFD_SIP_RTP_MAX_PORT')}/udp`, `${d('DFD_RTC_MIN_PORT')}-${d('DFD_RTC_MAX_PORT')}/udp`, `${d('DFD_RTC_MIN_PORT')}-${d('DFD_RTC_MAX_PORT')}/tcp`]) {
      expect(exposed, p).toContain(p);
    }
  });
});

// ---------- docker compose ----------

const compose = obj(yaml('deploy/docker-compose.yml')['services']);
const byRole = (role: string): [string, Obj][] => Object.entries(compose).filter(([, s]) => obj(obj(s)['labels'])['dfd.role'] === role) as [string, Obj][];
const envOf = (s: Obj): Record<string, string> => obj(s['environment']) as Record<string, string>;
const setting = (env: Record<string, string>, name: string): number => Number(env[name] ?? DEFAULT(name));
const serviceNodes = byRole('service');
const workers = byRole('worker');
const natsNodes = Object.entries(compose).filter(([, s]) => String(obj(s)['image']).startsWith('nats:')) as [string, Obj][];

describe('deploy/docker-compose.yml', () => {
  it('has 3 NATS nodes, 2 service nodes and 2 analysis workers', () => {
    expect(natsNodes.map(([n]) => n)).toEqual(['nats-1', 'nats-2', 'nats-3']);
    expect(serviceNodes).toHaveLength(2);
    expect(workers).toHaveLength(2);
  });

  it('sets only settings src/config.ts reads on service and worker containers', () => {
    for (const [name, s] of [...serviceNodes, ...workers]) for (const k of Object.keys(envOf(s))) expect(CONFIG_VARS.has(k), `${name}: ${k}`).toBe(true);
  });

  it('runs remote analysis against every NATS node, with the role users and no literal secret', () => {
    const natsUrls = natsNodes.map(([n]) => `nats://${n}:4222`);
    for (const [name, s] of serviceNodes) {
      const env = envOf(s);
      expect(env['DFD_ANALYSIS'], name).toBe('remote');
      expect(env['NATS_USER'], name).toBe('service');
      expect(env['DFD_ANNOUNCED_IP'], name).toMatch(/^\$\{DFD_PUBLIC_IP:\?/);
      for (const k of ['NATS_PASS', 'DFD_OPERATOR_PASSWORD', 'DFD_TOKEN_SECRET']) expect(env[k], `${name} ${k}`).toMatch(/^\$\{[A-Z_]+:\?/);
    }
    for (const [name, s] of workers) {
      expect(envOf(s)['NATS_USER'], name).toBe('worker');
      expect(envOf(s)['NATS_PASS'], name).toMatch(/^\$\{DFD_NATS_WORKER_PASSWORD:\?/);
      expect(list(s['command']).join(' '), name).toBe(pkg.scripts['worker']);
    }
    for (const [name, s] of [...serviceNodes, ...workers]) expect(envOf(s)['NATS_URL']!.split(','), name).toEqual(natsUrls);
  });

  it("gives each service node UDP ranges of its own, published unchanged", () => {
    const ranges: { owner: string; lo: number; hi: number }[] = [];
    for (const [name, s] of serviceNodes) {
      const env = envOf(s);
      const ports = list(s['ports']).map(String);
      for (const [lo, hi] of [['DFD_RTC_MIN_PORT', 'DFD_RTC_MAX_PORT'], ['DFD_SIP_RTP_MIN_PORT', 'DFD_SIP_RTP_MAX_PORT']] as const) {
        const r = { owner: `${name} ${lo}`, lo: setting(env, lo), hi: setting(env, hi) };
        expect(r.lo, r.owner).toBeLessThanOrEqual(r.hi);
        expect(ports, r.owner).toContain(`${r.lo}-${r.hi}:${r.lo}-${r.hi}/udp`);
        ranges.push(r);
      }
      const sip = setting(env, 'DFD_SIP_PORT');
      ranges.push({ owner: `${name} DFD_SIP_PORT`, lo: sip, hi: sip });
      expect(ports, name).toContain(`${sip}:${sip}/udp`);
      expect(ports, name).toContain(`${setting(env, 'DFD_PORT')}:${setting(env, 'DFD_PORT')}/tcp`);
    }
    for (const a of ranges) for (const b of ranges) if (a !== b) expect(a.hi < b.lo || b.hi < a.lo, `${a.owner} overlaps ${b.owner}`).toBe(true);
  });

  it('routes each NATS node to the other two, authenticated, with deploy/nats/nats-cluster.conf', () => {
    for (const [name, s] of natsNodes) {
      const env = envOf(s);
      expect(env['DFD_NATS_SERVER_NAME']).toBe(name);
      const routes = [env['DFD_NATS_ROUTE_A'], env['DFD_NATS_ROUTE_B']].map((u) => /^nats:\/\/route:\$\{DFD_NATS_ROUTE_PASSWORD\}@([a-z0-9-]+):6222$/.exec(String(u))?.[1]);
      expect(routes.sort(), name).toEqual(natsNodes.map(([n]) => n).filter((n) => n !== name));
      expect(list(s['volumes']), name).toContain('./nats:/etc/dfd-nats:ro');
      expect(list(s['command']), name).toEqual(['--config', '/etc/dfd-nats/nats-cluster.conf']);
    }
    const conf = read('deploy/nats/nats-cluster.conf');
    expect(conf).toMatch(/^\s*routes: \[ \$DFD_NATS_ROUTE_A, \$DFD_NATS_ROUTE_B \]$/m);
    expect(conf).toMatch(/^\s*password: \$DFD_NATS_ROUTE_PASSWORD$/m);
    expect(conf).toMatch(/^include \.\/dfd-auth\.conf$/m);
  });

  it("shares nats-server.conf's users and permissions, verbatim", () => {
    const auth = read('deploy/nats/dfd-auth.conf');
    const block = auth.slice(auth.indexOf('authorization {'));
    expect(block.length).toBeGreaterThan(500);
    expect(read('deploy/nats/nats-server.conf')).toContain(block);
  });

  it('has Prometheus scrape every service node and worker on its port', () => {
    const jobs = list(obj(yaml('deploy/prometheus/prometheus.yml'))['scrape_configs']).map(obj);
    const targets = [
      ...jobs.flatMap((j) => list(j['static_configs']).flatMap((c) => list(obj(c)['targets']))),
      ...jobs.flatMap((j) => list(j['dns_sd_configs']).flatMap((c) => list(obj(c)['names']).map((n) => `${String(n)}:${String(obj(c)['port'])}`))),
    ];
    const want = [...serviceNodes.map(([n, s]) => `${n}:${setting(envOf(s), 'DFD_PORT')}`), ...workers.map(([n, s]) => `${n}:${setting(envOf(s), 'DFD_WORKER_PORT')}`)];
    expect(targets.sort()).toEqual(want.sort());
  });

  it('loads the alert rules into the compose Prometheus, from the file it mounts', () => {
    const files = list(obj(yaml('deploy/prometheus/prometheus.yml'))['rule_files']).map(String);
    expect(files).toEqual(['alerts.yml']);
    expect(list(obj(compose['prometheus'])['volumes'])).toContain('./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
  });

  it('provisions Grafana with the shipped dashboard and the compose Prometheus', () => {
    const provider = obj(list(yaml('deploy/grafana/provisioning/dashboards/dfd.yml')['providers'])[0]);
    const dir = String(obj(provider['options'])['path']);
    const grafana = obj(compose['grafana']);
    expect(list(grafana['volumes'])).toContain(`./grafana/dfd-dashboard.json:${dir}/dfd-dashboard.json:ro`);
    expect(list(grafana['volumes'])).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(JSON.parse(read('deploy/grafana/dfd-dashboard.json'))).toHaveProperty('uid', 'dfd-overview');
    const ds = obj(list(yaml('deploy/grafana/provisioning/datasources/prometheus.yml')['datasources'])[0]);
    expect(ds['url']).toBe('http://prometheus:9090');
    expect(compose).toHaveProperty('prometheus');
  });

  it('takes every variable it interpolates from deploy/.env.example', () => {
    const used = new Set([...read('deploy/docker-compose.yml').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const example = new Set([...read('deploy/.env.example').matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !example.has(v))).toEqual([]);
    expect([...example].filter((v) => !used.has(v))).toEqual([]);
  });
});

// ---------- Kubernetes ----------

const kustomization = yaml('deploy/k8s/kustomization.yaml');
const manifests = list(kustomization['resources']).flatMap((r) => parseAllDocuments(read(`deploy/k8s/${String(r)}`)).map((d) => d.toJS() as Obj));
const ofKind = (kind: string): Obj[] => manifests.filter((m) => m['kind'] === kind);
const podSpec = (w: Obj): Obj => obj(obj(obj(w['spec'])['template'])['spec']);
const containers = (w: Obj): Obj[] => list(podSpec(w)['containers']) as Obj[];
const workloads = [...ofKind('StatefulSet'), ...ofKind('Deployment')];
const nameOf = (m: Obj): string => String(obj(m['metadata'])['name']);
// kustomize's env file: KEY=value lines; blank lines and # comments skipped.
const configEnv = Object.fromEntries(
  read('deploy/k8s/config.env')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const envEntries = (c: Obj): Obj[] => list(c['env']) as Obj[];
const envValue = (c: Obj, name: string): unknown => envEntries(c).find((e) => e['name'] === name);
const secretKeys = (v: unknown): string[] =>
  typeof v !== 'object' || v === null ? [] : 'secretKeyRef' in v ? [String(obj((v as Obj)['secretKeyRef'])['key'])] : Object.values(v).flatMap(secretKeys);
const natsValues = yaml('deploy/k8s/nats-values.yaml');
/** The `$(VAR)` references of an env value (Kubernetes' dependent environment variables). */
const refs = (value: unknown): string[] => [...String(value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!);

/**
 * The environment one pod of a workload gets, as the kubelet builds it: the ConfigMap (envFrom),
 * then `env` in order (a later entry wins), downward-API fields from `pod`, each secret key as a
 * placeholder, `$(VAR)` expanded from what is defined so far (an unknown reference stays as it is).
 */
function podEnv(c: Obj, pod: { name: string; hostIP: string }, override: Record<string, string> = {}): Record<string, string> {
  const field: Record<string, string> = { 'metadata.name': pod.name, 'status.hostIP': pod.hostIP, 'status.podIP': pod.hostIP };
  const secret: Record<string, string> = { 'ingest-keys': 'tenant-1=k0123456789abcdef0123' };
  const env: Record<string, string> = { ...configEnv };
  for (const e of envEntries(c)) {
    const name = String(e['name']);
    const from = obj(e['valueFrom']);
    const key = String(obj(from['secretKeyRef'])['key']);
    const raw = override[name] ?? (from['fieldRef'] ? field[String(obj(from['fieldRef'])['fieldPath'])]! : from['secretKeyRef'] ? (secret[key] ?? `p-placeholder-${key}`) : String(e['value'] ?? ''));
    env[name] = raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, v: string) => env[v] ?? whole);
  }
  return env;
}

describe('deploy/k8s', () => {
  it('is a kustomize base of files that exist, without the example Secret', () => {
    for (const r of list(kustomization['resources'])) expect(fs.existsSync(path.join(repoRoot, 'deploy/k8s', String(r))), String(r)).toBe(true);
    expect(kustomization['resources']).not.toContain('secret.example.yaml');
    expect(ofKind('StatefulSet').map(nameOf)).toEqual(['dfd-service']);
    expect(ofKind('Deployment').map(nameOf)).toEqual(['dfd-worker']);
  });

  it('sets only settings src/config.ts reads', () => {
    for (const k of Object.keys(configEnv)) expect(CONFIG_VARS.has(k), `config.env: ${k}`).toBe(true);
    for (const w of workloads) for (const c of containers(w)) for (const e of envEntries(c)) expect(CONFIG_VARS.has(String(e['name'])), `${nameOf(w)}: ${String(e['name'])}`).toBe(true);
  });

  it('connects both roles to the three pods of the NATS release with their own users', () => {
    expect(configEnv['DFD_ANALYSIS']).toBe('remote');
    expect(obj(obj(natsValues['config'])['cluster'])['replicas']).toBe(3);
    expect(configEnv['NATS_URL']!.split(',')).toEqual([0, 1, 2].map((i) => `nats://nats-${i}.nats-headless:4222`));
    const [service] = containers(ofKind('StatefulSet')[0]!);
    const [worker] = containers(ofKind('Deployment')[0]!);
    expect(envValue(service!, 'NATS_USER')).toEqual({ name: 'NATS_USER', value: 'service' });
    expect(envValue(worker!, 'NATS_USER')).toEqual({ name: 'NATS_USER', value: 'worker' });
    expect(list(worker!['command']).join(' ')).toBe(pkg.scripts['worker']);
  });

  it('announces the node address the downward API gives the service pod', () => {
    const sts = ofKind('StatefulSet')[0]!;
    const ref = obj(obj(obj(envValue(containers(sts)[0]!, 'DFD_ANNOUNCED_IP'))['valueFrom'])['fieldRef'])['fieldPath'];
    expect(['status.hostIP', 'status.podIP']).toContain(ref);
    if (ref === 'status.hostIP') expect(podSpec(sts)['hostNetwork']).toBe(true);
  });

  it('runs several service nodes, one per Kubernetes node, with rooms pinned to one of them (DFD_ROOM_REGISTRY=nats)', () => {
    const sts = ofKind('StatefulSet')[0]!;
    const c = containers(sts)[0]!;
    expect(Number(obj(sts['spec'])['replicas'])).toBeGreaterThan(1);
    expect(podSpec(sts)['hostNetwork']).toBe(true);
    const anti = list(obj(obj(podSpec(sts)['affinity'])['podAntiAffinity'])['requiredDuringSchedulingIgnoredDuringExecution']).map(obj);
    const labels = obj(obj(obj(obj(sts['spec'])['template'])['metadata'])['labels']);
    expect(anti.some((t) => t['topologyKey'] === 'kubernetes.io/hostname' && Object.entries(obj(obj(t['labelSelector'])['matchLabels'])).every(([k, v]) => labels[k] === v))).toBe(true);
    // On the service pods only: the worker reads config.env too and would refuse it (no DFD_PUBLIC_URL).
    expect(envValue(c, 'DFD_ROOM_REGISTRY')).toEqual({ name: 'DFD_ROOM_REGISTRY', value: 'nats' });
    expect(configEnv['DFD_ROOM_REGISTRY'] ?? 'off').toBe('off');
    expect(envValue(c, 'DFD_NODE_ID')).toEqual({ name: 'DFD_NODE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  });

  it('defines every variable an env value references earlier in the same list, DFD_PUBLIC_URL included', () => {
    const sts = ofKind('StatefulSet')[0]!;
    const names = envEntries(containers(sts)[0]!).map((e) => String(e['name']));
    const publicUrl = envValue(containers(sts)[0]!, 'DFD_PUBLIC_URL') as Obj;
    expect(refs(publicUrl['value']).length, 'DFD_PUBLIC_URL names the pod or its node').toBeGreaterThan(0);
    for (const v of refs(publicUrl['value'])) expect(names.indexOf(v), `${v} before DFD_PUBLIC_URL`).toBeGreaterThanOrEqual(0);
    for (const v of refs(publicUrl['value'])) expect(names.indexOf(v), `${v} before DFD_PUBLIC_URL`).toBeLessThan(names.indexOf('DFD_PUBLIC_URL'));
    for (const w of workloads) {
      const entries = envEntries(containers(w)[0]!);
      entries.forEach((e, i) => {
        const earlier = new Set([...Object.keys(configEnv), ...entries.slice(0, i).map((x) => String(x['name']))]);
        for (const v of refs(e['value'])) expect(earlier.has(v), `${nameOf(w)}: ${String(e['name'])} references ${v}`).toBe(true);
      });
    }
  });

  it("gives each service pod a node id and public URL of its own that src/config.ts accepts, and still starts the worker", () => {
    const sts = ofKind('StatefulSet')[0]!;
    const c = containers(sts)[0]!;
    const pods = Array.from({ length: Number(obj(sts['spec'])['replicas']) }, (_, i) => ({ name: `${nameOf(sts)}-${i}`, hostIP: `10.0.0.${i + 1}` }));
    const port = obj((list(c['ports']) as Obj[]).find((p) => p['name'] === 'http'))['containerPort'];
    const cfgs = pods.map((p) => loadConfig(podEnv(c, p)));
    for (const [i, cfg] of cfgs.entries()) {
      expect(cfg.roomRegistry).toBe('nats');
      expect(cfg.nodeId).toBe(pods[i]!.name);
      expect(cfg.publicUrl).toBe(`http://${pods[i]!.hostIP}:${String(port)}`);
      expect(cfg.port).toBe(port);
    }
    expect(new Set(cfgs.map((x) => x.nodeId)).size).toBe(pods.length);
    expect(new Set(cfgs.map((x) => x.publicUrl)).size).toBe(pods.length);
    // The per-pod TLS name service.yaml's comment and deploy/README.md suggest instead.
    const example = /^\s*#\s+value: (https:\/\/\$\(DFD_NODE_ID\)\.[a-z0-9.-]+)$/m.exec(read('deploy/k8s/service.yaml'))?.[1];
    expect(example).toBeDefined();
    expect(read('deploy/README.md')).toContain(`value: ${example!}`);
    const tls = pods.map((p) => loadConfig(podEnv(c, p, { DFD_PUBLIC_URL: example! })).publicUrl);
    expect(tls).toEqual(pods.map((p) => example!.replace('$(DFD_NODE_ID)', p.name)));
    const worker = ofKind('Deployment')[0]!;
    expect(() => loadConfig(podEnv(containers(worker)[0]!, { name: `${nameOf(worker)}-abc12`, hostIP: '10.0.0.9' }))).not.toThrow();
  });

  it('probes /healthz on the port each role serves it on, and scrapes that port', () => {
    for (const w of workloads) {
      const c = containers(w)[0]!;
      const http = obj((list(c['ports']) as Obj[]).find((p) => p['name'] === 'http'))['containerPort'];
      const portVar = w['kind'] === 'Deployment' ? 'DFD_WORKER_PORT' : 'DFD_PORT';
      expect(Number(obj(envValue(c, portVar))['value'] ?? DEFAULT(portVar)), nameOf(w)).toBe(http);
      expect(obj(obj(obj(w['spec'])['template'])['metadata'])['annotations']).toMatchObject({ 'prometheus.io/port': String(http), 'prometheus.io/path': '/metrics' });
      for (const probe of ['startupProbe', 'readinessProbe']) expect(obj(c[probe])['httpGet'], `${nameOf(w)} ${probe}`).toEqual({ path: '/healthz', port: 'http' });
    }
  });

  it('autoscales the worker Deployment on queue metrics the code exports, and keeps one worker through drains', () => {
    const [hpa] = ofKind('HorizontalPodAutoscaler');
    expect(obj(obj(hpa!['spec'])['scaleTargetRef'])).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'dfd-worker' });
    const metrics = list(obj(hpa!['spec'])['metrics']).map((m) => String(obj(obj(obj(m)[String(obj(m)['type']).toLowerCase()])['metric'])['name']));
    expect(metrics.sort()).toEqual(['dfd_remote_queue_depth', 'dfd_worker_pending_windows']);
    const cluster = fs.readdirSync(path.join(repoRoot, 'cluster')).filter((f) => f.endsWith('.ts')).map((f) => read(`cluster/${f}`)).join('\n');
    for (const m of metrics) expect(cluster, m).toContain(`name: '${m}'`);
    const adapter = read('deploy/k8s/prometheus-adapter-values.yaml');
    for (const m of metrics) expect(adapter, m).toContain(`as: ${m}`);
    const workerLabels = obj(obj(obj(obj(ofKind('Deployment')[0]!['spec'])['template'])['metadata'])['labels']);
    expect(workerLabels).toMatchObject(obj(obj(obj(ofKind('PodDisruptionBudget')[0]!['spec'])['selector'])['matchLabels']));
  });

  it('takes every secret from keys the example Secret documents', () => {
    const example = Object.keys(obj(yaml('deploy/k8s/secret.example.yaml')['stringData']));
    const used = [...manifests.flatMap(secretKeys), ...secretKeys(natsValues)];
    expect(used.length).toBeGreaterThan(6);
    for (const k of used) expect(example, k).toContain(k);
  });

  it('gives the NATS chart JetStream, dfd-auth.conf and the passwords it reads', () => {
    const config = obj(natsValues['config']);
    expect(obj(config['jetstream'])['enabled']).toBe(true);
    expect(obj(config['cluster'])['enabled']).toBe(true);
    expect(obj(config['merge'])['$include']).toBe('dfd-auth.conf');
    const wanted = [...read('deploy/nats/dfd-auth.conf').matchAll(/password: \$([A-Z_]+)/g)].map((m) => m[1]!);
    expect(Object.keys(obj(obj(natsValues['container'])['env'])).sort()).toEqual(wanted.sort());
  });
});
