/**
 * Worker entry for kernel/threadPriority.test.ts: reports the worker thread's id, nice value
 * and policy, and those of a child process it starts (which must inherit the thread's).
 */
import { execFileSync } from 'node:child_process';
import { parentPort } from 'node:worker_threads';
import { currentThreadId, threadCpus, threadPriorityOf } from '../threadPriority.js';

// A `cat` started by this thread prints its own /proc stat line: field 19 is its nice value, 41 its policy.
const stat = execFileSync('cat', ['/proc/self/stat'], { encoding: 'utf8' });
const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
const tid = currentThreadId()!;
const status = execFileSync('cat', ['/proc/self/status'], { encoding: 'utf8' });
const childCpus = status.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'))?.split(':')[1]?.trim();
parentPort?.postMessage({ tid, ...threadPriorityOf(tid), cpus: threadCpus(tid), childNice: Number(f[16]), childPolicy: Number(f[38]), childCpus });
