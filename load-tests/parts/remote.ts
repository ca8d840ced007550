/**
 * Remote analysis throughput (`npm run bench -- --only remote`): a real nats-server, N analysis
 * worker processes (`src/worker.ts`, what `npm run worker` runs, with the shipped models), and the
 * service side's RemoteInference sending speech-sized windows (2 s at 16 kHz, 20 streams) as fast
 * as its in-flight limit allows. Per N: windows answered per second, round trip (submit to the
 * voice score) p50/p95, windows dropped. On one machine the workers share its cores, so the
 * ratio between N = 1 and N = 2 measures what the fabric costs and how well a queue group
 * spreads work, not the speed-up of separate machines (each worker there brings its own cores).
 */
import { connect } from 'nats';
import { NatsServerProcess } from '../../events/NatsServerProcess.js';
import { ModelRegistry } from '../../detectors/registry/ModelRegistry.js';
import { audioWindow, streamRef } from '../../detectors/testing/windows.js';
import { RemoteInference } from '../../cluster/RemoteInference.js';
import { exited, startWorkerProcess } from '../../cluster/testing/workerProcess.js';
import { loadAvg1, summarize, type Summary } from '../stats.js';
import { setLogLevel } from '../../kernel/log.js';

export interface RemoteOptions {
  /** Worker counts to measure, e.g. [1, 2]. */
  workers: number[];
  /** Windows per measurement (after 20 warm-up windows). */
  windows: number;
  /** Inference threads per worker (DFD_INFERENCE_WORKERS). */
  inferenceThreads: number;
}

export interface RemoteStep {
  workers: number;
  windows: number;
  seconds: number;
  windowsPerSec: number;
  scored: number;
  dropped: number;
  roundTripMs: Summary;
  load1: number;
}

export interface RemoteResult {
  command: string;
  detectors: string[];
  steps: RemoteStep[];
  /** windowsPerSec with the most workers over with one. */
  speedup: number | null;
}

export async function runRemote(opts: RemoteOptions, modelsDir: string, log: (m: string) => void): Promise<RemoteResult> {
  setLogLevel('warn');
  const nats = await NatsServerProcess.start();
  const nc = await connect({ servers: nats.url, ...nats.serviceAuth });
  const registry = new ModelRegistry({ dir: modelsDir });
  await registry.load();
  const models = registry.available();
  const steps: RemoteStep[] = [];
  try {
    for (const n of opts.workers) {
      const workers = await Promise.all(Array.from({ length: n }, () => startWorkerProcess(nats, { DFD_MODELS_DIR: modelsDir, DFD_INFERENCE_WORKERS: String(opts.inferenceThreads) }).then((w) => w.child)));
      const remote = new RemoteInference(nc, models, { maxInFlight: 8 * n, queueCapacity: opts.windows + 100, timeoutMs: 30_000, maxQueueAgeMs: 600_000 });
      const voice = remote.detectors().find((d) => d.task === 'voice-antispoof')?.id;
      const submitted = new Map<number, number>();
      const rtt: number[] = [];
      let scored = 0;
      let dropped = 0;
      remote.on('score', (s) => {
        if (s.detector !== voice) return;
        const t = submitted.get(s.seq);
        if (t !== undefined) rtt.push(performance.now() - t);
        scored++;
      });
      remote.on('dropped', (d) => {
        if (d.detector === voice) dropped++;
      });
      const run = async (count: number, base: number): Promise<number> => {
        const t0 = performance.now();
        const before = scored + dropped;
        for (let i = 0; i < count; i++) {
          const seq = base + i;
          submitted.set(seq, performance.now());
          remote.submit(audioWindow({ stream: streamRef(`caller-${i % 20}`), seq, seconds: 2, seed: 1 + (i % 50) }));
        }
        while (scored + dropped - before < count) await new Promise((r) => setTimeout(r, 5));
        return (performance.now() - t0) / 1000;
      };
      await run(20, 0); // warm-up: sessions, JIT, connections
      rtt.length = 0;
      scored = 0;
      dropped = 0;
      const seconds = await run(opts.windows, 1000);
      const step: RemoteStep = { workers: n, windows: opts.windows, seconds: +seconds.toFixed(2), windowsPerSec: +(opts.windows / seconds).toFixed(1), scored, dropped, roundTripMs: summarize(rtt), load1: loadAvg1() };
      steps.push(step);
      log(`remote ${n} worker(s): ${step.windowsPerSec} windows/s, round trip p50 ${step.roundTripMs.p50} ms p95 ${step.roundTripMs.p95} ms, dropped ${dropped}`);
      await remote.close();
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map(exited));
    }
  } finally {
    await nc.close();
    await nats.close();
  }
  const first = steps[0];
  const last = steps.at(-1);
  return {
    command: `npm run bench -- --only remote --remote-workers ${opts.workers.join(',')} --remote-windows ${opts.windows}`,
    detectors: models.map((m) => `${m.id}@${m.manifest.version}`),
    steps,
    speedup: first && last && first !== last ? +(last.windowsPerSec / first.windowsPerSec).toFixed(2) : null,
  };
}
