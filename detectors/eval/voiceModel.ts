/**
 * Offline scorer for a `voice-antispoof` model folder (manifest.json + model.onnx): validates the
 * manifest, checks the file hash and tensor names, and scores whole clips with the windowing the
 * training script used (train.py `windows()`):
 *   - clips shorter than minSeconds are repeated up to minSeconds,
 *   - clips up to maxSeconds are scored whole (the model takes any length),
 *   - longer clips are cut into maxSeconds windows every hopSeconds, the last one aligned to the end;
 * the clip score is the mean window logit. Per-window normalisation happens inside the graph.
 *
 * Used by the evaluation tool and the model's own test; `run()` blocks the calling thread.
 */
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { DfdError } from '../../kernel/errors.js';
import { calibrate, parseManifest, type AudioSpec, type Manifest } from '../registry/Manifest.js';
import { openModelSession } from '../registry/openModelSession.js';

export interface VoiceModelOptions {
  intraOpNumThreads: number;
  /** Windows per onnxruntime call when several windows share a length. */
  maxBatch: number;
}

export const defaultVoiceModelOptions: VoiceModelOptions = { intraOpNumThreads: 1, maxBatch: 8 };

export interface ClipScore {
  logit: number;
  pFake: number;
  windows: number;
}

export function readVoiceManifest(dir: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    throw new DfdError('ERR_MODEL_MANIFEST', 'manifest.json is missing or not JSON');
  }
  const m = parseManifest(json);
  if (m.task !== 'voice-antispoof' || !m.audio) throw new DfdError('ERR_MODEL_MANIFEST', 'not a voice-antispoof manifest');
  return m;
}

/** Window start offsets and lengths (in samples) for a clip of `n` samples. */
export function windowPlan(n: number, audio: AudioSpec, hopSeconds: number): { start: number; length: number; repeat: boolean }[] {
  const sr = audio.sampleRate;
  const w = Math.round(audio.maxSeconds * sr);
  const h = Math.max(1, Math.round(hopSeconds * sr));
  const min = Math.round(audio.minSeconds * sr);
  if (n <= 0) return [];
  if (n < min) return [{ start: 0, length: min, repeat: true }];
  if (n <= w) return [{ start: 0, length: n, repeat: false }];
  const starts: number[] = [];
  for (let s = 0; s + w <= n; s += h) starts.push(s);
  if (starts.at(-1) !== n - w) starts.push(n - w);
  return starts.map((start) => ({ start, length: w, repeat: false }));
}

export class VoiceModel {
  readonly manifest: Manifest;
  readonly audio: AudioSpec;
  readonly hopSeconds: number;
  private readonly session: ort.InferenceSession;
  private readonly options: VoiceModelOptions;
  private readonly inputName: string;
  private readonly outputName: string;

  private constructor(manifest: Manifest, session: ort.InferenceSession, options: VoiceModelOptions) {
    this.manifest = manifest;
    this.audio = manifest.audio as AudioSpec;
    const hop = (manifest.audio as Record<string, unknown> | undefined)?.['hopSeconds'];
    this.hopSeconds = typeof hop === 'number' && hop > 0 ? hop : this.audio.maxSeconds / 2;
    this.session = session;
    this.options = options;
    this.inputName = (manifest.inputs[0] as { name: string }).name;
    this.outputName = (manifest.outputs[0] as { name: string }).name;
  }

  /** Throws ERR_MODEL_MANIFEST, ERR_MODEL_MISSING, ERR_MODEL_HASH or ERR_MODEL_SHAPE. */
  static async load(dir: string, options: Partial<VoiceModelOptions> = {}): Promise<VoiceModel> {
    const opts = { ...defaultVoiceModelOptions, ...options };
    const manifest = readVoiceManifest(dir);
    const { session } = await openModelSession(dir, { task: 'voice-antispoof', intraOpNumThreads: opts.intraOpNumThreads, interOpNumThreads: 1 });
    return new VoiceModel(manifest, session, opts);
  }

  /** Raw logits for a batch of equal-length windows. */
  async logits(windows: readonly Float32Array[]): Promise<Float32Array> {
    const first = windows[0];
    if (!first) return new Float32Array(0);
    const n = first.length;
    const data = new Float32Array(windows.length * n);
    windows.forEach((w, i) => {
      if (w.length !== n) throw new DfdError('ERR_BAD_REQUEST', 'windows in one batch must have equal length');
      data.set(w, i * n);
    });
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({ [this.inputName]: new ort.Tensor('float32', data, [windows.length, n]) });
    } catch (e) {
      throw new DfdError('ERR_INFERENCE_FAILED', undefined, undefined, { cause: e });
    }
    const t = out[this.outputName];
    if (!t || t.type !== 'float32' || t.dims.length !== 2 || t.dims[0] !== windows.length || t.dims[1] !== 1) {
      throw new DfdError('ERR_MODEL_SHAPE', 'unexpected output tensor');
    }
    return t.data as Float32Array;
  }

  /** Scores a clip given as mono float32 samples at the manifest's sample rate. */
  async scoreClip(samples: Float32Array): Promise<ClipScore> {
    const plan = windowPlan(samples.length, this.audio, this.hopSeconds);
    if (plan.length === 0) throw new DfdError('ERR_BAD_REQUEST', 'empty clip');
    const wins = plan.map((p) => {
      if (!p.repeat) return samples.subarray(p.start, p.start + p.length);
      const w = new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) w[i] = samples[i % samples.length] as number;
      return w;
    });
    let sum = 0;
    for (let i = 0; i < wins.length; i += this.options.maxBatch) {
      const group = wins.slice(i, i + this.options.maxBatch);
      const sameLen = group.every((g) => g.length === (group[0] as Float32Array).length);
      const parts = sameLen ? [group] : group.map((g) => [g]);
      for (const p of parts) for (const v of await this.logits(p)) sum += v;
    }
    const logit = sum / wins.length;
    if (!Number.isFinite(logit)) throw new DfdError('ERR_INFERENCE_FAILED', 'non-finite logit');
    return { logit, pFake: calibrate(this.manifest.calibration, logit), windows: wins.length };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
