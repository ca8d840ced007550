import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeCpuBudget, readCpuBudget } from './cpuBudget.js';

/** A directory tree standing in for `/`: the files a Linux process reads, as a kernel writes them. */
const trees: string[] = [];
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-cpubudget-'));
  trees.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(root + file), { recursive: true });
    fs.writeFileSync(root + file, text);
  }
  return root;
}
afterEach(() => {
  for (const t of trees.splice(0)) fs.rmSync(t, { recursive: true, force: true });
});

/** mountinfo of a cgroup v2 container (cgroup namespace: its own cgroup is the mount's root). */
const V2_MOUNTS = [
  '1301 1290 0:341 / / rw,relatime master:603 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
  '1311 1301 0:27 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot',
].join('\n');
/** mountinfo of a cgroup v1 Docker container: the mount's root is the container's cgroup on the host. */
const V1_MOUNTS = [
  '700 690 0:50 / / rw,relatime - overlay overlay rw',
  '705 704 0:26 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,cpu,cpuacct',
  '706 704 0:27 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:12 - cgroup cgroup rw,memory',
  '707 704 0:28 /docker/abc /sys/fs/cgroup/cpuset ro,nosuid,nodev,noexec,relatime master:13 - cgroup cgroup rw,cpuset',
].join('\n');
const V1_CGROUP = ['12:memory:/docker/abc', '5:cpu,cpuacct:/docker/abc', '4:cpuset:/docker/abc', '0::/docker/abc'].join('\n');
const V1_CPU = '/sys/fs/cgroup/cpu,cpuacct';

