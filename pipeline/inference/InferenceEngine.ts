/**
 * The onnxruntime sessions of a set of detectors and how one batch of windows runs through
 * them: one session per model (explicit thread counts), audio and image preprocessing per
 * manifest, fixed batch sizes honoured. It runs on whatever thread creates it: an inference
 * worker thread (InferenceWorker.ts, the pool's `threads` placement) or a media worker
 * thread that scores its own windows (InThreadRunner.ts, the `media-threads` placement).
 * ORT's `run()` blocks the calling thread, so it is never created on the main thread.
 */
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { AudioWindow, FaceWindow } from '../messages.js';
import { openModelSession } from '../../detectors/registry/openModelSession.js';
import { audioModelLength, preprocessAudio, preprocessImage } from './preprocess.js';
import { executionProvidersFor, type InitMessage, type JobErrorMessage, type ResultMessage, type RunMessage, type WorkerModel } from './protocol.js';

interface Loaded {
  model: WorkerModel;
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
  /** Fixed batch size when the model's first dim is a number, else undefined. */
  fixedBatch: number | undefined;
  /** Embedding models (task speaker-embed): the vector length each row returns; else undefined (one logit). */
  embedDim: number | undefined;
}

const isEmbedding = (m: WorkerModel): boolean => m.manifest.task === 'speaker-embed';

export class InferenceEngine {
  readonly #sessions = new Map<string, Loaded>();

  private constructor() {}

  /** Opens every model it can; the others are returned with the reason (their detectors are unusable). */
  static async open(init: Omit<InitMessage, 'type'>): Promise<{ engine: InferenceEngine; failed: { id: string; message: string }[] }> {
    const engine = new InferenceEngine();
    const failed: { id: string; message: string }[] = [];
    for (const model of init.models) {
      try {
        // The one loading path: manifest, hash (the registry's, unchanged since), task and tensor names checked again here.
        const { session } = await openModelSession(model.dir, {
          task: model.manifest.task,
          expectSha256: model.manifest.sha256,
          intraOpNumThreads: init.intraOpNumThreads,
          interOpNumThreads: init.interOpNumThreads,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
          executionProviders: executionProvidersFor(init.cpuModels.includes(model.id) ? 'cpu' : init.executionProvider),
        });
        const input = model.manifest.inputs[0]!;
        const output = model.manifest.outputs[0]!;
        const b = input.shape[0];
        const last = output.shape[output.shape.length - 1];
        engine.#sessions.set(model.id, {
          model,
          session,
          inputName: input.name,
          outputName: output.name,
          fixedBatch: typeof b === 'number' && b > 0 ? b : undefined,
          embedDim: isEmbedding(model) && typeof last === 'number' && last > 0 ? last : undefined,
        });
      } catch (e) {
        failed.push({ id: model.id, message: e instanceof Error ? e.message : String(e) });
      }
    }
    return { engine, failed };
  }

  /** Runs one job; never throws (a failure is a `job-error` answer). */
  async run(msg: RunMessage): Promise<ResultMessage | JobErrorMessage> {
    const l = this.#sessions.get(msg.modelId);
    if (!l) return { type: 'job-error', jobId: msg.jobId, message: 'model not loaded in this worker' };
    const t0 = performance.now();
    try {
      const audio = msg.windows.filter((w): w is AudioWindow => w.type === 'audio-window');
      const faces = msg.windows.filter((w): w is FaceWindow => w.type === 'face-window');
      if (audio.length === msg.windows.length && l.embedDim !== undefined) {
        const vectors = await runAudio(l, audio, l.embedDim);
        return { type: 'result', jobId: msg.jobId, logits: [], vectors, dim: l.embedDim, inferenceMs: performance.now() - t0, rows: audio.length };
      }
      if (audio.length === msg.windows.length) {
        const logits = Array.from(await runAudio(l, audio));
        return { type: 'result', jobId: msg.jobId, logits, inferenceMs: performance.now() - t0, rows: audio.length };
      }
      if (faces.length === msg.windows.length) {
        const logits = await runFaces(l, faces);
        return { type: 'result', jobId: msg.jobId, logits, inferenceMs: performance.now() - t0, rows: faces.reduce((a, w) => a + w.frames, 0) };
      }
      throw new Error('mixed window kinds in one job');
    } catch (e) {
      return { type: 'job-error', jobId: msg.jobId, message: e instanceof Error ? e.message : String(e) };
    }
  }

  async close(): Promise<void> {
    for (const l of this.#sessions.values()) await l.session.release();
    this.#sessions.clear();
  }
}

/**
 * Runs `rows` rows of `rowSize` floats through the session, honouring a fixed batch size.
 * Returns the first `keep` output values of each row (1: the logit; an embedding's length).
 */
async function runRows(l: Loaded, data: Float32Array, rows: number, rowShape: number[], keep = 1): Promise<Float32Array> {
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(rows * keep);
  const chunk = l.fixedBatch ?? rows;
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    let slice = data.subarray(start * rowSize, (start + n) * rowSize);
    if (n < chunk) {
      const padded = new Float32Array(chunk * rowSize);
      padded.set(slice);
      slice = padded;
    }
    const feeds = { [l.inputName]: new ort.Tensor('float32', slice, [chunk, ...rowShape]) };
    const result = await l.session.run(feeds);
    const t = result[l.outputName];
    if (!t) throw new Error('model produced no output');
    const values = t.data as Float32Array;
    const perRow = values.length / chunk;
    if (perRow < keep) throw new Error(`model output has ${perRow} values per row, expected ${keep}`);
    // The logit is the first value of each row's output; an embedding its first `keep`.
    for (let i = 0; i < n; i++) out.set(values.subarray(i * perRow, i * perRow + keep), (start + i) * keep);
  }
  return out;
}

async function runAudio(l: Loaded, windows: AudioWindow[], keep = 1): Promise<Float32Array> {
  const spec = l.model.manifest.audio!;
  const first = windows[0]!;
  const len = audioModelLength(first.samples.length, first.sampleRate, spec);
  const data = new Float32Array(windows.length * len);
  windows.forEach((w, i) => {
    const x = preprocessAudio(w.samples, w.sampleRate, spec);
    data.set(x.subarray(0, len), i * len);
  });
  return runRows(l, data, windows.length, [len], keep);
}

async function runFaces(l: Loaded, windows: FaceWindow[]): Promise<number[]> {
  const spec = l.model.manifest.image!;
  const frameSize = 3 * spec.width * spec.height;
  const totalFrames = windows.reduce((a, w) => a + w.frames, 0);
  const data = new Float32Array(totalFrames * frameSize);
  let row = 0;
  for (const w of windows) {
    const cropBytes = w.width * w.height * 3;
    for (let f = 0; f < w.frames; f++, row++) {
      preprocessImage(w.crops.subarray(f * cropBytes, (f + 1) * cropBytes), w.width, w.height, spec, data, row * frameSize);
    }
  }
  const shape = spec.layout === 'NCHW' ? [3, spec.height, spec.width] : [spec.height, spec.width, 3];
  const logits = await runRows(l, data, totalFrames, shape);
  // A window's logit is the mean of its frames' logits.
  const out: number[] = [];
  row = 0;
  for (const w of windows) {
    let sum = 0;
    for (let f = 0; f < w.frames; f++, row++) sum += logits[row]!;
    out.push(sum / w.frames);
  }
  return out;
}
