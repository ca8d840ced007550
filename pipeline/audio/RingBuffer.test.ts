import { describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { RingBuffer } from './RingBuffer.js';

const seq = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

describe('RingBuffer', () => {
  it('reads by absolute index across the wrap', () => {
    const r = new RingBuffer({ capacity: 10 });
    r.write(seq(0, 7));
    r.write(seq(7, 7)); // wraps; holds 4..13
    expect(r.start).toBe(4);
    expect(r.end).toBe(14);
    expect([...r.read(4, 10)]).toEqual([...seq(4, 10)]);
    expect([...r.read(9, 3)]).toEqual([9, 10, 11]);
  });

  it('throws ERR_RANGE for overwritten or future samples', () => {
    const r = new RingBuffer({ capacity: 8 });
    r.write(seq(0, 20));
    for (const [from, n] of [[11, 2], [18, 3], [-1, 1], [12, -1]] as const) {
      let err: unknown;
      try {
        r.read(from, n);
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err, 'ERR_RANGE')).toBe(true);
    }
    expect([...r.read(12, 8)]).toEqual([...seq(12, 8)]);
  });

  it('keeps only the last capacity samples of a long write, and writes zeros', () => {
    const r = new RingBuffer({ capacity: 5 });
    r.write(seq(0, 3));
    r.write(seq(3, 12));
    expect(r.start).toBe(10);
    expect([...r.read(10, 5)]).toEqual([10, 11, 12, 13, 14]);
    r.writeZeros(3);
    expect([...r.read(13, 5)]).toEqual([13, 14, 0, 0, 0]);
    r.writeZeros(50);
    expect(r.end).toBe(68);
    expect(r.length).toBe(5);
  });

  it('reads into a caller array and clear() restarts the numbering', () => {
    const r = new RingBuffer({ capacity: 6 });
    r.write(seq(0, 6));
    const out = new Float32Array(3);
    expect(r.read(2, 3, out)).toBe(out);
    r.clear(0);
    expect(r.length).toBe(0);
    r.write(seq(100, 2));
    expect([...r.read(0, 2)]).toEqual([100, 101]);
  });
});
