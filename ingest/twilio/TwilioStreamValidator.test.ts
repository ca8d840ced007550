import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTwilioFrame } from './parseFrame.js';
import { TwilioStreamValidator, type Checked } from './TwilioStreamValidator.js';
import { TwilioCallState, type TwilioCallStateName } from './TwilioCallState.js';
import { newStreamIds, twilioFrames, type StreamIds } from '../testing/twilioFrames.js';

const parse = (v: unknown) => parseTwilioFrame(JSON.stringify(v), false);
const chunk = new Uint8Array(160).fill(0xff);

function started(ids: StreamIds = newStreamIds(), tracks: string[] = ['inbound']): TwilioStreamValidator {
  const v = new TwilioStreamValidator();
  expect(v.check(parse(twilioFrames.connected())).ok).toBe(true);
  expect(v.check(parse(twilioFrames.start(ids, 1, {}, tracks))).ok).toBe(true);
  return v;
}

const failure = (c: Checked): { code: string; fatal: boolean } | undefined => (c.ok ? undefined : { code: c.error.code, fatal: c.fatal });

describe('TwilioCallState: transition by transition', () => {
  const all: TwilioCallStateName[] = ['awaiting-connected', 'awaiting-start', 'opening', 'streaming', 'stopped'];
  const allowed: Record<TwilioCallStateName, TwilioCallStateName[]> = {
    'awaiting-connected': ['awaiting-start', 'stopped'],
    'awaiting-start': ['opening', 'stopped'],
    opening: ['streaming', 'stopped'],
    streaming: ['stopped'],
    stopped: [],
  };
  const reach = (to: TwilioCallStateName): TwilioCallState => {
    const s = new TwilioCallState();
    const path: TwilioCallStateName[] = ['awaiting-start', 'opening', 'streaming'];
    if (to === 'stopped') s.move('stopped');
    else for (const p of path.slice(0, path.indexOf(to as 'opening') + 1)) s.move(p);
    return s;
  };
  for (const from of all) {
    for (const to of all) {
      const ok = allowed[from].includes(to);
      it(`${from} -> ${to}: ${ok ? 'allowed' : 'ERR_INGEST_STATE'}`, () => {
        const s = reach(from);
        expect(s.name).toBe(from);
        if (ok) {
          s.move(to);
          expect(s.name).toBe(to);
        } else expect(() => s.move(to)).toThrow(expect.objectContaining({ code: 'ERR_INGEST_STATE' }));
      });
    }
  }
  it('takes only the events of its state', () => {
    const s = new TwilioCallState();
    expect([s.accepts('connected'), s.accepts('start'), s.accepts('media')]).toEqual([true, false, false]);
    s.move('awaiting-start');
    expect([s.accepts('connected'), s.accepts('start'), s.accepts('media')]).toEqual([false, true, false]);
    s.move('opening');
    expect([s.accepts('start'), s.accepts('media'), s.accepts('mark'), s.accepts('dtmf'), s.accepts('stop')]).toEqual([false, true, true, true, true]);
  });
});

