import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MU_LAW_SILENCE, MuLawPacer } from './MuLawPacer.js';
import { ManualClock } from '../testing/ManualClock.js';

function setup(leadFrames = 3): { clock: ManualClock; pacer: MuLawPacer; sent: { at: number; frame: Uint8Array }[] } {
  const clock = new ManualClock();
  const sent: { at: number; frame: Uint8Array }[] = [];
  const pacer = new MuLawPacer((frame) => sent.push({ at: clock.now(), frame }), { clock, leadFrames });
  return { clock, pacer, sent };
}

describe('MuLawPacer (driven by a manual clock)', () => {
  it('sends 160-byte frames in real time after a small lead, never as a burst', async () => {
    const { clock, pacer, sent } = setup(3);
    const codes = Uint8Array.from({ length: 160 * 50 }, (_, i) => i & 0x7f);
    let ended: unknown;
    void pacer.play(codes).then((e) => (ended = e));
    // Lead: frames 0..3 go out at once.
    expect(sent.map((s) => s.at)).toEqual([0, 0, 0, 0]);
    clock.advance(19);
    expect(sent).toHaveLength(4);
    clock.advance(1);
    expect(sent).toHaveLength(5);
    clock.advance(200);
    // One frame per 20 ms of clock.
    expect(sent).toHaveLength(15);
    for (let i = 4; i < sent.length; i++) expect(sent[i]!.at).toBe((i - 3) * 20);
    clock.advance(2000);
    expect(sent).toHaveLength(50);
    await Promise.resolve();
    expect(ended).toEqual({ reason: 'completed', framesSent: 50 });
    expect(clock.pending).toBe(0);
    // The frames are the audio, in order.
    const joined = new Uint8Array(sent.length * 160);
    sent.forEach((s, i) => joined.set(s.frame, i * 160));
    expect([...joined]).toEqual([...codes]);
    for (const s of sent) expect(s.frame.length).toBe(160);
  });

  it('pads the last frame with mu-law silence', () => {
    const { clock, pacer, sent } = setup(0);
    void pacer.play(new Uint8Array(200).fill(0x12));
    clock.advance(100);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.frame.subarray(0, 40).every((b) => b === 0x12)).toBe(true);
    expect(sent[1]!.frame.subarray(40).every((b) => b === MU_LAW_SILENCE)).toBe(true);
  });

  it('stop() cuts playback at once and resolves "stopped"; no timer is left', async () => {
    const { clock, pacer, sent } = setup(2);
    const done = pacer.play(new Uint8Array(160 * 100));
    clock.advance(100);
    const before = sent.length;
    pacer.stop();
    clock.advance(1000);
    expect(sent.length).toBe(before);
    expect(await done).toEqual({ reason: 'stopped', framesSent: before });
    expect(pacer.playing).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('after a stall sends the frames that fell due together, then keeps the original schedule', () => {
    const { clock, pacer, sent } = setup(0);
    void pacer.play(new Uint8Array(160 * 20));
    expect(sent).toHaveLength(1);
    // The clock jumps 100 ms without timers running in between (an event-loop stall).
    (clock as unknown as { advance(ms: number): void }).advance(100);
    expect(sent).toHaveLength(6);
    clock.advance(20);
    expect(sent).toHaveLength(7);
  });

  it('property: whatever the length and lead, all audio is sent exactly once, no frame before its time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 10 }), fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 80 }), (bytes, lead, steps) => {
        const { clock, pacer, sent } = setup(lead);
        void pacer.play(new Uint8Array(bytes).fill(7));
        for (const s of steps) clock.advance(s);
        clock.advance(bytes * 2);
        const frames = Math.ceil(bytes / 160);
        expect(sent).toHaveLength(frames);
        sent.forEach((s, i) => expect(s.at).toBeGreaterThanOrEqual(Math.max(0, i - lead) * 20));
        expect(sent.reduce((n, s) => n + s.frame.filter((b) => b === 7).length, 0)).toBe(bytes);
      }),
      { numRuns: 200 },
    );
  });
});
