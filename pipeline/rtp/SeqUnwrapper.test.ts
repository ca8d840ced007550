import { describe, expect, it } from 'vitest';
import { SeqUnwrapper, TimestampUnwrapper } from './SeqUnwrapper.js';

describe('SeqUnwrapper', () => {
  it('extends across the 16-bit wrap, forward and for late packets', () => {
    const u = new SeqUnwrapper();
    expect(u.unwrap(65533)).toBe(65533);
    expect(u.unwrap(65535)).toBe(65535);
    expect(u.unwrap(1)).toBe(65537);
    expect(u.unwrap(65534)).toBe(65534); // late, from before the wrap
    expect(u.unwrap(0)).toBe(65536);
    expect(u.last).toBe(65537);
    for (let i = 0; i < 3 * 65536; i += 1000) expect(u.unwrap((65537 + i) & 0xffff)).toBe(65537 + i);
  });

  it('reads a late first-window packet as below the start', () => {
    const u = new SeqUnwrapper();
    u.unwrap(2);
    expect(u.unwrap(65535)).toBe(-1);
  });

  it('reset forgets the reference', () => {
    const u = new SeqUnwrapper();
    u.unwrap(65535);
    u.unwrap(3);
    u.reset();
    expect(u.last).toBeUndefined();
    expect(u.unwrap(3)).toBe(3);
  });
});

describe('TimestampUnwrapper', () => {
  it('extends across the 32-bit wrap', () => {
    const u = new TimestampUnwrapper();
    const start = 2 ** 32 - 960 * 2;
    expect(u.unwrap(start)).toBe(start);
    expect(u.unwrap((start + 960) >>> 0)).toBe(start + 960);
    expect(u.unwrap((start + 1920) % 2 ** 32)).toBe(start + 1920);
    expect(u.unwrap((start + 2880) % 2 ** 32)).toBe(start + 2880);
    expect(u.peek((start + 960) >>> 0)).toBe(start + 960);
  });
});