describe('TwilioStreamValidator', () => {
  it('a documented stream passes: connected, start, media, dtmf, mark, stop', () => {
    const ids = newStreamIds();
    const v = started(ids);
    expect(v.state.name).toBe('opening');
    v.state.move('streaming');
    for (const [i, f] of [twilioFrames.media(ids, 2, 1, 0, chunk), twilioFrames.media(ids, 3, 2, 20, chunk), twilioFrames.dtmf(ids, 4, '5'), twilioFrames.mark(ids, 5, 'x'), twilioFrames.stop(ids, 6)].entries()) {
      expect(v.check(parse(f)), `frame ${i}`).toMatchObject({ ok: true, sequenceGap: 0 });
    }
  });

  it('media before start, start before connected, a duplicate start: fatal ERR_INGEST_STATE', () => {
    const ids = newStreamIds();
    const fresh = new TwilioStreamValidator();
    expect(failure(fresh.check(parse(twilioFrames.start(ids, 1))))).toEqual({ code: 'ERR_INGEST_STATE', fatal: true });
    const connected = new TwilioStreamValidator();
    connected.check(parse(twilioFrames.connected()));
    expect(failure(connected.check(parse(twilioFrames.media(ids, 2, 1, 0, chunk))))).toEqual({ code: 'ERR_INGEST_STATE', fatal: true });
    const v = started(ids);
    expect(failure(v.check(parse(twilioFrames.start(ids, 2))))).toEqual({ code: 'ERR_INGEST_STATE', fatal: true });
    v.state.move('stopped');
    expect(failure(v.check(parse(twilioFrames.media(ids, 3, 1, 0, chunk))))).toEqual({ code: 'ERR_INGEST_STATE', fatal: false });
  });

  it('refuses any media format but mu-law 8000 Hz mono (fatal ERR_INGEST_FORMAT), and a foreign protocol', () => {
    for (const mediaFormat of [{ encoding: 'audio/x-alaw', sampleRate: 8000, channels: 1 }, { encoding: 'audio/x-mulaw', sampleRate: 16000, channels: 1 }, { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 2 }]) {
      const v = new TwilioStreamValidator();
      v.check(parse(twilioFrames.connected()));
      expect(failure(v.check(parse(twilioFrames.start(newStreamIds(), 1, {}, ['inbound'], mediaFormat))))).toEqual({ code: 'ERR_INGEST_FORMAT', fatal: true });
    }
    const v = new TwilioStreamValidator();
    expect(failure(v.check(parse({ event: 'connected', protocol: 'Other', version: '1.0.0' })))).toEqual({ code: 'ERR_INGEST_FRAME', fatal: true });
    expect(failure(new TwilioStreamValidator().check(parse({ event: 'connected', protocol: 'Call', version: '2.0.0' })))).toEqual({ code: 'ERR_INGEST_FRAME', fatal: true });
  });

  it('sequence numbers must increase (gaps counted), chunks increase and timestamps never go back per track', () => {
    const ids = newStreamIds();
    const v = started(ids, ['inbound', 'outbound']);
    expect(v.check(parse(twilioFrames.media(ids, 2, 1, 0, chunk)))).toMatchObject({ ok: true, sequenceGap: 0 });
    expect(failure(v.check(parse(twilioFrames.media(ids, 2, 2, 20, chunk))))).toEqual({ code: 'ERR_INGEST_SEQUENCE', fatal: false });
    expect(v.check(parse(twilioFrames.media(ids, 5, 2, 20, chunk)))).toMatchObject({ ok: true, sequenceGap: 2 });
    expect(failure(v.check(parse(twilioFrames.media(ids, 6, 2, 40, chunk))))).toEqual({ code: 'ERR_INGEST_SEQUENCE', fatal: false });
    expect(failure(v.check(parse(twilioFrames.media(ids, 7, 3, 10, chunk))))).toEqual({ code: 'ERR_INGEST_SEQUENCE', fatal: false });
    // The other track has its own chunk counter.
    expect(v.check(parse(twilioFrames.media(ids, 8, 1, 0, chunk, 'outbound')))).toMatchObject({ ok: true });
  });

  it('frames of another stream, of a track not announced, a stop of another call: refused, not fatal', () => {
    const ids = newStreamIds();
    const v = started(ids);
    const other = { ...ids, streamSid: newStreamIds().streamSid };
    expect(failure(v.check(parse(twilioFrames.media(other, 2, 1, 0, chunk))))).toEqual({ code: 'ERR_INGEST_FRAME', fatal: false });
    expect(failure(v.check(parse(twilioFrames.media(ids, 3, 1, 0, chunk, 'outbound'))))).toEqual({ code: 'ERR_INGEST_FRAME', fatal: false });
    expect(failure(v.check(parse(twilioFrames.stop({ ...ids, callSid: newStreamIds().callSid }, 4))))).toEqual({ code: 'ERR_INGEST_FRAME', fatal: false });
    expect(v.check(parse(twilioFrames.media(ids, 5, 1, 0, chunk)))).toMatchObject({ ok: true });
  });

  it('property: of any interleaving of frames, exactly those in order are accepted, and state never moves backwards', () => {
    const ids = newStreamIds();
    const frame = fc.record({ seq: fc.integer({ min: 0, max: 40 }), chunk: fc.integer({ min: 0, max: 40 }), ts: fc.integer({ min: 0, max: 800 }) });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 60 }), (frames) => {
        const v = started(ids);
        v.state.move('streaming');
        let lastSeq = 1;
        let lastChunk = -Infinity;
        let lastTs = -Infinity;
        for (const f of frames) {
          const r = v.check(parse(twilioFrames.media(ids, f.seq, f.chunk, f.ts, chunk)));
          const seqOk = f.seq > lastSeq;
          if (seqOk) lastSeq = f.seq;
          const ok = seqOk && f.chunk > lastChunk && f.ts >= lastTs;
          expect(r.ok).toBe(ok);
          if (!r.ok) {
            expect(r.error.code).toBe('ERR_INGEST_SEQUENCE');
            expect(r.fatal).toBe(false);
          } else {
            lastChunk = f.chunk;
            lastTs = f.ts;
          }
          expect(v.state.name).toBe('streaming');
        }
      }),
      { numRuns: 300 },
    );
  });
});
