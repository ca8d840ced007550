import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IvfFile } from './IvfWriter.js';
import { encodeVp8, packetizeVp8, type TestRtpPacket } from './testing/vp8Fixtures.js';
import { Vp8Depacketizer, type Vp8DepacketizerOptions, type Vp8Frame } from './Vp8Depacketizer.js';

let ivf: IvfFile;
let packets: TestRtpPacket[];
/** Index of the keyframe each frame depends on. */
let lastKey: number[];

beforeAll(() => {
  // Real libvpx output: 2 s of 320x240 at 30 fps, keyframe every 15 frames, small packets so
  // that most frames span several packets.
  ivf = encodeVp8({ width: 320, height: 240, fps: 30, seconds: 2, gop: 15, bitrate: '300k' });
  packets = packetizeVp8(ivf, { maxPayload: 300, firstSequence: 65_400 });
  lastKey = [];
  let k = 0;
  ivf.frames.forEach((f, i) => {
    if ((f.data[0]! & 1) === 0) k = i;
    lastKey.push(k);
  });
});

interface Run {
  frames: Vp8Frame[];
  keyframeRequests: number;
  d: Vp8Depacketizer;
}

function run(list: readonly TestRtpPacket[], opts: Partial<Vp8DepacketizerOptions> = {}, stepMs = 5): Run {
  const d = new Vp8Depacketizer(opts);
  const out: Run = { frames: [], keyframeRequests: 0, d };
  d.on('frame', (f) => out.frames.push(f));
  d.on('keyframe-needed', () => out.keyframeRequests++);
  list.forEach((p, i) => d.push(p, i * stepMs));
  return out;
}

