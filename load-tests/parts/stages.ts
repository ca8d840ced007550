/**
 * Per-stage costs. Runs the per-stage benches their authors wrote (each prints one JSON
 * object) as child processes, and times the repository's detector models directly with
 * onnxruntime at batch 1, 4 and 8 and 1 or 2 intra-op threads.
 *
 * CPU per second of audio, one stream: `audio` (Opus decode, VAD, the whole stream processor;
 * also per stream with 8 streams in one thread) and `challenge` (the challenge-response
 * speaker baseline's analysis pass: YIN pitch, spectrum, levels).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { repoRoot } from '../../src/config.js';
import { setLogLevel } from '../../kernel/log.js';
import { ModelRegistry } from '../../detectors/registry/ModelRegistry.js';
import { openModelSession } from '../../detectors/registry/openModelSession.js';
import type { ModelTask } from '../../detectors/registry/Manifest.js';
import { summarize, type Summary } from '../stats.js';
import { executionProvidersFor, type ExecutionProvider } from '../../pipeline/inference/protocol.js';
import { defaultMediaWorkerPoolOptions } from '../../pipeline/media/MediaWorkerPool.js';

export interface StagesOptions {
  audioSeconds: number;
  inferenceIterations: number;
  videoSeconds: number;
  faceIterations: number;
  events: number;
  modelIterations: number;
  /** Batches and intra-op thread counts for the detector timings. */
  batches: number[];
  threads: number[];
  /** onnxruntime execution provider of the detector timings (bench --ep). */
  executionProvider?: ExecutionProvider;
  /**
   * Run only these benches (names: audio, challenge, inference, videoDecode, face, events); all
   * when absent. The detector timings always run, except when the list comes from the
   * environment (`DFD_BENCH_STAGES=audio,challenge npm run bench -- --only stages`) without "detectors".
   */
  benches?: string[];
}

export interface BenchRun {
  command: string;
  ok: boolean;
  wallMs: number;
  result?: unknown;
  error?: string;
}

export interface DetectorTiming {
  detector: string;
  /** The manifest task: voice-antispoof, face-forgery or face-pad. */
  task: ModelTask;
  source: string;
  input: string;
  threads: number;
  batch: number;
  /** Wall ms of one run() divided by the batch: cost per window. */
  msPerWindow: Summary;
}

export interface StagesResult {
  benches: Record<string, BenchRun>;
  detectors: DetectorTiming[];
}

/** Runs `node --import tsx <script> ...args` and parses the JSON object it prints. */
export function runBenchScript(script: string, args: string[], timeoutMs: number): Promise<BenchRun> {
  const command = `node --import tsx ${script} ${args.join(' ')}`.trim();
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(repoRoot, script), ...args], { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const wallMs = Math.round(performance.now() - t0);
      const start = stdout.search(/^\{/m);
      if (err || start < 0) {
        resolve({ command, ok: false, wallMs, error: (err?.message ?? 'no JSON output') + (stderr ? `: ${stderr.slice(-500)}` : '') });
        return;
      }
      try {
        resolve({ command, ok: true, wallMs, result: JSON.parse(stdout.slice(start).trim().split(/\n(?=\{)/)[0]!) });
      } catch (e) {
        resolve({ command, ok: false, wallMs, error: `bad JSON: ${String(e)}` });
      }
    });
  });
}

async function timeDetectors(modelsDir: string, source: Record<string, string>, opts: StagesOptions): Promise<DetectorTiming[]> {
  setLogLevel('warn');
  const reg = new ModelRegistry({ dir: modelsDir });
  await reg.load();
  const out: DetectorTiming[] = [];
  for (const m of reg.available()) {
    const task = m.manifest.task;
    if (task !== 'voice-antispoof' && task !== 'face-forgery' && task !== 'face-pad') continue;
    const input = m.manifest.inputs[0]!;
    for (const threads of opts.threads) {
      const { session } = await openModelSession(m.dir, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', executionProviders: executionProvidersFor(opts.executionProvider ?? 'cpu') });
      for (const batch of opts.batches) {
        // Voice: a 2 s window at the model's rate; faces: one crop of the manifest's size.
        const dims = input.shape.map((d, i) => (i === 0 ? batch : typeof d === 'number' ? d : task === 'voice-antispoof' ? 2 * (m.manifest.audio?.sampleRate ?? 16000) : 1));
        const n = dims.reduce((a, b) => a * b, 1);
        const data = new Float32Array(n);
        for (let i = 0; i < n; i++) data[i] = Math.sin(i / 7) * 0.1;
        const feeds = { [input.name]: new ort.Tensor('float32', data, dims) };
        await session.run(feeds);
        const xs: number[] = [];
        for (let i = 0; i < opts.modelIterations; i++) {
          const t0 = performance.now();
          await session.run(feeds);
          xs.push((performance.now() - t0) / batch);
        }
        out.push({ detector: `${m.id}@${m.manifest.version}`, task, source: source[m.id] ?? 'repo', input: `[${dims.join(',')}]`, threads, batch, msPerWindow: summarize(xs, 3) });
      }
      await session.release();
    }
  }
  return out;
}

export async function runStages(opts: StagesOptions, modelsDir: string, source: Record<string, string>, log: (m: string) => void): Promise<StagesResult> {
  const benches: Record<string, BenchRun> = {};
  // DFD_BENCH_STAGES narrows a stages run from the command line (the detector timings only when it names "detectors").
  const fromEnv = opts.benches ? undefined : process.env['DFD_BENCH_STAGES']?.split(',').map((x) => x.trim()).filter(Boolean);
  if (fromEnv && fromEnv.length > 0) opts = { ...opts, benches: fromEnv };
  const plan: [string, string, string[]][] = [
    ['audio', 'pipeline/audio/bench.ts', [String(opts.audioSeconds)]],
    ['challenge', 'challenge-response/dsp/bench.ts', [String(Math.max(4, Math.min(opts.audioSeconds, 20)))]],
    ['inference', 'pipeline/inference/bench.ts', ['--iterations', String(opts.inferenceIterations), '--intra', '1']],
    ['videoDecode', 'pipeline/video/bench.ts', ['--seconds', String(opts.videoSeconds)]],
    ['face', 'detectors/face/bench.ts', [String(opts.faceIterations), String(defaultMediaWorkerPoolOptions.faceRedetectEvery)]],
    ['events', 'events/bench.ts', [String(opts.events)]],
  ];
  for (const [name, script, args] of plan) {
    if (opts.benches && !opts.benches.includes(name)) continue;
    benches[name] = await runBenchScript(script, args, 300_000);
    log(`stages ${name}: ${benches[name].ok ? 'ok' : `FAILED ${benches[name].error ?? ''}`} (${benches[name].wallMs} ms)`);
  }
  const detectors = fromEnv && fromEnv.length > 0 && !fromEnv.includes('detectors') ? [] : await timeDetectors(modelsDir, source, opts);
  log(`stages detectors: ${detectors.length} timings`);
  return { benches, detectors };
}
