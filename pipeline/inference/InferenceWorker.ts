/**
 * Worker-thread entry: owns one onnxruntime-node session per model, with explicit thread
 * counts, and runs one batch at a time (ORT `run()` blocks this thread, never the main
 * loop). Audio and image preprocessing per manifest happens here.
 *
 * Protocol: see protocol.ts. One `init`, then `run` jobs; each job answers `result` or
 * `job-error`; `close` ends the thread after the current job. Anything thrown outside a
 * job crashes the worker; the pool restarts it. Never `terminate()` this worker while a
 * job runs: tearing down onnxruntime mid-run aborts the whole process.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { AudioWindow, FaceWindow } from '../messages.js';
import { openModelSession } from '../../detectors/registry/openModelSession.js';
import { audioModelLength, preprocessAudio, preprocessImage } from './preprocess.js';
import { executionProvidersFor, type FromWorker, type InitMessage, type RunMessage, type ToWorker, type WorkerModel } from './protocol.js';

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

const sessions = new Map<string, Loaded>();

function post(msg: FromWorker): void {
  parentPort!.postMessage(msg);
}

async function init(msg: InitMessage): Promise<void> {
  const failed: { id: string; message: string }[] = [];
  for (const model of msg.models) {
    try {
      // The one loading path: manifest, hash (the registry's, unchanged since), task and tensor names checked again here.
      const { session } = await openModelSession(model.dir, {
        task: model.manifest.task,
        expectSha256: model.manifest.sha256,
        intraOpNumThreads: msg.intraOpNumThreads,
        interOpNumThreads: msg.interOpNumThreads,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        executionProviders: executionProvidersFor(msg.executionProvider),
      });
      const input = model.manifest.inputs[0]!;
      const output = model.manifest.outputs[0]!;
      const b = input.shape[0];
      const last = output.shape[output.shape.length - 1];
      sessions.set(model.id, {
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
  post({ type: 'ready', failed });
}

const isEmbedding = (m: WorkerModel): boolean => m.manifest.task === 'speaker-embed';

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

async function run(msg: RunMessage): Promise<void> {
  const l = sessions.get(msg.modelId);
  if (!l) {
    post({ type: 'job-error', jobId: msg.jobId, message: 'model not loaded in this worker' });
    return;
  }
  const t0 = performance.now();
  try {
    const audio = msg.windows.filter((w): w is AudioWindow => w.type === 'audio-window');
    const faces = msg.windows.filter((w): w is FaceWindow => w.type === 'face-window');
    let logits: number[];
    let rows: number;
    if (audio.length === msg.windows.length && l.embedDim !== undefined) {
      const vectors = await runAudio(l, audio, l.embedDim);
      post({ type: 'result', jobId: msg.jobId, logits: [], vectors, dim: l.embedDim, inferenceMs: performance.now() - t0, rows: audio.length });
      return;
    } else if (audio.length === msg.windows.length) {
      logits = Array.from(await runAudio(l, audio));
      rows = audio.length;
    } else if (faces.length === msg.windows.length) {
      logits = await runFaces(l, faces);
      rows = faces.reduce((a, w) => a + w.frames, 0);
    } else throw new Error('mixed window kinds in one job');
    post({ type: 'result', jobId: msg.jobId, logits, inferenceMs: performance.now() - t0, rows });
  } catch (e) {
    post({ type: 'job-error', jobId: msg.jobId, message: e instanceof Error ? e.message : String(e) });
  }
}

// Jobs are processed strictly one after another.
async function close(): Promise<void> {
  for (const l of sessions.values()) await l.session.release();
  sessions.clear();
  parentPort!.close();
}

let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (msg: ToWorker) => {
  chain = chain.then(() => {
    switch (msg.type) {
      case 'init':
        return init(msg);
      case 'run':
        return run(msg);
      case 'close':
        return close();
      case 'crash':
        process.exit(70);
    }
  });
});
