/**
 * Fuzz: evidence bundles at the offline verifier (verifyEvidence), complementing the byte-flip
 * property of verifyEvidence.test.ts: edits of a real bundle's content (values replaced, keys
 * added or removed, arrays wrapped), written back in the canonical layout so they get past the
 * layout check to the schema, seal, digest, chain and anchor checks, and random JSON documents.
 * verifyEvidence never throws: the untouched bundle passes, anything else fails with an
 * ERR_EVIDENCE_* code and a position inside the file. (POST /v1/evidence/verify runs the same code:
 * api/rest.fuzz.test.ts.)
 * Corpus: test/fuzz/corpus/evidence.json: texts, or edits of the sample bundle by JSON pointer.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyJsonEdit, applyPointer, FuzzBoundary, fromHex, jsonEdit, loadCorpus, type Outcome, type PointerEdit } from '../test/helpers/fuzz.js';
import { renderEvidence } from './EvidenceBundle.js';
import { sampleEvidence, type SampleEvidence } from './testing/sampleEvidence.js';
import { verifyEvidence, type EvidenceReport } from './verifyEvidence.js';

const fuzz = new FuzzBoundary('evidence');

function report(input: string | Uint8Array): Outcome {
  let r: EvidenceReport;
  try {
    r = verifyEvidence(input);
  } catch (e) {
    throw new Error(`verifyEvidence threw: ${String(e)}`, { cause: e });
  }
  if (r.ok) return 'ok';
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  expect(r.problem.code).toMatch(/^ERR_EVIDENCE_[A-Z]+$/);
  expect(r.problem.byteOffset).toBeGreaterThanOrEqual(0);
  expect(r.problem.byteOffset).toBeLessThanOrEqual(size);
  expect(r.problem.byteEnd).toBeGreaterThanOrEqual(r.problem.byteOffset);
  return r.problem.code;
}

/** A corpus input: a text (or hex bytes), or one change of the sample bundle at a JSON pointer. */
type EvidenceInput = { text: string } | { hex: string } | PointerEdit;

describe('fuzz: evidence bundles (verifyEvidence)', () => {
  let s: SampleEvidence;
  beforeAll(() => {
    s = sampleEvidence();
  });

  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<EvidenceInput>('evidence'), (c) => {
      if ('text' in c) return report(c.text);
      if ('hex' in c) return report(fromHex(c.hex));
      return report(renderEvidence(applyPointer(s.bundle, c)));
    });
  });

  it('the untouched bundle passes; edits of its content fail with an ERR_EVIDENCE_* code, never a throw', () => {
    expect(report(s.text)).toBe('ok');
    fuzz.check(
      fc.property(fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), (edits) => {
        const edited = edits.reduce(applyJsonEdit, s.bundle as unknown);
        const text = renderEvidence(edited);
        fc.pre(text !== s.text);
        expect(report(text)).not.toBe('ok');
      }),
      2,
    );
  });

  it('random JSON documents, in the canonical layout or not, fail with an ERR_EVIDENCE_* code', () => {
    fuzz.check(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (v, canonical) => {
        expect(report(canonical ? renderEvidence(v) : JSON.stringify(v) ?? '')).not.toBe('ok');
      }),
    );
  });
});
