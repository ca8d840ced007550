/**
 * Fuzz: model manifests and ONNX files. parseManifest accepts every shipped manifest and answers
 * anything else with ERR_MODEL_MANIFEST only (edited real manifests, random JSON); a truncated or
 * bit-flipped copy of a committed model is refused by its manifest's sha256 (ERR_MODEL_HASH), and
 * even under a manifest re-hashed to match it the registry never throws or crashes: the copy is
 * available (flips in weights keep a loadable graph) or unavailable with ERR_MODEL_SHAPE, and the
 * model next to it stays available.
 * Corpus: test/fuzz/corpus/manifest.json (a change of a shipped manifest at a JSON pointer, or a
 * whole value; expect is parseManifest's outcome).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/config.js';
import { applyJsonEdit, applyPointer, FuzzBoundary, fuzzTimeout, jsonEdit, loadCorpus, outcome, type PointerEdit } from '../../test/helpers/fuzz.js';
import { parseManifest } from './Manifest.js';
import { readModelFiles } from './ModelFiles.js';
import { ModelRegistry } from './ModelRegistry.js';

const fuzz = new FuzzBoundary('models');
const modelsDir = path.join(repoRoot, 'detectors', 'models');
const shipped = fs
  .readdirSync(modelsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(modelsDir, d.name, 'manifest.json')))
  .map((d) => ({ id: d.name, manifest: JSON.parse(fs.readFileSync(path.join(modelsDir, d.name, 'manifest.json'), 'utf8')) as Record<string, unknown> }));
/** The smallest committed model. */
const SMALL = 'face-forgery';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Truncation, bit flips (biased to the graph's first kilobytes) and byte runs overwritten. */
const fileCorruption = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), bits: fc.constant([] as [number, number][]) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.constant(0), bits: fc.array(fc.tuple(fc.oneof(fc.nat({ max: 4096 }), fc.nat()), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('zero' as const), at: fc.nat({ max: 8192 }), bits: fc.array(fc.tuple(fc.nat({ max: 64 }), fc.constant(0)), { minLength: 1, maxLength: 1 }) }),
);
function corruptFile(bytes: Buffer, c: { kind: 'truncate' | 'flip' | 'zero'; at: number; bits: [number, number][] }): Buffer {
  if (c.kind === 'truncate') return bytes.subarray(0, c.at % bytes.length);
  const out = Buffer.from(bytes);
  if (c.kind === 'flip') for (const [at, mask] of c.bits) out[at % out.length] = out[at % out.length]! ^ mask;
  else out.fill(0, c.at % out.length, (c.at % out.length) + 1 + c.bits[0]![0]);
  return out;
}

describe('fuzz: model manifests and ONNX files', () => {
  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<PointerEdit & { base?: string }>('manifest'), (c) => {
      const base = c.base === undefined ? undefined : shipped.find((s) => s.id === c.base)?.manifest;
      if (c.base !== undefined && !base) throw new Error(`no shipped manifest ${c.base}`);
      return outcome(() => parseManifest(applyPointer(base ?? null, c)), ['ERR_MODEL_MANIFEST']);
    });
  });

  it('every shipped manifest is accepted as is', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(5);
    for (const s of shipped) expect(parseManifest(s.manifest).id).toBe(s.id);
    fuzz.count(shipped.length);
  });

  it('edited shipped manifests and random JSON: accepted or ERR_MODEL_MANIFEST, nothing else', () => {
    fuzz.check(
      fc.property(fc.constantFrom(...shipped), fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.jsonValue({ maxDepth: 3 }), (s, edits, random) => {
        const edited = edits.reduce(applyJsonEdit, s.manifest as unknown);
        const r = outcome(() => parseManifest(edited), ['ERR_MODEL_MANIFEST']);
        if (r === 'ok') expect(parseManifest(edited)).toEqual(edited);
        outcome(() => parseManifest(random), ['ERR_MODEL_MANIFEST']);
      }),
      5,
    );
  });

  describe('ONNX files', () => {
    let root: string;
    let original: Buffer;
    let manifest: Record<string, unknown>;
    beforeAll(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-models-fuzz-'));
      original = fs.readFileSync(path.join(modelsDir, SMALL, 'model.onnx'));
      manifest = shipped.find((s) => s.id === SMALL)!.manifest;
      expect(manifest['sha256']).toBe(sha256(original));
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    const write = (id: string, m: Record<string, unknown>, bytes: Uint8Array): string => {
      const dir = path.join(root, id);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, id }));
      fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
      return dir;
    };

    it('a truncated or bit-flipped copy fails its manifest hash: ERR_MODEL_HASH', async () => {
      await fuzz.checkAsync(
        fc.asyncProperty(fileCorruption, async (c) => {
          const bytes = corruptFile(original, c);
          fc.pre(!bytes.equals(original));
          const dir = write('hash-check', manifest, bytes);
          let code: string | undefined;
          try {
            await readModelFiles(dir);
          } catch (e) {
            code = (e as { code?: string }).code;
          }
          expect(code).toBe('ERR_MODEL_HASH');
        }),
      );
    });

    it(
      'under a manifest re-hashed to match, the registry loads or refuses it with ERR_MODEL_SHAPE, never throws, and keeps the good model',
      async () => {
        fs.rmSync(root, { recursive: true, force: true });
        write('good', manifest, original);
        let unavailable = 0;
        await fuzz.checkAsync(
          fc.asyncProperty(fileCorruption, async (c) => {
            const bytes = corruptFile(original, c);
            write('corrupt', { ...manifest, sha256: sha256(bytes) }, bytes);
            const status = await new ModelRegistry({ dir: root }).load();
            expect(status.find((s) => s.id === 'good')).toMatchObject({ available: true });
            const s = status.find((x) => x.id === 'corrupt')!;
            if (!s.available) {
              unavailable++;
              expect(s.error?.code).toBe('ERR_MODEL_SHAPE');
            }
          }),
          0.3,
        );
        // Not every corruption is benign: the refusals were exercised.
        expect(unavailable).toBeGreaterThan(0);
      },
      fuzzTimeout(60_000),
    );
  });
});
