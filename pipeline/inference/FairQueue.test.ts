import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FairQueue } from './FairQueue.js';

describe('FairQueue', () => {
  it('serves streams round-robin, FIFO within a stream', () => {
    const q = new FairQueue<string>(10);
    for (const x of ['a1', 'a2', 'a3']) q.push('a', x, 0);
    q.push('b', 'b1', 0);
    q.push('c', 'c1', 0);
    const out: string[] = [];
    for (let it = q.shift(); it; it = q.shift()) out.push(it.item);
    expect(out).toEqual(['a1', 'b1', 'c1', 'a2', 'a3']);
  });

  it('when full, evicts the oldest item of the largest stream; a new stream always gets in', () => {
    const q = new FairQueue<string>(4);
    q.push('a', 'a1', 1);
    q.push('a', 'a2', 2);
    q.push('a', 'a3', 3);
    q.push('b', 'b1', 4);
    const r = q.push('c', 'c1', 5);
    expect(r.evicted?.item).toBe('a1');
    expect(q.sizeOf('c')).toBe(1);
    // The flooding stream pays for itself.
    const r2 = q.push('a', 'a4', 6);
    expect(r2.evicted?.item).toBe('a2');
    expect(q.size).toBe(4);
  });

  it('property: with N streams flooding (capacity >= N), every stream is served within N shifts of its first push, nothing is lost uncounted, size stays bounded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 12, maxLength: 12 }), { minLength: 1, maxLength: 40 }),
        (streams, extraCapacity, rounds) => {
          const capacity = streams + extraCapacity;
          const q = new FairQueue<number>(capacity);
          let pushed = 0;
          let evicted = 0;
          let shifted = 0;
          const firstPushShift = new Map<number, number>();
          const servedAt = new Map<number, number>();
          let t = 0;
          let maxSize = 0;
          for (const round of rounds) {
            for (let s = 0; s < streams; s++) {
              const k = round[s]!;
              for (let i = 0; i < k; i++) {
                if (!firstPushShift.has(s)) firstPushShift.set(s, shifted);
                const r = q.push(`s${s}`, s, t++);
                pushed++;
                if (r.evicted) evicted++;
                maxSize = Math.max(maxSize, q.size);
              }
            }
            // A consumer much slower than the producers: one window per round.
            const it = q.shift();
            if (it) {
              shifted++;
              if (!servedAt.has(it.item)) servedAt.set(it.item, shifted);
            }
          }
          // Drain to see who gets through eventually.
          for (let it = q.shift(); it; it = q.shift()) {
            shifted++;
            if (!servedAt.has(it.item)) servedAt.set(it.item, shifted);
          }
          expect(maxSize).toBeLessThanOrEqual(capacity);
          expect(pushed).toBe(shifted + evicted);
          for (const [s, first] of firstPushShift) {
            const at = servedAt.get(s);
            expect(at).toBeDefined();
            expect(at! - first).toBeLessThanOrEqual(streams);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
