/**
 * Inference benchmark on the built test models. Prints one JSON object.
 *
 *   node --import tsx pipeline/inference/bench.ts [--iterations 30] [--intra 1] [--inter 1]
 *
 * For each case it reports per-window milliseconds (median and p90) two ways:
 *  - session: onnxruntime `run()` alone on an already-preprocessed tensor (this thread);
 *  - pool:    worker compute through InferencePool (preprocessing + run), divided by the
 *             windows in the batch, i.e. what a WindowScore's inferenceMs costs per window.
 * Faces: one 256x256 frame per window, batches of 1, 4, 8. Voice: 1, 2, 4 s windows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { setLogLevel } from '../../kernel/log.js';
import { ModelRegistry } from '../../detectors/registry/ModelRegistry.js';
import { openModelSession } from '../../detectors/registry/openModelSession.js';
import { buildTestModels, FACE_SIZE } from '../../detectors/testing/testModels.js';
import { audioWindow, faceWindow, streamRef } from '../../detectors/testing/windows.js';
import type { WindowScore } from '../messages.js';
import { InferencePool } from './InferencePool.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '30' }, intra: { type: 'string', default: '1' }, inter: { type: 'string', default: '1' } } });
const iterations = Number(values.iterations);
const intraOpNumThreads = Number(values.intra);
const interOpNumThreads = Number(values.inter);
setLogLevel('warn');

function stats(xs: number[]): { medianMs: number; p90Ms: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { medianMs: +at(0.5).toFixed(4), p90Ms: +at(0.9).toFixed(4) };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-bench-'));
  try {
    buildTestModels(dir);
    const reg = new ModelRegistry({ dir });
    await reg.load();
    const voice = reg.get('test-voice');
    const face = reg.get('test-face');
    const opts = { intraOpNumThreads, interOpNumThreads, executionMode: 'sequential' as const, graphOptimizationLevel: 'all' as const };

    // --- session only
    const session: Record<string, unknown> = {};
    const { session: fs_ } = await openModelSession(face.dir, opts);
    for (const b of [1, 4, 8]) {
      const data = new Float32Array(b * 3 * FACE_SIZE * FACE_SIZE).fill(0.25);
      const t = new ort.Tensor('float32', data, [b, 3, FACE_SIZE, FACE_SIZE]);
      await fs_.run({ image: t });
      const xs: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        await fs_.run({ image: t });
        xs.push((performance.now() - t0) / b);
      }
      session[`face_batch${b}`] = stats(xs);
    }
    await fs_.release();
    const { session: vs } = await openModelSession(voice.dir, opts);
    for (const sec of [1, 2, 4]) {
      const n = sec * 16000;
      const t = new ort.Tensor('float32', new Float32Array(n).map((_, i) => Math.sin(i / 7) * 0.05), [1, n]);
      await vs.run({ waveform: t });
      const xs: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        await vs.run({ waveform: t });
        xs.push(performance.now() - t0);
      }
      session[`voice_${sec}s`] = stats(xs);
    }
    await vs.release();

    // --- through the pool (worker thread, preprocessing included)
    const pool: Record<string, unknown> = {};
    for (const b of [1, 4, 8]) {
      const p = new InferencePool([face], { intraOpNumThreads, interOpNumThreads, maxBatchFrames: b, maxWaitMs: 1000, queueCapacity: 64 });
      await p.ready();
      const xs: number[] = [];
      for (let i = 0; i < iterations + 1; i++) {
        const got: WindowScore[] = [];
        const done = new Promise<void>((resolve) => {
          const on = (s: WindowScore): void => {
            got.push(s);
            if (got.length === b) {
              p.off('score', on);
              resolve();
            }
          };
          p.on('score', on);
        });
        for (let k = 0; k < b; k++) p.submit(faceWindow({ stream: streamRef(`s${k}`, 'video'), seq: i, frames: 1, seed: k + 1 }));
        await done;
        if (i > 0) xs.push(got[0]!.inferenceMs / b);
      }
      pool[`face_batch${b}`] = stats(xs);
      await p.close();
    }
    {
      const p = new InferencePool([voice], { intraOpNumThreads, interOpNumThreads });
      await p.ready();
      for (const sec of [1, 2, 4]) {
        const xs: number[] = [];
        for (let i = 0; i < iterations + 1; i++) {
          const done = new Promise<WindowScore>((resolve) => p.once('score', resolve));
          p.submit(audioWindow({ seq: i, seconds: sec, sampleRate: 16000, seed: 3 }));
          const s = await done;
          if (i > 0) xs.push(s.inferenceMs);
        }
        pool[`voice_${sec}s`] = stats(xs);
      }
      await p.close();
    }

    const out = {
      bench: 'inference',
      models: { face: `${face.id}@${face.manifest.version}`, voice: `${voice.id}@${voice.manifest.version}` },
      threads: { intraOpNumThreads, interOpNumThreads, executionMode: 'sequential', poolWorkers: 1 },
      iterations,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      node: process.version,
      perWindowMs: { session, pool },
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(String(e) + '\n');
  process.exitCode = 1;
});