/** Padding-only packets after the stream, so trailing gaps are detected. */
function flush(after: readonly TestRtpPacket[], n = 40): TestRtpPacket[] {
  const last = after[after.length - 1]!;
  return Array.from({ length: n }, (_, i) => ({
    ...last,
    sequenceNumber: (last.sequenceNumber + 1 + i) & 0xffff,
    timestamp: last.timestamp + 3000,
    marker: false,
    payload: new Uint8Array(0),
    frame: -1,
  }));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function frameIndex(f: Vp8Frame): number {
  return packets.findIndex((p) => p.sequenceNumber === (f.firstSeq & 0xffff));
}

describe('Vp8Depacketizer', () => {
  it('reassembles every frame byte for byte across a sequence number wrap', () => {
    const r = run(packets);
    expect(packets[0]!.sequenceNumber).toBe(65_400);
    expect(65_400 + packets.length).toBeGreaterThan(65_536); // wraps past 65535
    expect(r.frames.length).toBe(ivf.frames.length);
    r.frames.forEach((f, i) => {
      expect(sameBytes(f.data, ivf.frames[i]!.data)).toBe(true);
      expect(f.keyframe).toBe(i % 15 === 0);
    });
    expect(r.frames[0]).toMatchObject({ width: 320, height: 240, showFrame: true });
    // Unwrapped timestamps advance by 3000 (30 fps on a 90 kHz clock).
    expect(r.frames[1]!.timestamp - r.frames[0]!.timestamp).toBe(3000);
    const s = r.d.stats();
    expect(s).toMatchObject({ lost: 0, malformed: 0, framesDropped: 0, keyframes: 4, framesAssembled: ivf.frames.length, pendingPackets: 0 });
    // Only the start request; the first packet was a keyframe start.
    expect(r.keyframeRequests).toBe(1);
  });

  it('reassembles frames whose packets arrive reordered within the frame', () => {
    const shuffled: TestRtpPacket[] = [];
    for (let i = 0; i < ivf.frames.length; i++) {
      const group = packets.filter((p) => p.frame === i);
      shuffled.push(...group.reverse());
    }
    const r = run(shuffled);
    expect(r.frames.length).toBe(ivf.frames.length);
    r.frames.forEach((f, i) => expect(sameBytes(f.data, ivf.frames[i]!.data)).toBe(true));
  });

  it('ignores padding-only packets between frames', () => {
    const withPadding: TestRtpPacket[] = [];
    let seq = 100;
    for (const p of packets) {
      withPadding.push({ ...p, sequenceNumber: seq++ & 0xffff });
      if (p.marker && p.frame % 4 === 0) withPadding.push({ ...p, sequenceNumber: seq++ & 0xffff, payload: new Uint8Array(0), marker: false });
    }
    const r = run(withPadding);
    expect(r.frames.length).toBe(ivf.frames.length);
    expect(r.d.stats().padding).toBeGreaterThan(0);
    expect(r.d.stats().lost).toBe(0);
  });

  it('after a loss drops the broken frame and every delta frame until the next keyframe', () => {
    // First delta frame carried by several packets: lose its first packet.
    const v = ivf.frames.findIndex((_, i) => i > 0 && i < 10 && packets.filter((p) => p.frame === i).length >= 2);
    expect(v).toBeGreaterThan(0);
    const victim = packets.findIndex((p) => p.frame === v);
    const r = run([...packets.filter((_, i) => i !== victim), ...flush(packets)], { keyframeRequestIntervalMs: 100 });
    const got = r.frames.map(frameIndex).map((pi) => packets[pi]!.frame);
    const expected = ivf.frames.map((_, i) => i).filter((i) => i < v || i >= 15);
    expect(got).toEqual(expected);
    const s = r.d.stats();
    expect(s.lost).toBe(1);
    expect(s.framesDropped).toBe(1 + (14 - v)); // the broken frame + the gated delta frames
    expect(r.keyframeRequests).toBeGreaterThanOrEqual(2); // start + loss
  });

  it('random loss and reordering never yield a frame across a gap nor a delta frame on a broken chain', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 10_000 }), { maxLength: 25 }),
        fc.boolean(),
        (lostRaw, reorder) => {
          const lost = new Set(lostRaw.map((x) => x % packets.length));
          let list = packets.filter((_, i) => !lost.has(i));
          if (reorder) {
            const out: TestRtpPacket[] = [];
            for (let i = 0; i < ivf.frames.length; i++) out.push(...list.filter((p) => p.frame === i).reverse());
            list = out;
          }
          const r = run([...list, ...flush(packets)]);
          const lostFrames = new Set([...lost].map((i) => packets[i]!.frame));
          const intact = (j: number): boolean => {
            for (let k = lastKey[j]!; k <= j; k++) if (lostFrames.has(k)) return false;
            return true;
          };
          const emitted = r.frames.map((f) => {
            const pi = frameIndex(f);
            expect(pi).toBeGreaterThanOrEqual(0);
            const j = packets[pi]!.frame;
            // Exactly the original frame: nothing glued across a gap.
            expect(sameBytes(f.data, ivf.frames[j]!.data)).toBe(true);
            return j;
          });
          const want = ivf.frames.map((_, j) => j).filter(intact);
          expect(emitted).toEqual(want);
          expect(r.d.stats().lost).toBeLessThanOrEqual(lost.size);
          expect(r.d.stats().pendingPackets).toBeLessThanOrEqual(25);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a stream without a keyframe yields no frames and rate-limited keyframe requests', () => {
    const deltas = packets.filter((p) => p.frame >= 1 && p.frame < 15);
    // One packet every 20 ms: 0 .. (n-1)*20 ms; requests at most every 100 ms.
    const r = run(deltas, { keyframeRequestIntervalMs: 100 }, 20);
    const spanMs = (deltas.length - 1) * 20;
    expect(r.frames).toEqual([]);
    expect(r.d.stats().framesAssembled).toBeGreaterThan(10);
    expect(r.d.stats().framesDropped).toBe(r.d.stats().framesAssembled);
    expect(r.keyframeRequests).toBeGreaterThanOrEqual(Math.floor(spanMs / 100) - 1);
    expect(r.keyframeRequests).toBeLessThanOrEqual(Math.floor(spanMs / 100) + 1);
  });

  it('counts malformed packets, never throws on random bytes, and bounds its buffer', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
            timestamp: fc.integer({ min: 0, max: 0xffffffff }),
            marker: fc.boolean(),
            ssrc: fc.constantFrom(1, 2),
            payload: fc.uint8Array({ maxLength: 40 }),
          }),
          { maxLength: 300 },
        ),
        (list) => {
          const d = new Vp8Depacketizer({ maxPendingPackets: 64 });
          let frames = 0;
          d.on('frame', () => frames++);
          list.forEach((p, i) => {
            d.push(p, i);
            expect(d.stats().pendingPackets).toBeLessThanOrEqual(65);
          });
          const s = d.stats();
          expect(s.packets).toBe(list.length);
          expect(frames).toBeLessThanOrEqual(s.framesAssembled);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('survives corrupted real packets (bit flips, truncation)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 30 }), (edits) => {
        const list = packets.map((p) => ({ ...p, payload: p.payload.slice() }));
        for (const [pi, off, bit] of edits) {
          const p = list[pi % list.length]!;
          if (bit === 7) p.payload = p.payload.subarray(0, off % (p.payload.length + 1));
          else if (p.payload.length > 0) p.payload[off % p.payload.length]! ^= 1 << bit;
        }
        const d = new Vp8Depacketizer();
        let frames = 0;
        d.on('frame', (f) => {
          frames++;
          expect(f.data.length).toBeGreaterThan(0);
        });
        list.forEach((p, i) => d.push(p, i));
        expect(frames).toBeLessThanOrEqual(ivf.frames.length);
      }),
      { numRuns: 100 },
    );
  });

  it('drops frames above maxFrameBytes and waits for the next keyframe', () => {
    const limit = ivf.frames[0]!.data.length - 1;
    expect(ivf.frames[15]!.data.length).toBeLessThanOrEqual(limit);
    const r = run(packets, { maxFrameBytes: limit });
    // The first keyframe is over the limit: its whole chain is lost; the second one starts decoding.
    expect(r.frames[0]!.keyframe).toBe(true);
    expect(frameIndex(r.frames[0]!)).toBe(packets.findIndex((p) => p.frame === 15));
    for (const f of r.frames) expect(f.data.length).toBeLessThanOrEqual(limit);
    expect(r.d.stats().framesDropped).toBeGreaterThanOrEqual(15);
    expect(r.d.stats().framesDropped).toBeGreaterThan(0);
  });

  it('resets on an SSRC change and waits for a keyframe of the new stream', () => {
    const first = packets.filter((p) => p.frame < 10);
    const second = packetizeVp8(ivf, { ssrc: 42, firstSequence: 7, maxPayload: 300 }).filter((p) => p.frame >= 5);
    // A stray packet from another SSRC in the middle is ignored.
    const stray = { ...packets[0]!, ssrc: 777, sequenceNumber: 3 };
    const r = run([...first.slice(0, 10), stray, ...first.slice(10), ...second]);
    const s = r.d.stats();
    expect(s.resets).toBe(1);
    // 7 packets of the new SSRC are ignored before the switch (plus the stray one).
    expect(s.foreignSsrc).toBe(1 + 7);
    // 10 frames of the first stream, then nothing until the new stream's keyframe (frame 15).
    expect(r.frames.length).toBe(10 + (ivf.frames.length - 15));
    expect(r.frames[10]!.keyframe).toBe(true);
  });

  it('a malformed packet with a wild sequence number neither breaks nor resets the stream', () => {
    const bad = { ...packets[5]!, sequenceNumber: (packets[5]!.sequenceNumber + 1000) & 0xffff, payload: Uint8Array.of(0x80) };
    const r = run([...packets.slice(0, 20), bad, ...packets.slice(20)]);
    expect(r.frames.length).toBe(ivf.frames.length);
    expect(r.d.stats()).toMatchObject({ malformed: 1, lost: 0, resets: 0, framesDropped: 0 });
  });

  it('counts duplicates and late packets', () => {
    const dup = [...packets.slice(0, 20), packets[5]!, ...packets.slice(20)];
    const r = run(dup);
    expect(r.d.stats().late + r.d.stats().duplicates).toBe(1);
    expect(r.frames.length).toBe(ivf.frames.length);
  });
});