/** A cgroup v2 container's tree; `cpuMax` its cpu.max (absent: no cpu controller). */
const v2Container = (cpuMax?: string): string =>
  tree({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': V2_MOUNTS, ...(cpuMax === undefined ? {} : { '/sys/fs/cgroup/cpu.max': cpuMax }) });
/** A cgroup v1 Docker container's tree with these files under its cpu,cpuacct mount. */
const v1Docker = (files: Record<string, string>): string =>
  tree({ '/proc/self/cgroup': V1_CGROUP, '/proc/self/mountinfo': V1_MOUNTS, ...Object.fromEntries(Object.entries(files).map(([f, t]) => [`${V1_CPU}/${f}`, t])) });

describe('readCpuBudget', () => {
  it('cgroup v2: a container limited to 1.5 CPUs on a 4-CPU host sizes its pools by 2', () => {
    const root = v2Container('150000 100000\n');
    const b = readCpuBudget({ fsRoot: root, affinity: 4, platform: 'linux' });
    expect(b).toEqual({ cores: 2, source: 'cgroup-v2', affinity: 4, quota: 1.5, quotaPath: '/sys/fs/cgroup', notes: [] });
    expect(describeCpuBudget(b)).toBe('2 CPUs (cgroup-v2; quota 1.50 CPUs; affinity 4)');
  });

  it('cgroup v2: the tightest of the process\'s cgroup and its ancestors applies', () => {
    const root = tree({
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/proc/self/mountinfo': V2_MOUNTS,
      '/sys/fs/cgroup/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '50000 50000\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
    });
    const b = readCpuBudget({ fsRoot: root, affinity: 16, platform: 'linux' });
    expect(b).toMatchObject({ cores: 1, source: 'cgroup-v2', quota: 1, quotaPath: '/sys/fs/cgroup/kubepods/pod1', notes: [] });
  });

  it('cgroup v1: the cpu hierarchy mounted at the container\'s own cgroup, half a CPU -> 1', () => {
    const root = v1Docker({ 'cpu.cfs_quota_us': '50000\n', 'cpu.cfs_period_us': '100000\n' });
    const b = readCpuBudget({ fsRoot: root, affinity: 8, platform: 'linux' });
    expect(b).toEqual({ cores: 1, source: 'cgroup-v1', affinity: 8, quota: 0.5, quotaPath: '/sys/fs/cgroup/cpu,cpuacct', notes: [] });
  });

  it('no quota (v1 -1, v2 max): the affinity count, quietly', () => {
    const v1 = v1Docker({ 'cpu.cfs_quota_us': '-1\n', 'cpu.cfs_period_us': '100000\n' });
    expect(readCpuBudget({ fsRoot: v1, affinity: 6, platform: 'linux' })).toEqual({ cores: 6, source: 'affinity', affinity: 6, notes: [] });
    const v2 = v2Container('max 100000\n');
    expect(readCpuBudget({ fsRoot: v2, affinity: 6, platform: 'linux' })).toEqual({ cores: 6, source: 'affinity', affinity: 6, notes: [] });
    // a v2 cgroup without the cpu controller has no cpu.max at all
    const none = v2Container();
    expect(readCpuBudget({ fsRoot: none, affinity: 6, platform: 'linux' })).toEqual({ cores: 6, source: 'affinity', affinity: 6, notes: [] });
  });

  it('a quota above the affinity mask: the mask decides, the quota is still reported', () => {
    const root = v2Container('800000 100000\n');
    expect(readCpuBudget({ fsRoot: root, affinity: 2, platform: 'linux' })).toMatchObject({ cores: 2, source: 'affinity', quota: 8 });
  });

  it('a tiny quota still gives one CPU; a whole number is not rounded up past itself', () => {
    const tiny = v2Container('1000 100000\n');
    expect(readCpuBudget({ fsRoot: tiny, affinity: 4, platform: 'linux' })).toMatchObject({ cores: 1, quota: 0.01 });
    const two = v2Container('300000 150000\n');
    expect(readCpuBudget({ fsRoot: two, affinity: 4, platform: 'linux' })).toMatchObject({ cores: 2, quota: 2 });
  });

  it.each([
    ['cpu.max of words', 'lots of cpu\n'],
    ['cpu.max with a zero period', '100000 0\n'],
  ])('%s is passed over and named in notes: the affinity count stands', (_name, cpuMax) => {
    const root = v2Container(cpuMax);
    const b = readCpuBudget({ fsRoot: root, affinity: 3, platform: 'linux' });
    expect(b).toMatchObject({ cores: 3, source: 'affinity' });
    expect(b.quota).toBeUndefined();
    expect(b.notes).toEqual(['/sys/fs/cgroup/cpu.max: unreadable value']);
  });

  it('a v1 quota without its period, or a nonsense quota, is passed over and named', () => {
    const cases: Record<string, string>[] = [
      { 'cpu.cfs_quota_us': '50000\n' },
      { 'cpu.cfs_quota_us': '-5\n', 'cpu.cfs_period_us': '100000\n' },
    ];
    for (const files of cases) {
      const root = v1Docker(files);
      const b = readCpuBudget({ fsRoot: root, affinity: 4, platform: 'linux' });
      expect(b).toMatchObject({ cores: 4, source: 'affinity' });
      expect(b.notes.at(-1)).toBe('/sys/fs/cgroup/cpu,cpuacct: unreadable cpu.cfs_quota_us / cpu.cfs_period_us');
    }
  });

  it('without /proc (not mounted, or not Linux): the affinity count', () => {
    const empty = tree({});
    const b = readCpuBudget({ fsRoot: empty, affinity: 5, platform: 'linux' });
    expect(b).toMatchObject({ cores: 5, source: 'affinity' });
    expect(b.notes).toEqual(['/proc/self/cgroup: ENOENT', '/proc/self/mountinfo: ENOENT']);
    expect(readCpuBudget({ fsRoot: empty, affinity: 5, platform: 'darwin' })).toEqual({ cores: 5, source: 'affinity', affinity: 5, notes: [] });
  });

  it('a mount point with a space (mountinfo writes it as \\040)', () => {
    const root = tree({
      '/proc/self/cgroup': '0::/\n',
      '/proc/self/mountinfo': '1311 1301 0:27 / /cg\\040root rw - cgroup2 cgroup rw\n',
      '/cg root/cpu.max': '200000 100000\n',
    });
    expect(readCpuBudget({ fsRoot: root, affinity: 4, platform: 'linux' })).toMatchObject({ cores: 2, quotaPath: '/cg root' });
  });

  it('a cgroup path with .. components never climbs above the mount', () => {
    const root = tree({
      '/proc/self/cgroup': '0::/../../etc\n',
      '/proc/self/mountinfo': V2_MOUNTS,
      '/sys/fs/cgroup/cpu.max': '100000 100000\n',
    });
    expect(readCpuBudget({ fsRoot: root, affinity: 4, platform: 'linux' })).toMatchObject({ cores: 1, quotaPath: '/sys/fs/cgroup' });
  });

  it('this machine: between 1 and the affinity count', () => {
    const b = readCpuBudget();
    expect(b.affinity).toBe(os.availableParallelism());
    expect(b.cores).toBeGreaterThanOrEqual(1);
    expect(b.cores).toBeLessThanOrEqual(b.affinity);
  });
});
