/**
 * Scheduling priority of the calling thread (Linux): a nice value, a scheduling policy and,
 * optionally, the CPUs it may run on.
 *
 * Analysis runs in worker threads of the service's own process. Node's `os.setPriority(pid)`
 * acts on one thread when given a thread id (Linux `setpriority(PRIO_PROCESS, tid)`), and a
 * thread finds its own id through `/proc/thread-self`. The policy is set with util-linux's
 * `chrt` and the CPUs with its `taskset` (util-linux is Essential on Debian) on that thread
 * id. Threads and processes the thread
 * creates later (onnxruntime's intra-op threads, an ffmpeg child) inherit both, so a worker
 * sets them first thing, before it loads anything.
 *
 * Policies: `normal` (SCHED_OTHER), `batch` (SCHED_BATCH: CPU-bound, never preempts on
 * wake-up) and `idle` (SCHED_IDLE: runs on what normal threads leave, and any normal thread
 * that wakes up preempts it at once; the nice value does not apply). Raising the nice value or
 * moving to batch or idle needs no privilege; the way back needs CAP_SYS_NICE.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { DfdError, toDfdError } from './errors.js';
import { createLogger } from './log.js';

const log = createLogger('thread-priority');

export const SchedulingPolicies = ['normal', 'batch', 'idle'] as const;
export type SchedulingPolicy = (typeof SchedulingPolicies)[number];

export interface ThreadPriority {
  /** -20..19 (ignored by the idle policy). */
  nice: number;
  policy: SchedulingPolicy;
  /** CPUs (0-based) the thread may run on; absent or empty: leave its affinity. */
  cpus?: readonly number[];
}

/** Leave the thread as it was started. */
export const inheritedPriority: ThreadPriority = { nice: 0, policy: 'normal' };

/** Linux policy numbers (sched.h) of /proc/<tid>/stat field 41. */
const POLICY_NUMBER: Record<SchedulingPolicy, number> = { normal: 0, batch: 3, idle: 5 };
const CHRT_FLAG: Record<SchedulingPolicy, string> = { normal: '--other', batch: '--batch', idle: '--idle' };

