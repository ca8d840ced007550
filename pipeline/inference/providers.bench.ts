/**
 * Does an onnxruntime execution provider (protocol.ts ExecutionProviders, e.g. `webgpu`) run the
 * repository's detector models, give the CPU's answers and cost less? Prints one JSON object.
 *
 *   node --import tsx pipeline/inference/providers.bench.ts [--ep webgpu] [--models detectors/models]
 *        [--batches 1,8,32] [--iterations 20] [--placement] [--only voice-antispoof,face-forgery]
 *
 * For every model folder the registry accepts:
 *  - raw: a session on the CPU (one thread) and one on `ep` (the service's provider list,
 *    protocol.ts executionProvidersFor), both opened by openModelSession, fed the same seeded input
 *    (the manifest's input shape; a waveform is 2 s at 16 kHz, images uniform in [0, 1]); every
 *    output compared (largest absolute difference, and relative to the output's largest
 *    magnitude), and the median / p90 wall time of `run()` per batch over `iterations` runs after
 *    two warm-ups, per batch size (`cpu` and `device`, the session on `ep`);
 *  - engine: the models the inference workers run (InferencePool TASK_KIND) opened through
 *    InferenceEngine, the service's own loading and preprocessing, on both providers, fed the same
 *    synthetic windows (detectors/testing/windows.ts); the largest logit difference.
 * A provider that cannot open a model is reported with onnxruntime's message, not hidden.
 * `--placement` lets onnxruntime log (verbose) which provider each node of the `ep` sessions
 * was placed on, to stderr. Load average before and after: wall times depend on it.
 * For a GPU machine without this checkout's node_modules, `npm run build:ep-check` makes one file
 * of it in dist/ep-check/, with the onnxruntime-node it loads beside it (docs/performance.md, "GPU path").
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { setLogLevel } from '../../kernel/log.js';
import { ModelRegistry, type AvailableModel } from '../../detectors/registry/ModelRegistry.js';
import { openModelSession } from '../../detectors/registry/openModelSession.js';
import { audioWindow, faceWindow, seededRandom, streamRef } from '../../detectors/testing/windows.js';
import type { AnalysisWindow } from '../messages.js';
import { InferenceEngine } from './InferenceEngine.js';
import { TASK_KIND } from './InferencePool.js';
import { ExecutionProviders, executionProvidersFor, type ExecutionProvider } from './protocol.js';

const { values } = parseArgs({
  options: {
    ep: { type: 'string', default: 'webgpu' },
    models: { type: 'string', default: 'detectors/models' },
    batches: { type: 'string', default: '1,8,32' },
    iterations: { type: 'string', default: '20' },
    placement: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
  },
});
if (!(ExecutionProviders as readonly string[]).includes(values.ep)) {
  process.stderr.write(`--ep must be one of ${ExecutionProviders.join(', ')}\n`);
  process.exit(2);
}
const ep = values.ep as ExecutionProvider;
const batches = values.batches.split(',').map(Number);
const iterations = Number(values.iterations);
if (batches.some((b) => !Number.isInteger(b) || b < 1) || !Number.isInteger(iterations) || iterations < 1) {
  process.stderr.write('--batches and --iterations take positive integers\n');
  process.exit(2);
}
setLogLevel('warn');

const load = (): number[] => os.loadavg().map((x) => +x.toFixed(2));
// openModelSession's errors carry onnxruntime's reason in their message.
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function stats(xs: number[]): { medianMs: number; p90Ms: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { medianMs: +at(0.5).toFixed(3), p90Ms: +at(0.9).toFixed(3) };
}

/** The manifest's first input at batch `b`, seeded: a waveform of 2 s at 16 kHz, or an image in [0, 1]. */
function input(m: AvailableModel, b: number): ort.Tensor {
  const spec = m.manifest.inputs[0]!;
  const dims = spec.shape.map((d, i) => (i === 0 ? b : typeof d === 'number' ? d : 32000));
  const n = dims.reduce((a, d) => a * d, 1);
  const rnd = seededRandom(b * 7919 + 11);
  const data = new Float32Array(n);
  const audio = dims.length === 2;
  for (let i = 0; i < n; i++) data[i] = audio ? 0.2 * Math.sin(i * 0.05) + 0.05 * (rnd() * 2 - 1) : rnd();
  return new ort.Tensor('float32', data, dims);
}

/** The service's loading path (verified bytes, manifest names checked), one thread, on `provider`. */
async function open(m: AvailableModel, provider: ExecutionProvider, verbose: boolean): Promise<ort.InferenceSession> {
  const { session } = await openModelSession(m.dir, {
    task: m.manifest.task,
    executionProviders: executionProvidersFor(provider),
    logSeverityLevel: verbose ? 0 : undefined,
  });
  return session;
}

async function time(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<{ medianMs: number; p90Ms: number }> {
  for (let i = 0; i < 2; i++) await s.run(feeds);
  const xs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    xs.push(performance.now() - t0);
  }
  return stats(xs);
}

