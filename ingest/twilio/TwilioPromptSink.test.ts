import { describe, expect, it } from 'vitest';
import { TwilioPromptSink, toMuLaw8k } from './TwilioPromptSink.js';
import { ManualClock } from '../testing/ManualClock.js';
import { muLawDecodeFloat } from '../../pipeline/audio/G711.js';
import type { TwilioOutbound } from './protocol.js';

const SID = 'MZ' + '0'.repeat(32);
/** Lets promise callbacks (the pacer's end) run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** 1 s of a 440 Hz tone at 48 kHz. */
function tone(seconds = 1): Int16Array {
  const out = new Int16Array(48000 * seconds);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48000));
  return out;
}

function setup(): { clock: ManualClock; sink: TwilioPromptSink; sent: TwilioOutbound[] } {
  const clock = new ManualClock();
  const sent: TwilioOutbound[] = [];
  const sink = new TwilioPromptSink((m) => sent.push(m), SID, { pacer: { clock, leadFrames: 2 }, markTimeoutMs: 3000 });
  return { clock, sink, sent };
}

describe('TwilioPromptSink', () => {
  it('converts 48 kHz PCM to 8 kHz mu-law with the band kept (a tone stays a tone)', () => {
    const mu = toMuLaw8k(tone());
    expect(mu.length).toBe(8000);
    const x = muLawDecodeFloat(mu);
    let rms = 0;
    for (let i = 400; i < 7600; i++) rms += x[i]! * x[i]!;
    expect(Math.sqrt(rms / 7200)).toBeCloseTo(8000 / 32768 / Math.SQRT2, 2);
  });

  it('plays as paced media frames, then a mark; resolves "completed" only when Twilio echoes the mark', async () => {
    const { clock, sink, sent } = setup();
    let ended: unknown;
    void sink.play(tone()).then((e) => (ended = e));
    clock.advance(2000);
    await settle();
    const media = sent.filter((m) => m.event === 'media');
    expect(media).toHaveLength(50);
    for (const m of media) expect(m.event === 'media' && Buffer.from(m.media.payload, 'base64').length).toBe(160);
    const mark = sent.at(-1);
    expect(mark).toMatchObject({ event: 'mark', streamSid: SID });
    await settle();
    expect(ended).toBeUndefined();
    sink.onMark('someone-else');
    await settle();
    expect(ended).toBeUndefined();
    sink.onMark(mark!.event === 'mark' ? mark!.mark.name : '');
    await settle();
    expect(ended).toEqual({ reason: 'completed' });
    expect(sink.playing).toBe(false);
  });

  it('stop() during playback sends clear and resolves "stopped"; the late mark changes nothing', async () => {
    const { clock, sink, sent } = setup();
    const done = sink.play(tone());
    clock.advance(200);
    sink.stop();
    expect(sent.at(-1)).toEqual({ event: 'clear', streamSid: SID });
    const n = sent.length;
    clock.advance(5000);
    expect(sent.length).toBe(n);
    expect(await done).toEqual({ reason: 'stopped' });
    expect(sent.some((m) => m.event === 'mark')).toBe(false);
  });

  it('a mark that never comes back resolves "unconfirmed" after markTimeoutMs; close() resolves "closed"', async () => {
    const { clock, sink } = setup();
    let ended: unknown;
    void sink.play(tone(0.2)).then((e) => (ended = e));
    clock.advance(1000);
    await settle();
    expect(ended).toBeUndefined();
    clock.advance(3000);
    await settle();
    expect(ended).toEqual({ reason: 'unconfirmed' });
    const next = sink.play(tone(0.2));
    sink.close();
    expect(await next).toEqual({ reason: 'closed' });
    expect(await sink.play(tone(0.1))).toEqual({ reason: 'closed' });
    expect(clock.pending).toBe(0);
  });

  it('one prompt at a time', async () => {
    const { sink } = setup();
    void sink.play(tone(0.1));
    await expect(sink.play(tone(0.1))).rejects.toMatchObject({ code: 'ERR_CHALLENGE_ACTIVE' });
  });
});
