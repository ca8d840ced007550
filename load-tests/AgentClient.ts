/**
 * Parent side of the media agent: forks `mediaAgent.ts` (its own process, so the RTP
 * senders' CPU is not billed to the service) and talks to it over IPC.
 */
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RtpTarget } from './RtpLoadSender.js';
import type { AgentReply, AgentRequest, AgentStats, ProbeResult } from './agentProtocol.js';
import { setRealtime } from '../kernel/threadPriority.js';

const here = path.dirname(fileURLToPath(import.meta.url));

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Req = AgentRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class AgentClient {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #exited = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (raw) => {
      const r = raw as AgentReply;
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (r.ok) p.resolve(r.data);
      else p.reject(new Error(`media agent: ${r.error}`));
    });
    child.on('exit', (code) => {
      this.#exited = true;
      for (const p of this.#pending.values()) p.reject(new Error(`media agent exited (${code})`));
      this.#pending.clear();
    });
  }

  /** Forks the agent and waits until it has encoded the speech clip. */
  /**
   * `phases`: send slots per 20 ms of the load streams (RtpLoadSender; 1 = lockstep bursts).
   * `nice`: the agent process's nice value (negative needs root): the agent stands in for remote
   * senders and receivers, so its own scheduling delay on the measured machine is not the SFU's.
   * `sched`: a real-time policy for it (priority 10; needs root), for the same reason.
   */
  static async start(speechWav: string, opts: { phases?: number; nice?: number; sched?: 'normal' | 'fifo' | 'rr' } = {}): Promise<AgentClient> {
    const child = fork(path.join(here, 'mediaAgent.ts'), [speechWav, ...(opts.phases !== undefined ? [String(opts.phases)] : [])], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const client = new AgentClient(child);
    // Under load-tests/with-cpu-quota.sh the agent (a stand-in for remote callers) leaves the quota's cgroup.
    const outside = process.env['DFD_BENCH_AGENT_CGROUP_PROCS'];
    if (outside !== undefined && outside !== '' && child.pid !== undefined) fs.appendFileSync(outside, `${child.pid}\n`);
    // A bench started under `taskset -c 0` (the service on one CPU, as a pod with an exclusive cpuset) runs the
    // agents on other CPUs: DFD_BENCH_AGENT_CPUS=1 (a taskset CPU list).
    const agentCpus = process.env['DFD_BENCH_AGENT_CPUS'];
    if (agentCpus !== undefined && agentCpus !== '' && child.pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', agentCpus, String(child.pid)], { stdio: 'ignore' });
    if (opts.nice !== undefined && opts.nice !== 0 && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, opts.nice);
      } catch (e) {
        process.stderr.write(`media agent keeps the default priority: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    if (opts.sched !== undefined && opts.sched !== 'normal' && child.pid !== undefined) {
      try {
        setRealtime(child.pid, opts.sched, 10);
      } catch (e) {
        process.stderr.write(`media agent keeps the default scheduling policy: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    await new Promise<void>((resolve, reject) => {
      client.#pending.set(0, { resolve: () => resolve(), reject });
    });
    return client;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  #request<T>(req: Req): Promise<T> {
    if (this.#exited) return Promise.reject(new Error('media agent has exited'));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ ...req, id } as AgentRequest);
    });
  }

  /** Adds streams to a group and starts (or keeps) its pacing. */
  add(targets: RtpTarget[], group = 'load'): Promise<{ streams: number }> {
    return this.#request({ type: 'add', group, targets });
  }

  pause(group = 'load'): Promise<unknown> {
    return this.#request({ type: 'pause', group });
  }

  resume(group = 'load'): Promise<unknown> {
    return this.#request({ type: 'resume', group });
  }

  probeOpen(): Promise<{ port: number }> {
    return this.#request({ type: 'probe-open' });
  }

  probeStart(target: RtpTarget): Promise<unknown> {
    return this.#request({ type: 'probe-start', target });
  }

  probeCollect(): Promise<ProbeResult> {
    return this.#request({ type: 'probe-collect' });
  }

  probeStop(): Promise<unknown> {
    return this.#request({ type: 'probe-stop' });
  }

  stats(): Promise<AgentStats> {
    return this.#request({ type: 'stats' });
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    await this.#request({ type: 'close' }).catch(() => undefined);
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}
