/**
 * How many CPUs this process may really use: the count its pools of processes and threads
 * (mediasoup workers, audio workers) are sized by when their settings say 0.
 *
 * `os.availableParallelism()` counts the CPUs of the process's affinity mask. In a container
 * whose CPU is limited by a CFS bandwidth quota (Kubernetes `limits.cpu`, Docker `--cpus`)
 * the mask still holds every CPU of the node, so a service on a 64-core node limited to 2
 * CPUs would start 64 mediasoup workers and 64 audio workers: each takes memory (a memory
 * limit is hit sooner) and they share 2 CPUs' time, so every stream's analysis waits on the
 * throttled quota. The quota is read where the kernel keeps it:
 *
 *   cgroup v2   `cpu.max` ("<quota> <period>" or "max <period>") of the process's cgroup and of
 *               every ancestor visible in its mount (the smallest applies);
 *   cgroup v1   `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none) of the `cpu` hierarchy, the
 *               same way.
 *
 * The process's cgroup comes from /proc/self/cgroup and the mount that holds it from
 * /proc/self/mountinfo (a container sees its own cgroup as its mount's root). cores =
 * max(1, min(affinity, ceil(quota))). A file that cannot be read or parsed is passed over and
 * named in `notes`: the budget then rests on what could be read, never on a guess. Linux only;
 * elsewhere the affinity count stands.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type CpuBudgetSource = 'affinity' | 'cgroup-v1' | 'cgroup-v2';

export interface CpuBudget {
  /** Whole CPUs to size pools by: min(affinity, ceil(quota)), at least 1. */
  cores: number;
  /** What set `cores`: the affinity mask, or a CPU quota of that cgroup version. */
  source: CpuBudgetSource;
  /** CPUs of the process's affinity mask (os.availableParallelism()). */
  affinity: number;
  /** CPU time the tightest quota allows, in CPUs (e.g. 1.5); absent where none applies. */
  quota?: number;
  /** The cgroup directory whose quota is the tightest. */
  quotaPath?: string;
  /** Files that were there but could not be read or parsed (empty when all went well). */
  notes: string[];
}

export interface CpuBudgetOptions {
  /** CPUs of the affinity mask (default os.availableParallelism()). */
  affinity: number;
  /** Prefixed to every absolute path read (default ''): a test's directory tree standing in for `/`. */
  fsRoot: string;
  /** Default process.platform; other than 'linux': the affinity count only. */
  platform: NodeJS.Platform;
}

interface Quota {
  cpus: number;
  version: 1 | 2;
  dir: string;
}

interface Mount {
  /** The cgroup path at the mount's root (field 4 of mountinfo). */
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** The CPU budget of the calling process. */
export function readCpuBudget(options: Partial<CpuBudgetOptions> = {}): CpuBudget {
  const affinity = Math.max(1, options.affinity ?? os.availableParallelism());
  const fsRoot = options.fsRoot ?? '';
  const notes: string[] = [];
  const base: CpuBudget = { cores: affinity, source: 'affinity', affinity, notes };
  if ((options.platform ?? process.platform) !== 'linux') return base;
  const cgroupText = readText(fsRoot, '/proc/self/cgroup', notes);
  const mountText = readText(fsRoot, '/proc/self/mountinfo', notes);
  if (cgroupText === undefined || mountText === undefined) return base;
  const mounts = parseMountInfo(mountText);
  const quotas: Quota[] = [];
  for (const line of cgroupText.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, hierarchy, controllers, cgroupPath] = m as unknown as [string, string, string, string];
    if (hierarchy === '0' && controllers === '') {
      const mount = mounts.find((x) => x.fsType === 'cgroup2');
      if (mount !== undefined) quotas.push(...walk(fsRoot, mount, cgroupPath, 2, notes));
    } else if (controllers.split(',').includes('cpu')) {
      const mount = mounts.find((x) => x.fsType === 'cgroup' && x.superOptions.includes('cpu'));
      if (mount !== undefined) quotas.push(...walk(fsRoot, mount, cgroupPath, 1, notes));
    }
  }
  const tightest = quotas.reduce<Quota | undefined>((a, q) => (a === undefined || q.cpus < a.cpus ? q : a), undefined);
  if (tightest === undefined) return base;
  const byQuota = Math.max(1, Math.ceil(tightest.cpus - 1e-9));
  return {
    ...base,
    cores: Math.min(affinity, byQuota),
    source: byQuota < affinity ? (tightest.version === 2 ? 'cgroup-v2' : 'cgroup-v1') : 'affinity',
    quota: tightest.cpus,
    quotaPath: tightest.dir,
  };
}

