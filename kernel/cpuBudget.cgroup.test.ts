/**
 * readCpuBudget() and the pools sized by it, in a real cgroup with a real CPU quota: a child
 * process is moved into a new cgroup limited to half a CPU (cgroup v1 `cpu.cfs_quota_us`, or
 * cgroup v2 `cpu.max`, whichever holds this machine's cpu controller) and reports what it reads,
 * as the service would in a container with `limits.cpu: 500m`.
 * Needs root and a writable cgroup file system (the test machines and a Debian host have both).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './paths.js';

interface Hierarchy {
  version: 1 | 2;
  /** Where the hierarchy's root cgroup is mounted. */
  mountPoint: string;
}

/** The hierarchy that holds this machine's cpu controller, mounted at its root. */
function cpuHierarchy(): Hierarchy {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => {
    const [pre = '', post = ''] = l.split(' - ');
    const f = pre.split(' ');
    const g = post.split(' ');
    return { root: f[3], mountPoint: f[4] ?? '', fsType: g[0], superOptions: (g[2] ?? '').split(',') };
  });
  const v1 = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('cpu') && m.root === '/');
  if (v1) return { version: 1, mountPoint: v1.mountPoint };
  const v2 = mounts.find((m) => m.fsType === 'cgroup2' && m.root === '/');
  if (v2) return { version: 2, mountPoint: v2.mountPoint };
  throw new Error('no cgroup hierarchy with the cpu controller is mounted at its root: this test needs one it can write');
}

const h = cpuHierarchy();
const dir = path.join(h.mountPoint, `dfd-cpubudget-${process.pid}`);

/** The quota of the test's cgroup: CPUs, or undefined for none. */
function setQuota(cpus: number | undefined): void {
  if (h.version === 1) {
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), cpus === undefined ? '-1' : String(Math.round(cpus * 100000)));
  } else {
    fs.writeFileSync(path.join(dir, 'cpu.max'), `${cpus === undefined ? 'max' : Math.round(cpus * 100000)} 100000`);
  }
}

beforeAll(() => {
  if (h.version === 2) {
    const control = path.join(h.mountPoint, 'cgroup.subtree_control');
    if (!fs.readFileSync(control, 'utf8').split(/\s+/).includes('cpu')) fs.writeFileSync(control, '+cpu');
  }
  fs.mkdirSync(dir);
});

afterAll(() => {
  // The child has exited by now, so the cgroup is empty and can go.
  if (fs.existsSync(dir)) fs.rmdirSync(dir);
});

/** What a Node child started inside `cgroup` reads: its budget and the service's worker counts. */
function readInside(cgroup: string): { budget: { cores: number; source: string; affinity: number; quota?: number; quotaPath?: string; notes: string[] }; numWorkers: number; audioWorkers: number } {
  const script = [
    "const { readCpuBudget } = await import('./kernel/cpuBudget.ts');",
    "const { loadConfig } = await import('./src/config.ts');",
    'const c = loadConfig({});',
    'console.log(JSON.stringify({ budget: readCpuBudget(), numWorkers: c.numWorkers, audioWorkers: c.audioWorkers }));',
  ].join('\n');
  // The shell moves itself into the cgroup, then becomes node: everything node starts is inside.
  const out = execFileSync('sh', ['-c', `echo $$ > "$1/cgroup.procs" && exec "$2" --import tsx --input-type=module -e "$3"`, 'sh', cgroup, process.execPath, script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, DFD_MEDIASOUP_WORKERS: '0', DFD_AUDIO_WORKERS: '0' },
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as ReturnType<typeof readInside>;
}

describe(`CPU budget in a real cgroup (v${h.version} at ${h.mountPoint})`, () => {
  it('half a CPU: the budget is 1 CPU from that quota, and the service configuration sizes one mediasoup worker and one audio worker by it', () => {
    setQuota(0.5);
    const inside = readInside(dir);
    expect(inside.budget).toMatchObject({ cores: 1, quota: 0.5, quotaPath: dir, notes: [] });
    // On a one-CPU machine the affinity mask already says 1: the quota is then reported, not the cause.
    expect(inside.budget.source).toBe(inside.budget.affinity > 1 ? `cgroup-v${h.version}` : 'affinity');
    expect([inside.numWorkers, inside.audioWorkers]).toEqual([1, 1]);
  });

  it('the quota lifted: the affinity count again, and one worker of each per CPU', () => {
    setQuota(undefined);
    const inside = readInside(dir);
    expect(inside.budget.quotaPath === dir).toBe(false);
    expect(inside.numWorkers).toBe(inside.budget.cores);
    expect(inside.audioWorkers).toBe(inside.budget.cores);
    expect(inside.budget.cores).toBe(inside.budget.quota === undefined ? inside.budget.affinity : Math.min(inside.budget.affinity, Math.ceil(inside.budget.quota)));
  });
});
