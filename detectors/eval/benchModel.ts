/**
 * `npm run eval -- --bench <iterations> --model <dir or id>`: inference cost per service window
 * of one model, timed by the InferenceWorker itself (what WindowScore.inferenceMs reports).
 */
import { defaultMediaWorkerPoolOptions } from '../../pipeline/media/MediaWorkerPool.js';
import type { AnalysisWindow, StreamRef } from '../../pipeline/messages.js';
import { resolveModelOf, WORKER_TASKS } from './resolveModel.js';
import { WorkerInference } from './WorkerInference.js';

const STREAM: StreamRef = { roomId: 'bench', peerId: 'bench', producerId: 'bench', kind: 'audio' };

export interface BenchResult {
  model: string;
  version: string;
  window: string;
  iterations: number;
  /** Worker compute per window (preprocessing + onnxruntime run, as WindowScore.inferenceMs). */
  medianMs: number;
  p90Ms: number;
  meanMs: number;
}

/**
 * Inference cost per service window of one model through the InferenceWorker: audio windows of
 * `windowSeconds` at the model rate, or face windows of `faceWindowFrames` 256x256 crops, filled
 * with seeded noise (the cost does not depend on content). Any model the worker runs (voice
 * anti-spoofing, speaker embedding, face forgery, face PAD). Three warm-up runs are not counted.
 */
export async function benchModel(
  spec: string,
  modelsDir: string,
  iterations: number,
  o: { windowSeconds: number; faceWindowFrames: number } = { windowSeconds: defaultMediaWorkerPoolOptions.windowSeconds, faceWindowFrames: defaultMediaWorkerPoolOptions.faceWindowFrames },
): Promise<BenchResult> {
  const model = await resolveModelOf(spec, WORKER_TASKS, modelsDir);
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const audio = model.manifest.audio;
  const make = (): AnalysisWindow => {
    if (audio) {
      const n = Math.round(o.windowSeconds * audio.sampleRate);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = 0.1 * Math.sin(i * 0.05) + 0.05 * (rnd() - 0.5);
      return { type: 'audio-window', stream: STREAM, seq: 0, sampleRate: audio.sampleRate, samples, rtpStart: 0, rtpEnd: 0, wallStart: 0, wallEnd: 0, speechSeconds: o.windowSeconds, quality: { packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'none' } };
    }
    const crops = new Uint8Array(o.faceWindowFrames * 256 * 256 * 3);
    for (let i = 0; i < crops.length; i++) crops[i] = (rnd() * 256) | 0;
    return { type: 'face-window', stream: { ...STREAM, kind: 'video' }, seq: 0, width: 256, height: 256, crops, frames: o.faceWindowFrames, wallStart: 0, wallEnd: 0, quality: { frameRate: 5, faceSize: 0, packetLoss: 0 } };
  };
  const inf = await WorkerInference.open(model);
  const ms: number[] = [];
  try {
    for (let i = 0; i < iterations + 3; i++) {
      const r = await inf.run([make()]);
      if (i >= 3) ms.push(r.inferenceMs);
    }
  } finally {
    await inf.close();
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    model: model.id,
    version: model.manifest.version,
    window: audio ? `${o.windowSeconds} s audio at ${audio.sampleRate} Hz` : `${o.faceWindowFrames} face crops 256x256`,
    iterations,
    medianMs: at(0.5),
    p90Ms: at(0.9),
    meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}
