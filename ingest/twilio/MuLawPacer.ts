/**
 * Sends mu-law audio to a phone leg in real time: 160-byte (20 ms at 8 kHz) frames, one
 * timer per call, each timer aimed at start + n * 20 ms so lateness never accumulates.
 * A small lead (a few frames sent at once) covers network jitter; the rest is never a
 * burst, so `stop()` cuts the prompt within a frame or two of audio at the far end.
 * After an event-loop stall the frames that fell due are sent together (none skipped:
 * a prompt with words missing is worse than a late one). The clock is injected: tests
 * drive it by hand.
 */
import { counter } from '../../kernel/metrics.js';

export type PacerTimer = unknown;

export interface PacerClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): PacerTimer;
  clearTimeout(timer: PacerTimer): void;
}

export const realClock: PacerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

export interface MuLawPacerOptions {
  /** Bytes per frame: 160 = 20 ms of 8 kHz mu-law. */
  frameBytes: number;
  frameMs: number;
  /** Frames sent ahead of real time when playback starts. */
  leadFrames: number;
  clock: PacerClock;
}

export const defaultMuLawPacerOptions: MuLawPacerOptions = {
  frameBytes: 160,
  frameMs: 20,
  leadFrames: 3,
  clock: realClock,
};

export interface PacerEnded {
  reason: 'completed' | 'stopped';
  framesSent: number;
}

/** mu-law code of silence (0 V), used to pad the last frame. */
export const MU_LAW_SILENCE = 0xff;

const lateFrames = counter({ name: 'dfd_ingest_prompt_late_frames_total', help: 'Outbound prompt frames sent more than one frame late (event-loop stalls)' });

interface Playing {
  codes: Uint8Array;
  frames: number;
  sent: number;
  start: number;
  timer: PacerTimer | undefined;
  done: (e: PacerEnded) => void;
}

export class MuLawPacer {
  readonly options: MuLawPacerOptions;
  readonly #send: (frame: Uint8Array) => void;
  #playing: Playing | undefined;

  /** `send` gets each frame (a fresh buffer of `frameBytes`); it must not throw. */
  constructor(send: (frame: Uint8Array) => void, options: Partial<MuLawPacerOptions> = {}) {
    this.options = { ...defaultMuLawPacerOptions, ...options };
    this.#send = send;
  }

  get playing(): boolean {
    return this.#playing !== undefined;
  }

  /** Frames `bytes` of audio take. */
  frameCount(bytes: number): number {
    return Math.ceil(bytes / this.options.frameBytes);
  }

  /** Plays mu-law codes; resolves when the last frame was sent or stop() was called. A prompt playing now is stopped first. */
  play(codes: Uint8Array): Promise<PacerEnded> {
    this.stop();
    return new Promise<PacerEnded>((resolve) => {
      this.#playing = { codes, frames: this.frameCount(codes.length), sent: 0, start: this.options.clock.now(), timer: undefined, done: resolve };
      this.#tick();
    });
  }

  /** Stops sending; the promise of play() resolves with 'stopped'. */
  stop(): void {
    this.#finish('stopped');
  }

  #tick(): void {
    const p = this.#playing;
    if (!p) return;
    p.timer = undefined;
    const { frameMs, frameBytes, leadFrames, clock } = this.options;
    const due = Math.min(p.frames, leadFrames + 1 + Math.floor((clock.now() - p.start) / frameMs));
    if (p.sent >= leadFrames + 1 && due - p.sent > 1) lateFrames.inc(due - p.sent - 1);
    while (p.sent < due && this.#playing === p) {
      const from = p.sent * frameBytes;
      const frame = new Uint8Array(frameBytes).fill(MU_LAW_SILENCE);
      frame.set(p.codes.subarray(from, Math.min(p.codes.length, from + frameBytes)));
      p.sent++;
      this.#send(frame);
    }
    if (this.#playing !== p) return;
    if (p.sent >= p.frames) {
      this.#finish('completed');
      return;
    }
    const next = p.start + (p.sent - leadFrames) * frameMs;
    p.timer = clock.setTimeout(() => this.#tick(), Math.max(0, next - clock.now()));
  }

  #finish(reason: PacerEnded['reason']): void {
    const p = this.#playing;
    if (!p) return;
    if (p.timer !== undefined) this.options.clock.clearTimeout(p.timer);
    this.#playing = undefined;
    p.done({ reason, framesSent: p.sent });
  }
}
