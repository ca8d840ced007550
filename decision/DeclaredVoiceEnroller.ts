/**
 * Makes a declared voice's profile from reference recordings: each clip (16-bit PCM WAV, any
 * rate, mono or averaged) is resampled to 16 kHz and cut into 1.6 s windows every 0.8 s (the
 * speaker model's input; windows under -50 dBFS RMS skipped, as in the evaluation), the windows
 * run through the speaker-embedding model on an inference worker thread (an InferencePool, one
 * thread, opened for the enrolment and closed after it: enrolment is rare), and the profile is
 * the L2-normalised mean of their embeddings (pipeline/verdict/DeclaredVoices.ts voiceProfile).
 * No audio is kept.
 */
import { DfdError } from '../kernel/errors.js';
import { parseWav, resample } from '../challenge-response/dsp/wav.js';
import { rmsDbfs } from '../challenge-response/dsp/level.js';
import type { AvailableModel } from '../detectors/registry/ModelRegistry.js';
import { InferencePool } from '../pipeline/inference/InferencePool.js';
import type { SpeakerEmbedding } from '../pipeline/inference/InferenceBackend.js';
import type { AudioWindow } from '../pipeline/messages.js';
import { voiceProfile } from '../pipeline/verdict/DeclaredVoices.js';

export interface DeclaredVoiceEnrollerOptions {
  /** Kept windows the profile needs at least (4 windows: about 4 s of speech). */
  minWindows: number;
  /** Most reference audio taken, seconds (the rest is ignored). */
  maxSeconds: number;
  /** Windows quieter than this (RMS, dBFS) are not speech enough to embed. */
  minDbfs: number;
}

export const defaultDeclaredVoiceEnrollerOptions: DeclaredVoiceEnrollerOptions = { minWindows: 4, maxSeconds: 120, minDbfs: -50 };

const RATE = 16000;
const WINDOW = 25600;
const HOP = 12800;

export interface EnrolledProfile {
  profile: Float32Array;
  windows: number;
  referenceSeconds: number;
  model: { id: string; version: string };
}

export class DeclaredVoiceEnroller {
  readonly options: DeclaredVoiceEnrollerOptions;
  readonly #model: AvailableModel;

  /** `model`: the installed speaker-embedding model (task speaker-embed). */
  constructor(model: AvailableModel, options: Partial<DeclaredVoiceEnrollerOptions> = {}) {
    if (model.manifest.task !== 'speaker-embed') throw new DfdError('ERR_CONFIG', 'declared voices need a speaker-embed model');
    this.#model = model;
    this.options = { ...defaultDeclaredVoiceEnrollerOptions, ...options };
  }

  /** Throws ERR_DECODE_FAILED (not 16-bit PCM WAV), ERR_REFERENCE_TOO_SHORT, or ERR_MODEL_UNAVAILABLE. */
  async enrol(clips: readonly Buffer[]): Promise<EnrolledProfile> {
    const windows: Float32Array[] = [];
    let seconds = 0;
    for (const clip of clips) {
      const pcm = parseWav(clip);
      let x = pcm.sampleRate === RATE ? pcm.samples : resample(pcm.samples, pcm.sampleRate, RATE);
      const room = Math.max(0, Math.round((this.options.maxSeconds - seconds) * RATE));
      if (x.length > room) x = x.subarray(0, room);
      seconds += x.length / RATE;
      for (let s = 0; s + WINDOW <= x.length; s += HOP) {
        const w = x.slice(s, s + WINDOW);
        if (rmsDbfs(w) >= this.options.minDbfs) windows.push(w);
      }
    }
    if (windows.length < this.options.minWindows) {
      throw new DfdError('ERR_REFERENCE_TOO_SHORT', `${windows.length} speech windows of 1.6 s; at least ${this.options.minWindows} needed (about ${this.options.minWindows} s of speech)`);
    }
    const vectors = await this.#embed(windows);
    if (vectors.length < this.options.minWindows) {
      throw new DfdError('ERR_REFERENCE_TOO_SHORT', `${vectors.length} of ${windows.length} windows could be embedded (clipped or silent audio is not); at least ${this.options.minWindows} needed`);
    }
    const profile = voiceProfile(vectors);
    if (!profile) throw new DfdError('ERR_REFERENCE_TOO_SHORT', 'the reference audio gave no usable embedding');
    return { profile, windows: vectors.length, referenceSeconds: Math.round(seconds * 100) / 100, model: { id: this.#model.id, version: this.#model.manifest.version } };
  }

  async #embed(windows: readonly Float32Array[]): Promise<Float32Array[]> {
    const pool = new InferencePool([this.#model], { workers: 1, queueCapacity: windows.length + 1, maxQueueAgeMs: 600_000 });
    try {
      await pool.ready();
      if (pool.detectors().length === 0) throw new DfdError('ERR_MODEL_UNAVAILABLE', 'the speaker-embedding model could not be opened');
      const out = new Map<number, Float32Array>();
      let failed = 0;
      const done = new Promise<void>((resolve) => {
        const check = (): void => {
          if (out.size + failed === windows.length) resolve();
        };
        pool.on('embedding', (e: SpeakerEmbedding) => {
          out.set(e.seq, e.vector);
          check();
        });
        pool.on('dropped', () => {
          failed++;
          check();
        });
      });
      const stream = { roomId: 'enrolment', peerId: 'reference', producerId: 'reference', kind: 'audio' as const };
      windows.forEach((samples, seq) => {
        const w: AudioWindow = {
          type: 'audio-window',
          stream,
          seq,
          sampleRate: RATE,
          samples: samples.slice(),
          speechSeconds: WINDOW / RATE,
          rtpStart: seq * HOP,
          rtpEnd: seq * HOP + WINDOW,
          wallStart: Date.now(),
          wallEnd: Date.now(),
          quality: { packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'WB', channel: 'wideband' },
        };
        pool.submit(w);
      });
      await done;
      return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    } finally {
      await pool.close();
    }
  }
}
