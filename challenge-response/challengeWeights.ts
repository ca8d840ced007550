/**
 * How often each audio challenge is picked: in proportion to how well it tells a genuine
 * compliant answer from simulated clone answers (eval/cloneEval.ts, which writes
 * cloneDiscrimination.json beside this file). Challenges not in the table weigh 1.
 *
 * Every weight stays at or above MIN_WEIGHT: a challenge that is never asked lets an attacker
 * prepare for the few that are, so the choice stays random, only tilted.
 */
import { readFileSync } from 'node:fs';
import { DfdError } from '../kernel/errors.js';

export const MIN_WEIGHT = 0.1;

type Counts = Record<'pass' | 'fail' | 'unclear', number>;

export interface CloneDiscrimination {
  command: string;
  data: string;
  score: string;
  rule: string;
  challenges: Record<string, { weight: number; auroc: Record<string, number>; genuine: Counts; clones: Record<string, Counts> }>;
}

/** The weight rule: mean over clone pipelines of max(0, 2 AUROC - 1), at least MIN_WEIGHT, 2 decimals. */
export function cloneWeight(aurocs: readonly number[]): number {
  const d = aurocs.reduce((a, v) => a + Math.max(0, 2 * v - 1), 0) / Math.max(1, aurocs.length);
  return Math.round(Math.max(MIN_WEIGHT, Math.min(1, d)) * 100) / 100;
}

/** Reads the weights of a discrimination table; ERR_CONFIG names what is wrong. */
export function parseChallengeWeights(text: string, source: string): Readonly<Record<string, number>> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DfdError('ERR_CONFIG', `${source}: not JSON`, { cause: String(err) });
  }
  const challenges = (doc as { challenges?: unknown } | null)?.challenges;
  if (typeof challenges !== 'object' || challenges === null || Array.isArray(challenges)) throw new DfdError('ERR_CONFIG', `${source}: no challenges object`);
  const out: Record<string, number> = {};
  for (const [kind, row] of Object.entries(challenges)) {
    const w = (row as { weight?: unknown } | null)?.weight;
    if (typeof w !== 'number' || !(w >= MIN_WEIGHT && w <= 1)) throw new DfdError('ERR_CONFIG', `${source}: weight of ${kind} must be a number in [${MIN_WEIGHT}, 1]`, { kind, weight: w });
    out[kind] = w;
  }
  return out;
}

let measured: Readonly<Record<string, number>> | undefined;

/** The shipped weights (cloneDiscrimination.json beside this file), read on first use. */
export function measuredChallengeWeights(): Readonly<Record<string, number>> {
  measured ??= parseChallengeWeights(readFileSync(new URL('./cloneDiscrimination.json', import.meta.url), 'utf8'), 'cloneDiscrimination.json');
  return measured;
}