/** The kernel's id of the calling thread, from /proc/thread-self; undefined where there is none. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<tid>/stat after the command name: index 0 is field 3. */
function statFields(tid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A thread's nice value and policy (of this process), from /proc; undefined where unreadable. */
export function threadPriorityOf(tid: number): { nice: number; policy: SchedulingPolicy | 'other' } | undefined {
  const f = statFields(tid);
  if (!f) return undefined;
  const nice = Number(f[16]);
  const policyNumber = Number(f[38]);
  const policy = (Object.keys(POLICY_NUMBER) as SchedulingPolicy[]).find((p) => POLICY_NUMBER[p] === policyNumber) ?? 'other';
  return Number.isInteger(nice) ? { nice, policy } : undefined;
}

/**
 * Sets the calling thread's nice value and policy. ERR_CONFIG for a nice value outside
 * -20..19 or an unknown policy; ERR_PRIORITY where threads have no id of their own (not
 * Linux), `chrt` is missing, or the kernel refused (e.g. a lower nice value without
 * CAP_SYS_NICE). Returns the thread id.
 */
export function setThreadPriority(p: Partial<ThreadPriority>): number {
  const nice = p.nice ?? 0;
  const policy = p.policy ?? 'normal';
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new DfdError('ERR_CONFIG', 'a nice value is an integer from -20 to 19', { nice });
  if (!(SchedulingPolicies as readonly string[]).includes(policy)) throw new DfdError('ERR_CONFIG', `a scheduling policy is one of ${SchedulingPolicies.join(', ')}`, { policy });
  const tid = currentThreadId();
  if (tid === undefined) throw new DfdError('ERR_PRIORITY', 'this platform gives threads no id of their own (/proc/thread-self)');
  try {
    os.setPriority(tid, nice);
  } catch (e) {
    throw new DfdError('ERR_PRIORITY', 'the kernel refused the thread priority', { nice, error: e instanceof Error ? e.message : String(e) });
  }
  const cpus = p.cpus ?? [];
  if (!cpus.every((c) => Number.isInteger(c) && c >= 0 && c < 4096)) throw new DfdError('ERR_CONFIG', 'CPUs are integers from 0', { cpus: [...cpus] });
  if (policy !== 'normal' || threadPriorityOf(tid)?.policy !== 'normal') {
    try {
      execFileSync('chrt', [CHRT_FLAG[policy], '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
    } catch (e) {
      throw new DfdError('ERR_PRIORITY', 'the scheduling policy could not be set (chrt)', { policy, error: e instanceof Error ? e.message : String(e) });
    }
  }
  if (cpus.length > 0) setAffinity(tid, cpus, false);
  return tid;
}

/** Real-time policies a whole process (the mediasoup workers) may be given. */
export const RealtimePolicies = ['fifo', 'rr'] as const;
export type RealtimePolicy = (typeof RealtimePolicies)[number];

/**
 * Gives every thread of process `pid` a real-time policy at `priority` (1-99) with util-linux's
 * `chrt`; threads it starts later inherit it. For an event-driven process that must wake at once
 * whatever else runs (forwarding media); the kernel's real-time throttling
 * (/proc/sys/kernel/sched_rt_runtime_us) still leaves the rest of the machine its share if it ever
 * spun. ERR_CONFIG for a bad policy or priority; ERR_PRIORITY when it fails (needs root or CAP_SYS_NICE).
 */
export function setRealtime(pid: number, policy: RealtimePolicy, priority: number): void {
  if (!(RealtimePolicies as readonly string[]).includes(policy)) throw new DfdError('ERR_CONFIG', `a real-time policy is one of ${RealtimePolicies.join(', ')}`, { policy });
  if (!Number.isInteger(priority) || priority < 1 || priority > 99) throw new DfdError('ERR_CONFIG', 'a real-time priority is an integer from 1 to 99', { priority });
  try {
    execFileSync('chrt', ['--all-tasks', policy === 'fifo' ? '--fifo' : '--rr', '--pid', String(priority), String(pid)], { stdio: 'ignore', timeout: 5000 });
  } catch (e) {
    throw new DfdError('ERR_PRIORITY', 'the real-time policy could not be set (chrt)', { policy, priority, error: e instanceof Error ? e.message : String(e) });
  }
}

/** A process's scheduling policy and real-time priority (/proc/<pid>/stat fields 40 and 41); undefined where unreadable. */
export function processScheduling(pid: number): { policy: 'normal' | 'fifo' | 'rr' | 'batch' | 'idle' | 'other'; rtPriority: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const names: Record<number, 'normal' | 'fifo' | 'rr' | 'batch' | 'idle'> = { 0: 'normal', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle' };
    return { policy: names[Number(f[38])] ?? 'other', rtPriority: Number(f[37]) };
  } catch {
    return undefined;
  }
}

/**
 * Pins a thread (or, with `allThreads`, every thread of process `id`) to `cpus` with util-linux's
 * `taskset`. ERR_PRIORITY when it fails (e.g. a CPU outside this process's cpuset).
 */
export function setAffinity(id: number, cpus: readonly number[], allThreads: boolean): void {
  try {
    execFileSync('taskset', [...(allThreads ? ['--all-tasks'] : []), '--cpu-list', '--pid', cpus.join(','), String(id)], { stdio: 'ignore', timeout: 5000 });
  } catch (e) {
    throw new DfdError('ERR_PRIORITY', 'the CPU affinity could not be set (taskset)', { cpus: [...cpus], error: e instanceof Error ? e.message : String(e) });
  }
}

/** The CPUs a thread of this process may run on (Cpus_allowed_list of /proc/self/task/<tid>/status). */
export function threadCpus(tid: number): number[] | undefined {
  try {
    const line = fs.readFileSync(`/proc/self/task/${tid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    if (!line) return undefined;
    return line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(',')
      .flatMap((part) => {
        const [a, b] = part.split('-').map(Number);
        if (a === undefined || !Number.isInteger(a)) return [];
        const end = b !== undefined && Number.isInteger(b) ? b : a;
        return Array.from({ length: end - a + 1 }, (_, i) => a + i);
      });
  } catch {
    return undefined;
  }
}

/**
 * What a worker thread started with `startWorker(..., { priority })` runs before its entry
 * module: sets the priority, and logs a warning (never throws) when it cannot, so the worker
 * still runs, at the priority it inherited.
 */
export function applyWorkerPriority(p: ThreadPriority, name: string): void {
  try {
    setThreadPriority(p);
  } catch (e) {
    const err = toDfdError(e);
    log.warn('worker thread runs at its inherited priority', { worker: name, nice: p.nice, policy: p.policy, cpus: p.cpus ? [...p.cpus] : [], code: err.code, error: err.message });
  }
}
