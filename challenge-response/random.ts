/** Randomness for challenge choice: cryptographic by default so a caller cannot predict it. */
import { randomInt } from 'node:crypto';

export interface RandomSource {
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Uniform float in [0, 1). */
  float(): number;
}

export const cryptoRandom: RandomSource = {
  int: (maxExclusive) => (maxExclusive <= 1 ? 0 : randomInt(maxExclusive)),
  float: () => randomInt(2 ** 47) / 2 ** 47,
};

export function pick<T>(items: readonly T[], rng: RandomSource): T {
  const v = items[rng.int(items.length)];
  if (v === undefined) throw new RangeError('pick from an empty list');
  return v;
}

/** One of `items`, with a chance proportional to `weights[i]` (all > 0). */
export function pickWeighted<T>(items: readonly T[], weights: readonly number[], rng: RandomSource): T {
  const total = weights.reduce((a, w) => a + w, 0);
  let r = rng.float() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i] ?? 0;
    if (r < 0) return items[i] as T;
  }
  // Rounding can leave r at 0 after the last weight.
  const last = items[items.length - 1];
  if (last === undefined) throw new RangeError('pick from an empty list');
  return last;
}

/** `n` distinct items in random order. */
export function pickDistinct<T>(items: readonly T[], n: number, rng: RandomSource): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0] as T);
  return out;
}
