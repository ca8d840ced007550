/**
 * Property-based fuzzing at the service's boundaries (fast-check): settings, recorded corpora,
 * typed-error checks and the case count per boundary. The only place that reads the fuzz settings:
 *
 *   DFD_FUZZ_RUNS   runs per property (default 100; server properties scale it, see `scale`)
 *   DFD_FUZZ_SEED   fast-check seed (default fixed, so every run replays the same cases)
 *
 * A failing property prints its seed and shrunk counterexample; add that input to the boundary's
 * corpus (test/fuzz/corpus/<boundary>.json), which every run replays with its recorded outcome
 * (long strings as `$repeat`/`$concat`, edits of a real document as JSON pointers: see below).
 * docs/testing.md: the boundaries, the cases run at the defaults, a long session.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, expect } from 'vitest';
import { DfdError, ErrorCodes, type ErrorCode } from '../../kernel/errors.js';

const DEFAULT_RUNS = 100;
const DEFAULT_SEED = 0x0dfd14;

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  return v;
}

export const FUZZ_RUNS = intFromEnv('DFD_FUZZ_RUNS', DEFAULT_RUNS, 1);
export const FUZZ_SEED = intFromEnv('DFD_FUZZ_SEED', DEFAULT_SEED, -(2 ** 31));

/** Runs of a property: DFD_FUZZ_RUNS times `scale`, at least 1. */
export function fuzzRuns(scale = 1): number {
  return Math.max(1, Math.round(FUZZ_RUNS * scale));
}

/** A test timeout that grows with DFD_FUZZ_RUNS (`baseMs` holds at the default). */
export function fuzzTimeout(baseMs: number): number {
  return Math.round(baseMs * Math.max(1, FUZZ_RUNS / DEFAULT_RUNS));
}

const corpusDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fuzz', 'corpus');

/**
 * The outcome of one input: accepted ('ok'), refused with a stable error code, or 'rejected' by
 * a parser that answers with null/undefined instead of throwing (VP8 descriptor, stored history).
 */
export type Outcome = 'ok' | 'rejected' | ErrorCode;

/** One recorded input and the outcome it must keep. */
export interface CorpusCase<I> {
  note: string;
  input: I;
  expect: Outcome;
}

export interface Corpus<I> {
  boundary: string;
  about: string;
  cases: CorpusCase<I>[];
}

/**
 * Long inputs stay short on disk: anywhere in a corpus input, `{ "$repeat": s, "times": n }` is
 * the string s repeated n times and `{ "$concat": [ ... ] }` the concatenation of its strings.
 */
function expand(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expand);
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys === '$repeat,times' && typeof o['$repeat'] === 'string' && typeof o['times'] === 'number') return o['$repeat'].repeat(o['times']);
  if (keys === '$concat' && Array.isArray(o['$concat'])) return o['$concat'].map(expand).join('');
  const out: Record<string, unknown> = {};
  for (const [k, c] of Object.entries(o)) Object.defineProperty(out, k, { value: expand(c), enumerable: true, writable: true, configurable: true });
  return out;
}

export function loadCorpus<I>(boundary: string): CorpusCase<I>[] {
  const file = path.join(corpusDir, `${boundary}.json`);
  const c = expand(JSON.parse(fs.readFileSync(file, 'utf8'))) as Corpus<I>;
  if (c.boundary !== boundary || !Array.isArray(c.cases) || c.cases.length === 0) throw new Error(`${file}: not a corpus of ${boundary}`);
  for (const k of c.cases) if (k.expect !== 'ok' && k.expect !== 'rejected' && !Object.hasOwn(ErrorCodes, k.expect)) throw new Error(`${file}: unknown expected code ${String(k.expect)} (${k.note})`);
  return c.cases;
}