/** One line for a start-up log: "2 CPUs (cgroup-v2 quota 1.50 CPUs; affinity 64)". */
export function describeCpuBudget(b: CpuBudget): string {
  const quota = b.quota === undefined ? 'no CPU quota' : `quota ${b.quota.toFixed(2)} CPUs`;
  return `${b.cores} CPU${b.cores === 1 ? '' : 's'} (${b.source}; ${quota}; affinity ${b.affinity})`;
}

function parseMountInfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const root = pre[3];
    const mountPoint = pre[4];
    const fsType = post[0];
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue;
    out.push({ root: unescapeMount(root), mountPoint: unescapeMount(mountPoint), fsType, superOptions: (post[2] ?? '').split(',') });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Quotas of `cgroupPath` and its ancestors inside `mount`, as far up as the mount shows. */
function walk(fsRoot: string, mount: Mount, cgroupPath: string, version: 1 | 2, notes: string[]): Quota[] {
  // The part of the cgroup path below the mount's root; a path outside it (another namespace's
  // view) is read from the mount point itself, as a container's own cgroup is.
  const rel = mount.root === '/' ? cgroupPath : cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`) ? cgroupPath.slice(mount.root.length) : '/';
  const parts = rel.split('/').filter((p) => p.length > 0 && p !== '.' && p !== '..');
  const out: Quota[] = [];
  for (let depth = parts.length; depth >= 0; depth--) {
    const dir = path.posix.join(mount.mountPoint, ...parts.slice(0, depth));
    const q = version === 2 ? readV2(fsRoot, dir, notes) : readV1(fsRoot, dir, notes);
    if (q !== undefined) out.push({ cpus: q, version, dir });
  }
  return out;
}

function readV2(fsRoot: string, dir: string, notes: string[]): number | undefined {
  const text = readText(fsRoot, path.posix.join(dir, 'cpu.max'), notes, true);
  if (text === undefined) return undefined;
  const m = /^(max|\d+)\s+(\d+)\s*$/.exec(text);
  if (m === null || Number(m[2]) <= 0) {
    notes.push(`${path.posix.join(dir, 'cpu.max')}: unreadable value`);
    return undefined;
  }
  return m[1] === 'max' ? undefined : Number(m[1]) / Number(m[2]);
}

function readV1(fsRoot: string, dir: string, notes: string[]): number | undefined {
  const quotaText = readText(fsRoot, path.posix.join(dir, 'cpu.cfs_quota_us'), notes, true);
  if (quotaText === undefined) return undefined;
  const periodText = readText(fsRoot, path.posix.join(dir, 'cpu.cfs_period_us'), notes, true);
  const quota = Number(quotaText.trim());
  const period = Number(periodText?.trim());
  if (!Number.isInteger(quota) || !Number.isInteger(period) || period <= 0 || (quota <= 0 && quota !== -1)) {
    notes.push(`${dir}: unreadable cpu.cfs_quota_us / cpu.cfs_period_us`);
    return undefined;
  }
  return quota === -1 ? undefined : quota / period;
}

/** A file's text; undefined when absent (quietly where `optional`) or unreadable (noted). */
function readText(fsRoot: string, file: string, notes: string[], optional = false): string | undefined {
  try {
    return fs.readFileSync(fsRoot + file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(optional && code === 'ENOENT')) notes.push(`${file}: ${code ?? 'unreadable'}`);
    return undefined;
  }
}
