import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, LocatedJson, pointer } from './LocatedJson.js';

function errorAt(text: string): number {
  try {
    LocatedJson.parse(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e.offset;
    throw e;
  }
  throw new Error('parsed');
}

describe('LocatedJson', () => {
  it('builds exactly what JSON.parse builds (property, any JSON text, any layout)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, 2, '\t'), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        expect(LocatedJson.parse(text).value).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects what JSON.parse rejects (property, mutated JSON)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.integer({ min: 0, max: 127 }), (v, at, code) => {
        const text = JSON.stringify(v, null, 1);
        const i = at % text.length;
        const mutated = text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1);
        let native: unknown;
        let nativeOk = true;
        try {
          native = JSON.parse(mutated);
        } catch {
          nativeOk = false;
        }
        if (nativeOk) expect(LocatedJson.parse(mutated).value).toEqual(native);
        else expect(() => LocatedJson.parse(mutated)).toThrow(JsonSyntaxError);
      }),
      { numRuns: 500 },
    );
  });

  it('records the span of every value and property name, and a byte position for each', () => {
    const text = '{\n  "näme": "Zoë",\n  "list": [1, {"a/b": true}]\n}';
    const doc = LocatedJson.parse(text);
    const span = doc.span(pointer('list', 1, 'a/b'))!;
    expect(text.slice(span.start, span.end)).toBe('true');
    const key = doc.keySpans.get('/näme')!;
    expect(text.slice(key.start, key.end)).toBe('"näme"');
    const v = doc.span('/näme')!;
    expect(doc.position(v.start)).toEqual({ byteOffset: Buffer.byteLength(text.slice(0, v.start)), line: 2, column: 11 });
    expect(doc.position(v.start).byteOffset).toBe(v.start + 1);
  });

  it('fails at the first character it cannot accept', () => {
    expect(errorAt('{"a": 01}')).toBe(7);
    expect(errorAt('{"a": 1.x}')).toBe(8);
    expect(errorAt('{"a": "x\ny"}')).toBe(8);
    expect(errorAt('{"a": "\\q"}')).toBe(8);
    expect(errorAt('[1, 2,]')).toBe(6);
    expect(errorAt('{"a": tru}')).toBe(9);
    expect(errorAt('{} x')).toBe(3);
    expect(errorAt('')).toBe(0);
    expect(errorAt('['.repeat(100) + ']'.repeat(100))).toBe(64);
  });
});