/** The error `e` must be a DfdError whose code is one of `allowed`; returns it. */
export function expectTyped(e: unknown, allowed: readonly ErrorCode[]): DfdError {
  if (!(e instanceof DfdError)) throw new Error(`untyped error escaped the boundary: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  expect(allowed, `code ${e.code} (${e.message})`).toContain(e.code);
  return e;
}

/** 'ok', or the code of the DfdError `fn` threw (one of `allowed`); anything else fails. */
export function outcome(fn: () => unknown, allowed: readonly ErrorCode[]): 'ok' | ErrorCode {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return expectTyped(e, allowed).code;
  }
}

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.hasOwn(ErrorCodes, v);
}

/** One edit at a random place of a JSON value (see applyJsonEdit). */
export interface JsonEdit {
  pick: number;
  op: 'replace' | 'delete' | 'add' | 'wrap';
  value: unknown;
  key: string;
}

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom('replace' as const, 'delete' as const, 'add' as const, 'wrap' as const),
  value: fc.jsonValue({ maxDepth: 2 }),
  key: fc.string({ maxLength: 12 }),
});

/**
 * A copy of `root` with one edit at the `pick`-th value (depth first): replaced by another JSON
 * value, deleted, wrapped in an array, or a key added to the object holding it.
 */
export function applyJsonEdit(root: unknown, e: JsonEdit): unknown {
  const holders: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((c, i) => {
        holders.push([v, i]);
        walk(c);
      });
    } else if (v && typeof v === 'object') {
      for (const [k, c] of Object.entries(v)) {
        holders.push([v as Record<string, unknown>, k]);
        walk(c);
      }
    }
  };
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  walk(copy);
  const h = holders[e.pick % Math.max(1, holders.length)];
  if (!h) return e.value;
  const [parent, key] = h;
  const p = parent as Record<string | number, unknown>;
  if (e.op === 'replace') p[key] = e.value;
  else if (e.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete p[key];
  } else if (e.op === 'wrap') p[key] = [p[key]];
  else if (!Array.isArray(parent)) Object.defineProperty(parent, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A change at a JSON pointer (RFC 6901): set `value`, or `delete` the member; no pointer: no change. */
export interface PointerEdit {
  pointer?: string;
  value?: unknown;
  delete?: true;
}

/** A copy of `root` with the change applied (a key such as "__proto__" becomes an own property). */
export function applyPointer(root: unknown, e: PointerEdit): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  if (e.pointer === undefined || e.pointer === '') return e.pointer === '' ? e.value : copy;
  const parts = e.pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop()!;
  let at = copy as Record<string, unknown>;
  for (const p of parts) at = at[p] as Record<string, unknown>;
  if (e.delete) {
    if (Array.isArray(at)) at.splice(Number(last), 1);
    else delete at[last];
  } else Object.defineProperty(at, last, { value: e.value, enumerable: true, writable: true, configurable: true });
  return copy;
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** The report of a failed property, with what the property threw (vitest prints the cause). */
function failure(report: string | undefined, cause: unknown): Error {
  const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new Error(`${report ?? 'property failed'}\nFailure: ${why}`, { cause });
}

/**
 * Counts the cases one boundary runs (properties and corpus) and prints the total after the
 * file: `[fuzz] rtp: 612 cases (DFD_FUZZ_RUNS=100, DFD_FUZZ_SEED=…)`.
 */
export class FuzzBoundary {
  readonly name: string;
  #cases = 0;

  constructor(name: string) {
    this.name = name;
    afterAll(() => {
      console.info(`[fuzz] ${name}: ${this.#cases} cases (DFD_FUZZ_RUNS=${FUZZ_RUNS}, DFD_FUZZ_SEED=${FUZZ_SEED})`);
    });
  }

  get cases(): number {
    return this.#cases;
  }

  /** Counts cases run outside fast-check (a loop of requests, a corpus). */
  count(n: number): void {
    this.#cases += n;
  }

  #params<T>(scale: number, extra: fc.Parameters<T>): fc.Parameters<T> {
    return { seed: FUZZ_SEED, numRuns: fuzzRuns(scale), ...extra };
  }

  /** fc.assert with the fuzz settings, counting the runs. */
  check<T>(property: fc.IProperty<T>, scale = 1, extra: fc.Parameters<T> = {}): void {
    const details = fc.check(property, this.#params(scale, extra));
    this.#cases += details.numRuns;
    if (details.failed) throw failure(fc.defaultReportMessage(details), details.errorInstance);
  }

  async checkAsync<T>(property: fc.IAsyncProperty<T>, scale = 1, extra: fc.Parameters<T> = {}): Promise<void> {
    const details = await fc.check(property, this.#params(scale, extra));
    this.#cases += details.numRuns;
    if (details.failed) throw failure(await fc.asyncDefaultReportMessage(details), details.errorInstance);
  }

  /** Replays every corpus case: `run` returns the outcome, which must be the recorded one. */
  replay<I>(cases: readonly CorpusCase<I>[], run: (input: I) => Outcome): void {
    for (const c of cases) expect(run(c.input), c.note).toBe(c.expect);
    this.#cases += cases.length;
  }

  async replayAsync<I>(cases: readonly CorpusCase<I>[], run: (input: I) => Promise<Outcome>): Promise<void> {
    for (const c of cases) expect(await run(c.input), c.note).toBe(c.expect);
    this.#cases += cases.length;
  }
}

/**
 * Heap growth check for a server boundary: only with `--expose-gc` (e.g.
 * NODE_OPTIONS=--expose-gc); without it the single assertion is skipped with a message.
 */
export class HeapProbe {
  readonly #gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;
  #before: number | undefined;

  get available(): boolean {
    return this.#gc !== undefined;
  }

  #settled(): number {
    // Two passes: the first may only queue finalizers (sockets, buffers) that the second collects.
    this.#gc!();
    this.#gc!();
    return process.memoryUsage().heapUsed;
  }

  start(): void {
    if (this.#gc) this.#before = this.#settled();
  }

  /** Asserts heap growth since start() stays under `maxBytes`; returns it (undefined when skipped). */
  expectGrowthBelow(maxBytes: number, what: string): number | undefined {
    if (!this.#gc || this.#before === undefined) {
      console.info(`[fuzz] heap growth of ${what} not checked: run with NODE_OPTIONS=--expose-gc to check it`);
      return undefined;
    }
    const growth = this.#settled() - this.#before;
    console.info(`[fuzz] heap growth after ${what}: ${(growth / 1024).toFixed(0)} KiB (bound ${(maxBytes / 1024).toFixed(0)} KiB)`);
    expect(growth, `heap growth after ${what}`).toBeLessThan(maxBytes);
    return growth;
  }
}

/** Waits until `cond()` holds, polling every `everyMs`; rejects past `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
