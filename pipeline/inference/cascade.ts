/**
 * Cascade stages: a dearer second model of a cheap detector's task (manifest `cascade`, e.g.
 * `voice-whisper` beside `voice-antispoof`) scores one window in N of each stream. The pool asks
 * `CascadeSampler.take` for every window the stage could score (and `defer` when it yields a taken
 * window to a backlog: InferencePool `cascadeYieldFill`); the operator's setting
 * (`DFD_VOICE_CASCADE_EVERY`) replaces N or turns such stages off (`withCascadeSetting`).
 */
import type { AvailableModel } from '../../detectors/registry/ModelRegistry.js';

/** Streams not seen for this long are forgotten: a returning stream starts with a scored window. */
const STREAM_TTL_MS = 5 * 60_000;

export class CascadeSampler {
  readonly every: number;
  readonly #seen = new Map<string, { n: number; at: number }>();
  #lastSweep = 0;

  constructor(every: number) {
    if (!Number.isInteger(every) || every < 1) throw new RangeError('every must be a positive integer');
    this.every = every;
  }

  /** Whether the stage scores this stream's next window: the 1st, (N+1)th, ... it is offered. */
  take(stream: string, now: number): boolean {
    if (now - this.#lastSweep > STREAM_TTL_MS / 4) {
      this.#lastSweep = now;
      for (const [k, v] of this.#seen) if (now - v.at > STREAM_TTL_MS) this.#seen.delete(k);
    }
    const s = this.#seen.get(stream) ?? { n: 0, at: now };
    const take = s.n % this.every === 0;
    s.n++;
    s.at = now;
    this.#seen.set(stream, s);
    return take;
  }

  /**
   * The window `take` just gave this stream was not scored after all (the stage yielded to a
   * backlog): the stream's next window is taken instead, so a stage that yields keeps its
   * one-in-N rhythm from where it resumes rather than waiting out N more windows.
   */
  defer(stream: string): void {
    const s = this.#seen.get(stream);
    if (s && s.n > 0) s.n--;
  }

  /** Streams it remembers (for tests and dumps). */
  get streams(): number {
    return this.#seen.size;
  }
}

/**
 * The models with the operator's cascade setting applied: `every` undefined keeps each stage's
 * manifest value, 0 removes the cascade stages, N > 0 makes every stage score one window in N.
 */
export function withCascadeSetting(models: readonly AvailableModel[], every: number | undefined): AvailableModel[] {
  if (every === undefined) return [...models];
  if (every === 0) return models.filter((m) => !m.manifest.cascade);
  return models.map((m) => (m.manifest.cascade ? { ...m, manifest: { ...m.manifest, cascade: { ...m.manifest.cascade, everyNthWindow: every } } } : m));
}
