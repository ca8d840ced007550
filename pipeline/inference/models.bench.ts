/**
 * Cost of the repository's audio models (detectors/models: voice-antispoof, speaker-embed, any
 * other model whose task the pool runs on audio) in the inference worker. Prints one JSON object.
 *
 *   node --import tsx pipeline/inference/models.bench.ts [--iterations 30] [--batches 1,2,4,8]
 *        [--workers 1,2] [--audio-batch 1,8] [--windows 240] [--models detectors/models] [--ep cpu|webgpu]
 *        [--cpu-models speaker-embed]   (with --ep webgpu: models kept on the CPU, as DFD_ORT_CPU_MODELS; "none": none)
 *
 *  - perWindowMs: round trip per 2 s speech window through the inference worker (post,
 *    preprocessing, onnxruntime run, answer), one model alone in an InferencePool, batches of B windows from B
 *    streams (`maxAudioBatch` B), median and p90 over `iterations` batches after one warm-up;
 *  - throughput: `windows` 2 s windows from 60 streams submitted at once to a pool holding every
 *    audio model (as the service runs them), W worker threads, `maxAudioBatch` B: wall time until every model has
 *    answered every window, windows per second, and the most streams that rate serves at one
 *    window per stream per second (the service's 1 s hop).
 * Every model answers every window here: a cascade stage's 1-in-N sampling (`voice-whisper`) and the speaker
 * model's thinning under backlog are off, so the numbers are the models' own cost, not the service's share of it
 * (without this the runs waited for answers the sampling never gives).
 * Load average is recorded before and after: on a shared machine wall times depend on it.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../kernel/log.js';
import { ModelRegistry, type AvailableModel } from '../../detectors/registry/ModelRegistry.js';
import { audioWindow, streamRef } from '../../detectors/testing/windows.js';
import { withCascadeSetting } from './cascade.js';
import { InferencePool, TASK_KIND, type InferencePoolOptions } from './InferencePool.js';
import { ExecutionProviders, type ExecutionProvider } from './protocol.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '30' },
    batches: { type: 'string', default: '1,2,4,8' },
    workers: { type: 'string', default: '1,2' },
    windows: { type: 'string', default: '240' },
    models: { type: 'string', default: 'detectors/models' },
    'audio-batch': { type: 'string', default: '1,8' },
    ep: { type: 'string', default: 'cpu' },
    'cpu-models': { type: 'string', default: 'speaker-embed' },
  },
});
if (!(ExecutionProviders as readonly string[]).includes(values.ep)) {
  process.stderr.write(`--ep must be one of ${ExecutionProviders.join(', ')}\n`);
  process.exit(2);
}
const executionProvider = values.ep as ExecutionProvider;
const cpuModels = values['cpu-models'] === 'none' ? [] : values['cpu-models'].split(',').filter(Boolean);
/** Every window to every model: no embedding thinning, no cascade yielding (the cascade itself: withCascadeSetting). */
const everyWindow: Partial<InferencePoolOptions> = { executionProvider, cpuModels, embeddingThinFill: 1, cascadeYieldFill: 1 };
const iterations = Number(values.iterations);
const batches = values.batches.split(',').map(Number);
const workerCounts = values.workers.split(',').map(Number);
const totalWindows = Number(values.windows);
const audioBatches = values['audio-batch'].split(',').map(Number);
setLogLevel('warn');

function stats(xs: number[]): { medianMs: number; p90Ms: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { medianMs: +at(0.5).toFixed(3), p90Ms: +at(0.9).toFixed(3) };
}

const load = (): number[] => os.loadavg().map((x) => +x.toFixed(2));