async function raw(m: AvailableModel): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { task: m.manifest.task, version: m.manifest.version };
  const cpu = await open(m, 'cpu', false);
  let dev: ort.InferenceSession;
  try {
    const t0 = performance.now();
    dev = await open(m, ep, values.placement);
    out.openMs = Math.round(performance.now() - t0);
  } catch (e) {
    await cpu.release();
    return { ...out, opened: false, error: message(e) };
  }
  out.opened = true;
  const name = m.manifest.inputs[0]!.name;
  const b0 = batches[0]!;
  const feeds = { [name]: input(m, b0) };
  const [a, g] = [await cpu.run(feeds), await dev.run(feeds)];
  const outputs: Record<string, unknown> = {};
  for (const o of m.manifest.outputs) {
    const x = a[o.name]!.data as Float32Array;
    const y = g[o.name]!.data as Float32Array;
    let diff = 0;
    let scale = 0;
    let nonFinite = 0;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(y[i]!)) nonFinite++;
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(x[i]!));
    }
    outputs[o.name] = { values: x.length, maxAbsDiff: +diff.toPrecision(3), maxRelDiff: +(diff / (scale || 1)).toPrecision(3), nonFinite };
  }
  out.parity = { batch: b0, outputs };
  const timing: Record<string, unknown> = {};
  const fixed = typeof m.manifest.inputs[0]!.shape[0] === 'number';
  for (const b of fixed ? [b0] : batches) {
    const f = { [name]: input(m, b) };
    const c = await time(cpu, f);
    const d = await time(dev, f);
    timing[`batch${b}`] = { cpu: c, device: d, speedup: +(c.medianMs / d.medianMs).toFixed(2) };
  }
  out.timing = timing;
  await cpu.release();
  await dev.release();
  return out;
}

/** The service's path: InferenceEngine on both providers, the same windows, the largest logit difference. */
async function engine(models: AvailableModel[]): Promise<Record<string, unknown>> {
  const served = models.filter((m) => TASK_KIND[m.manifest.task] !== undefined);
  const windows = (m: AvailableModel): AnalysisWindow[] =>
    TASK_KIND[m.manifest.task] === 'audio'
      ? [1, 2, 3, 4].map((seed) => audioWindow({ stream: streamRef(`s${seed}`), seconds: 2, seed }))
      : [faceWindow({ stream: streamRef('v1', 'video'), frames: 2, seed: 7 })];
  // Every model on `ep` here, the speaker model too: the check measures what the provider does with each.
  const init = (executionProvider: ExecutionProvider) => ({ models: served, intraOpNumThreads: 1, interOpNumThreads: 1, executionProvider, cpuModels: [] });
  const cpu = await InferenceEngine.open(init('cpu'));
  const dev = await InferenceEngine.open(init(ep));
  const out: Record<string, unknown> = { failed: dev.failed };
  let job = 1;
  for (const m of served) {
    if (dev.failed.some((f) => f.id === m.id) || cpu.failed.some((f) => f.id === m.id)) continue;
    const ws = windows(m);
    const a = await cpu.engine.run({ type: 'run', jobId: job++, modelId: m.id, windows: ws });
    const g = await dev.engine.run({ type: 'run', jobId: job++, modelId: m.id, windows: ws });
    if (a.type !== 'result' || g.type !== 'result') {
      out[m.id] = { error: a.type === 'result' ? (g as { message: string }).message : (a as { message: string }).message };
      continue;
    }
    const x = a.vectors ?? Float32Array.from(a.logits);
    const y = g.vectors ?? Float32Array.from(g.logits);
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    out[m.id] = { rows: a.rows, values: x.length, maxAbsDiff: +diff.toPrecision(3), cpuFirst: +x[0]!.toFixed(5), deviceFirst: +y[0]!.toFixed(5) };
  }
  await cpu.engine.close();
  await dev.engine.close();
  return out;
}

async function main(): Promise<void> {
  const reg = new ModelRegistry({ dir: values.models });
  await reg.load();
  const only = values.only ? values.only.split(',') : [];
  const models = reg.available().filter((m) => only.length === 0 || only.includes(m.id));
  const loadStart = load();
  const perModel: Record<string, unknown> = {};
  for (const m of models) {
    try {
      perModel[m.id] = await raw(m);
    } catch (e) {
      perModel[m.id] = { error: message(e) };
    }
  }
  let viaEngine: Record<string, unknown>;
  try {
    viaEngine = await engine(models);
  } catch (e) {
    viaEngine = { error: message(e) };
  }
  const out = {
    check: 'execution-provider',
    executionProvider: ep,
    providers: executionProvidersFor(ep),
    onnxruntime: ort.env.versions.common,
    iterations,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    loadStart,
    models: perModel,
    engine: viaEngine,
    loadEnd: load(),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();
