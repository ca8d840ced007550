/**
 * One InferenceWorker thread (pipeline/inference/InferenceWorker.ts, the service's own
 * preprocessing and onnxruntime session), driven with the inference pool's protocol, one job
 * at a time: how the evaluation tools score windows exactly as the service does. Not
 * restarted: a worker that dies fails what it held and every later run (ERR_CLOSED).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DfdError } from '../../kernel/errors.js';
import { SupervisedWorker } from '../../kernel/SupervisedWorker.js';
import type { AvailableModel } from '../registry/ModelRegistry.js';
import type { AnalysisWindow } from '../../pipeline/messages.js';
import type { FromWorker, ToWorker } from '../../pipeline/inference/protocol.js';

/** A batch's answer: one logit per window, or for an embedding model `dim` floats per window. */
export interface WorkerAnswer {
  logits: number[];
  inferenceMs: number;
  vectors?: Float32Array;
  dim?: number;
}

export class WorkerInference {
  private readonly worker: SupervisedWorker<ToWorker, FromWorker>;
  private nextJob = 1;
  private pending = new Map<number, { resolve: (r: WorkerAnswer) => void; reject: (e: unknown) => void }>();
  private readyWait: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private exited = false;

  private constructor(readonly model: AvailableModel) {
    const ext = path.extname(fileURLToPath(import.meta.url));
    this.worker = new SupervisedWorker<ToWorker, FromWorker>({
      name: `eval-${model.id}`,
      callerUrl: new URL(`../../pipeline/inference/InferencePool${ext}`, import.meta.url).href,
      entry: 'InferenceWorker',
      restart: 'on-demand',
      closeMessage: { type: 'close' } satisfies ToWorker,
    });
    this.worker.on('message', (m) => this.onMessage(m));
    this.worker.on('exited', () => {
      this.exited = true;
      this.failAll(new DfdError('ERR_WORKER_DIED', 'inference worker exited'));
    });
  }

  static async open(model: AvailableModel): Promise<WorkerInference> {
    const w = new WorkerInference(model);
    await new Promise<void>((resolve, reject) => {
      w.readyWait = { resolve, reject };
      w.worker.start();
      w.worker.post({ type: 'init', models: [{ id: model.id, dir: model.dir, modelPath: model.modelPath, manifest: model.manifest }], intraOpNumThreads: 1, interOpNumThreads: 1, executionProvider: 'cpu', cpuModels: [] });
    });
    return w;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') {
      const f = m.failed[0];
      if (f) this.readyWait?.reject(new DfdError('ERR_MODEL_UNAVAILABLE', 'the inference worker cannot open the model', { id: f.id }));
      else this.readyWait?.resolve();
      this.readyWait = undefined;
      return;
    }
    const p = this.pending.get(m.jobId);
    if (!p) return;
    this.pending.delete(m.jobId);
    if (m.type === 'result') p.resolve({ logits: m.logits, inferenceMs: m.inferenceMs, ...(m.vectors && m.dim ? { vectors: m.vectors, dim: m.dim } : {}) });
    else p.reject(new DfdError('ERR_INFERENCE_FAILED', 'the worker rejected the batch'));
  }

  private failAll(e: unknown): void {
    this.readyWait?.reject(e);
    this.readyWait = undefined;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Scores (or embeds) windows, all of one kind and, for audio, one length. Transfers their buffers. */
  run(windows: AnalysisWindow[]): Promise<WorkerAnswer> {
    if (this.exited) return Promise.reject(new DfdError('ERR_CLOSED', 'inference worker'));
    const jobId = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject });
      const posted = this.worker.post({ type: 'run', jobId, modelId: this.model.id, windows }, windows.map((w) => (w.type === 'audio-window' ? w.samples.buffer : w.crops.buffer) as ArrayBuffer));
      if (!posted) {
        this.pending.delete(jobId);
        reject(new DfdError('ERR_CLOSED', 'inference worker'));
      }
    });
  }

  async close(): Promise<void> {
    this.exited = true;
    await this.worker.close();
  }
}
