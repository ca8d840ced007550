/**
 * Memory over a long run: an analysing service with N speech streams; samples the
 * service process's heap and RSS (worker threads included in RSS) and the mediasoup
 * workers' RSS, and fits a line after a warm-up fraction. Reports MB per minute.
 */
import { AgentClient } from '../AgentClient.js';
import { publishSpeechStreams, sfuPids, startBenchService, type BenchServiceSettings, stopAll } from '../harness.js';
import { linearFit, loadAvg1, procRssMb, sleep } from '../stats.js';

export interface MemoryOptions {
  streams: number;
  durationSec: number;
  sampleSec: number;
  /** Fraction of the run ignored at the start (allocators and JIT warming up). */
  warmupFraction: number;
}

export interface MemorySample {
  t: number;
  heapMb: number;
  rssMb: number;
  sfuRssMb: number;
}

export interface MemoryResult {
  streams: number;
  durationSec: number;
  samples: MemorySample[];
  slopeMbPerMin: { heap: number; rss: number; sfuRss: number };
  r2: { heap: number; rss: number; sfuRss: number };
  start: MemorySample | undefined;
  end: MemorySample | undefined;
  windowsScored: number;
  loadAvg1: number;
}

export async function runMemory(opts: MemoryOptions, settings: BenchServiceSettings, modelsDir: string, speechWav: string, log: (m: string) => void): Promise<MemoryResult> {
  const service = await startBenchService(settings, modelsDir);
  const agent = await AgentClient.start(speechWav);
  const samples: MemorySample[] = [];
  let scored = 0;
  service.pipeline!.on('score', () => scored++);
  try {
    await publishSpeechStreams(service, agent, opts.streams, { prefix: 'mem', firstIndex: 0, roomSize: 10 });
    const pids = sfuPids(service);
    const t0 = performance.now();
    let nextLog = 60;
    while ((performance.now() - t0) / 1000 < opts.durationSec) {
      await sleep(opts.sampleSec * 1000);
      const m = process.memoryUsage();
      const t = (performance.now() - t0) / 1000;
      samples.push({ t: +t.toFixed(1), heapMb: +(m.heapUsed / 2 ** 20).toFixed(2), rssMb: +(m.rss / 2 ** 20).toFixed(2), sfuRssMb: +pids.reduce((a, p) => a + procRssMb(p), 0).toFixed(2) });
      if (t >= nextLog) {
        log(`memory t=${Math.round(t)}s rss=${samples.at(-1)!.rssMb} MB heap=${samples.at(-1)!.heapMb} MB`);
        nextLog += 60;
      }
    }
  } finally {
    await stopAll(agent, service);
  }
  const used = samples.filter((s) => s.t >= opts.durationSec * opts.warmupFraction);
  const mins = used.map((s) => s.t / 60);
  const fit = (k: 'heapMb' | 'rssMb' | 'sfuRssMb') => linearFit(mins, used.map((s) => s[k]));
  const h = fit('heapMb');
  const r = fit('rssMb');
  const s = fit('sfuRssMb');
  return {
    streams: opts.streams,
    durationSec: opts.durationSec,
    samples,
    slopeMbPerMin: { heap: +h.slope.toFixed(3), rss: +r.slope.toFixed(3), sfuRss: +s.slope.toFixed(3) },
    r2: { heap: +h.r2.toFixed(3), rss: +r.r2.toFixed(3), sfuRss: +s.r2.toFixed(3) },
    start: used[0],
    end: used.at(-1),
    windowsScored: scored,
    loadAvg1: loadAvg1(),
  };
}
