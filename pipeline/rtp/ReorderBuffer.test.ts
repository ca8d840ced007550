import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReorderBuffer, type OrderedPacket, type ReorderBufferOptions, type ReorderResetReason } from './ReorderBuffer.js';
import type { RtpPacket } from './RtpPacket.js';

function pkt(seq: number, opts: { ssrc?: number; ts?: number } = {}): RtpPacket {
  return {
    version: 2,
    padding: false,
    marker: false,
    payloadType: 100,
    sequenceNumber: seq & 0xffff,
    timestamp: (opts.ts ?? seq * 960) % 2 ** 32,
    ssrc: opts.ssrc ?? 1,
    csrcs: [],
    headerExtension: undefined,
    payload: new Uint8Array(1),
    paddingLength: 0,
  };
}

function harness(options: Partial<ReorderBufferOptions> = {}) {
  const out: OrderedPacket[] = [];
  const resets: ReorderResetReason[] = [];
  const rb = new ReorderBuffer({ onPacket: (p) => out.push(p), onReset: (r) => resets.push(r) }, options);
  return { rb, out, resets, seqs: () => out.map((p) => p.extSeq) };
}

describe('ReorderBuffer', () => {
  it('passes in-order packets straight through', () => {
    const h = harness();
    for (let s = 10; s < 20; s++) h.rb.push(pkt(s), s * 20);
    expect(h.seqs()).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(h.out.every((p) => p.lostBefore === 0)).toBe(true);
    expect(h.rb.stats()).toMatchObject({ received: 10, released: 10, lost: 0, buffered: 0 });
  });

  it('reorders within the window and reports no loss', () => {
    const h = harness();
    for (const s of [1, 3, 2, 5, 4, 6]) h.rb.push(pkt(s), 0);
    expect(h.seqs()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.rb.stats().lost).toBe(0);
  });

  it('counts duplicates (buffered or released) and late packets separately', () => {
    const h = harness({ maxHoldMs: 50 });
    h.rb.push(pkt(1), 0);
    h.rb.push(pkt(1), 1); // duplicate of a released packet
    h.rb.push(pkt(3), 2);
    h.rb.push(pkt(3), 3); // duplicate of a buffered packet
    h.rb.poll(100); // 2 declared lost
    h.rb.push(pkt(2), 101); // too late
    expect(h.seqs()).toEqual([1, 3]);
    expect(h.out[1]!.lostBefore).toBe(1);
    expect(h.rb.stats()).toMatchObject({ duplicates: 2, late: 1, lost: 1 });
  });

  it('holds packets behind a gap for at most maxHoldMs', () => {
    const h = harness({ maxHoldMs: 60 });
    h.rb.push(pkt(100), 0);
    h.rb.push(pkt(103), 20);
    h.rb.push(pkt(104), 40);
    expect(h.seqs()).toEqual([100]);
    h.rb.poll(79);
    expect(h.seqs()).toEqual([100]);
    h.rb.poll(80);
    expect(h.seqs()).toEqual([100, 103, 104]);
    expect(h.out[1]!.lostBefore).toBe(2);
  });

  it('never holds more than maxPackets', () => {
    const h = harness({ maxPackets: 8, maxHoldMs: 1e9 });
    h.rb.push(pkt(0), 0);
    for (let s = 2; s < 30; s++) {
      h.rb.push(pkt(s), 0);
      expect(h.rb.stats().buffered).toBeLessThanOrEqual(8);
    }
    expect(h.seqs()[0]).toBe(0);
    expect(h.seqs()[1]).toBe(2);
    expect(h.out[1]!.lostBefore).toBe(1);
  });

  it('unwraps sequence numbers and timestamps across the wrap', () => {
    const h = harness();
    const seqs = [65533, 65535, 65534, 0, 2, 1];
    for (const s of seqs) h.rb.push(pkt(s, { ts: (2 ** 32 - 3 * 960 + (s - 65533 + 65536) % 65536 * 960) % 2 ** 32 }), 0);
    expect(h.seqs()).toEqual([65533, 65534, 65535, 65536, 65537, 65538]);
    const ts = h.out.map((p) => p.extTimestamp);
    for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBe(960);
  });

  it('resets on SSRC change after releasing the old packets', () => {
    const h = harness();
    h.rb.push(pkt(1), 0);
    h.rb.push(pkt(3), 0);
    h.rb.push(pkt(500, { ssrc: 2 }), 0);
    h.rb.push(pkt(501, { ssrc: 2 }), 0);
    expect(h.resets).toEqual(['ssrc']);
    expect(h.seqs()).toEqual([1, 3, 500, 501]);
    expect(h.out[2]!.lostBefore).toBe(0);
    expect(h.rb.stats().resets).toBe(1);
  });

  it('drops a lone absurd sequence jump as an outlier', () => {
    const h = harness();
    for (let s = 1; s <= 3; s++) h.rb.push(pkt(s), 0);
    h.rb.push(pkt(30000), 0);
    h.rb.push(pkt(4), 0);
    expect(h.seqs()).toEqual([1, 2, 3, 4]);
    expect(h.rb.stats()).toMatchObject({ outliers: 1, resets: 0 });
  });

  it('resets when an absurd jump is confirmed by the next packet', () => {
    const h = harness();
    for (let s = 1; s <= 3; s++) h.rb.push(pkt(s), 0);
    h.rb.push(pkt(30000), 0);
    h.rb.push(pkt(30001), 0);
    h.rb.push(pkt(30002), 0);
    expect(h.resets).toEqual(['seq-jump']);
    expect(h.seqs()).toEqual([1, 2, 3, 30001, 30002]);
  });

  it('resets on a confirmed timestamp jump', () => {
    const h = harness();
    h.rb.push(pkt(1, { ts: 1000 }), 0);
    h.rb.push(pkt(2, { ts: 1960 }), 0);
    h.rb.push(pkt(3, { ts: 2_000_000_000 }), 0);
    h.rb.push(pkt(4, { ts: 2_000_000_960 }), 0);
    expect(h.resets).toEqual(['timestamp-jump']);
    expect(h.seqs()).toEqual([1, 2, 4]);
  });

  it('flush releases everything and counts the gaps', () => {
    const h = harness({ maxHoldMs: 1e9 });
    for (const s of [1, 4, 6]) h.rb.push(pkt(s), 0);
    h.rb.flush();
    expect(h.seqs()).toEqual([1, 4, 6]);
    expect(h.out.map((p) => p.lostBefore)).toEqual([0, 2, 1]);
    expect(h.rb.stats()).toMatchObject({ buffered: 0, lost: 3 });
  });

  it('property: any permutation, duplication and drop across the 65535 wrap releases strictly increasing seqs with bounded memory', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 65536 - 300, max: 65535 }),
        fc.integer({ min: 20, max: 400 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 9 })), { minLength: 400, maxLength: 400 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 200 }),
        (start, count, noise, maxPackets, maxHoldMs) => {
          // Build arrivals: each packet is dropped (n=0), sent once, or duplicated (n=9), with random displacement.
          const arrivals: { seq: number; key: number }[] = [];
          for (let i = 0; i < count; i++) {
            const [disp, mode] = noise[i]!;
            if (mode === 0) continue;
            arrivals.push({ seq: start + i, key: i + (disp % 50) });
            if (mode === 9) arrivals.push({ seq: start + i, key: i + ((disp >> 6) % 80) });
          }
          arrivals.sort((a, b) => a.key - b.key);
          const h = harness({ maxPackets, maxHoldMs });
          arrivals.forEach((a, i) => {
            h.rb.push(pkt(a.seq), i * 5);
            expect(h.rb.stats().buffered).toBeLessThanOrEqual(maxPackets);
          });
          h.rb.flush();
          const seqs = h.seqs();
          for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
          // Extended numbering starts at the first packet's raw value: map it back to the sent numbering.
          const sent = new Set(arrivals.map((a) => a.seq));
          if (seqs.length > 0) {
            const first = [...sent].find((s) => (s & 0xffff) === (seqs[0]! & 0xffff))!;
            const offset = first - seqs[0]!;
            for (const s of seqs) expect(sent.has(s + offset)).toBe(true);
          }
          const st = h.rb.stats();
          expect(st.buffered).toBe(0);
          expect(st.released + st.duplicates + st.late).toBe(arrivals.length);
          // Gaps reported before each packet match the released numbering.
          for (let i = 1; i < h.out.length; i++) expect(h.out[i]!.lostBefore).toBe(seqs[i]! - seqs[i - 1]! - 1);
          expect(st.resets).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