/** Resolves once `n` answers (scores, embeddings or drops) came from the pool. */
function answers(p: InferencePool, n: number): Promise<{ dropped: number }> {
  return new Promise((resolve) => {
    let got = 0;
    let dropped = 0;
    const done = (): void => {
      if (++got < n) return;
      p.off('score', done);
      p.off('embedding', done);
      p.off('dropped', onDrop);
      resolve({ dropped });
    };
    const onDrop = (): void => {
      dropped++;
      done();
    };
    p.on('score', done);
    p.on('embedding', done);
    p.on('dropped', onDrop);
  });
}

async function perWindow(model: AvailableModel): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const b of batches) {
    const p = new InferencePool([model], { ...everyWindow, maxAudioBatch: b, queueCapacity: 1024 });
    await p.ready();
    const xs: number[] = [];
    for (let i = 0; i < iterations + 1; i++) {
      const done = answers(p, b);
      // Round trip of the batch (post, preprocessing, run, answer): embeddings carry no inferenceMs.
      const t0 = performance.now();
      for (let k = 0; k < b; k++) p.submit(audioWindow({ stream: streamRef(`s${k}`), seq: i, seconds: 2, seed: k + 1 }));
      await done;
      if (i > 0) xs.push((performance.now() - t0) / b);
    }
    await p.close();
    out[`batch${b}`] = stats(xs);
  }
  return out;
}

async function throughput(models: AvailableModel[], workers: number, maxAudioBatch: number): Promise<Record<string, unknown>> {
  const p = new InferencePool(models, { ...everyWindow, workers, maxAudioBatch, queueCapacity: 4096, maxQueueAgeMs: 600_000 });
  await p.ready();
  // warm-up: one window through every worker
  for (let k = 0; k < workers * 2; k++) {
    const w = answers(p, models.length);
    p.submit(audioWindow({ stream: streamRef(`w${k}`), seconds: 2, seed: k + 1 }));
    await w;
  }
  const windows = Array.from({ length: totalWindows }, (_, i) => audioWindow({ stream: streamRef(`s${i % 60}`), seq: Math.floor(i / 60), seconds: 2, seed: (i % 60) + 1 }));
  const loadBefore = load();
  const cpu0 = process.cpuUsage();
  const done = answers(p, totalWindows * models.length);
  const t0 = performance.now();
  for (const w of windows) p.submit(w);
  const { dropped } = await done;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await p.close();
  const perSecond = totalWindows / (wallMs / 1000);
  return {
    workers,
    maxAudioBatch,
    windows: totalWindows,
    dropped,
    wallMs: Math.round(wallMs),
    windowsPerSecond: +perSecond.toFixed(1),
    wallMsPerWindow: +(wallMs / totalWindows).toFixed(3),
    cpuMsPerWindow: +((cpu.user + cpu.system) / 1000 / totalWindows).toFixed(3),
    streamsAtOneWindowPerSecond: Math.floor(perSecond),
    loadBefore,
    loadAfter: load(),
  };
}

async function main(): Promise<void> {
  const reg = new ModelRegistry({ dir: values.models });
  await reg.load();
  const audio = withCascadeSetting(reg.available().filter((m) => TASK_KIND[m.manifest.task] === 'audio'), 1);
  const loadStart = load();
  const perWindowMs: Record<string, unknown> = {};
  for (const m of audio) perWindowMs[`${m.id}@${m.manifest.version}`] = await perWindow(m);
  const tp: Record<string, unknown>[] = [];
  for (const b of audioBatches) {
    for (const w of workerCounts) tp.push({ models: audio.map((m) => m.id), ...(await throughput(audio, w, b)) });
    for (const m of audio) for (const w of workerCounts) tp.push({ models: [m.id], ...(await throughput([m], w, b)) });
  }
  const out = {
    bench: 'inference-models',
    executionProvider,
    cpuModels: executionProvider === 'cpu' ? [] : cpuModels,
    iterations,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    loadStart,
    perWindowMs,
    throughput: tp,
    loadEnd: load(),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

void main().catch((e: unknown) => {
  process.stderr.write(String(e) + '\n');
  process.exitCode = 1;
});
