/**
 * Fuzz: Twilio Media Streams frames. parseTwilioFrame never throws anything but ERR_BAD_JSON,
 * ERR_INGEST_FRAME or ERR_INGEST_PAYLOAD, and every valid frame of every event reads back with
 * its fields; TwilioStreamValidator never throws, and a frame it refuses without ending the
 * stream (another stream's, or a stale sequence number) changes nothing: the stream's own frames
 * get exactly the answers (and sequence gaps) they get without it.
 * Corpora: test/fuzz/corpus/twilio.json (frame text; `binary` frames too) and twilio-stream.json
 * (sequences of frames through the validator).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJsonEdit, FuzzBoundary, jsonEdit, loadCorpus, outcome } from '../../test/helpers/fuzz.js';
import { parseTwilioFrame } from './parseFrame.js';
import type { TwilioInbound } from './protocol.js';
import { TwilioStreamValidator, type Checked } from './TwilioStreamValidator.js';

const fuzz = new FuzzBoundary('twilio');
const PARSE_CODES = ['ERR_BAD_JSON', 'ERR_INGEST_FRAME', 'ERR_INGEST_PAYLOAD'] as const;
const CHECK_CODES = ['ERR_INGEST_STATE', 'ERR_INGEST_FRAME', 'ERR_INGEST_FORMAT', 'ERR_INGEST_SEQUENCE'] as const;

const sidArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,56}$/);
const counter = (max = 999_999) => fc.integer({ min: 0, max }).chain((n) => fc.constantFrom<string | number>(String(n), n).map((v) => ({ n, v })));
const track = fc.constantFrom('inbound' as const, 'outbound' as const);
const ids = fc.record({ streamSid: sidArb, callSid: sidArb, accountSid: sidArb });

/** A valid frame of any event (as sent: JSON value) and what parseTwilioFrame must return for it. */
const validFrame: fc.Arbitrary<{ wire: Record<string, unknown>; want: TwilioInbound }> = fc.oneof(
  fc.record({ protocol: fc.string({ maxLength: 32 }), version: fc.string({ maxLength: 32 }) }).map(({ protocol, version }) => ({
    wire: { event: 'connected', protocol, version },
    want: { event: 'connected' as const, protocol, version },
  })),
  fc
    .record({
      ids,
      seq: counter(),
      tracks: fc.uniqueArray(track, { minLength: 1, maxLength: 2 }),
      custom: fc.dictionary(fc.string({ maxLength: 64 }), fc.string({ maxLength: 100 }), { maxKeys: 5 }),
      format: fc.record({
        encoding: fc.string({ maxLength: 64 }),
        sampleRate: fc.oneof(fc.constant(8000), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0))),
        channels: fc.integer(),
      }),
    })
    .map(({ ids, seq, tracks, custom, format }) => ({
      wire: { event: 'start', sequenceNumber: seq.v, streamSid: ids.streamSid, start: { ...ids, tracks, customParameters: custom, mediaFormat: format } },
      want: { event: 'start' as const, sequenceNumber: seq.n, streamSid: ids.streamSid, start: { ...ids, tracks, customParameters: { ...custom }, mediaFormat: format } },
    })),
  fc
    .record({ ids, seq: counter(), chunk: counter(), ts: counter(), track, payload: fc.uint8Array({ minLength: 1, maxLength: 1600 }) })
    .map(({ ids, seq, chunk, ts, track, payload }) => ({
      wire: { event: 'media', sequenceNumber: seq.v, streamSid: ids.streamSid, media: { track, chunk: chunk.v, timestamp: ts.v, payload: Buffer.from(payload).toString('base64') } },
      want: { event: 'media' as const, sequenceNumber: seq.n, streamSid: ids.streamSid, media: { track, chunk: chunk.n, timestamp: ts.n, payload } },
    })),
  fc.record({ ids, seq: counter(), name: fc.string({ maxLength: 256 }) }).map(({ ids, seq, name }) => ({
    wire: { event: 'mark', sequenceNumber: seq.v, streamSid: ids.streamSid, mark: { name } },
    want: { event: 'mark' as const, sequenceNumber: seq.n, streamSid: ids.streamSid, mark: { name } },
  })),
  fc.record({ ids, seq: counter(), digit: fc.constantFrom(...'0123456789ABCD*#') }).map(({ ids, seq, digit }) => ({
    wire: { event: 'dtmf', sequenceNumber: seq.v, streamSid: ids.streamSid, dtmf: { track: 'inbound_track', digit } },
    want: { event: 'dtmf' as const, sequenceNumber: seq.n, streamSid: ids.streamSid, dtmf: { track: 'inbound_track', digit } },
  })),
  fc.record({ ids, seq: counter() }).map(({ ids, seq }) => ({
    wire: { event: 'stop', sequenceNumber: seq.v, streamSid: ids.streamSid, stop: { accountSid: ids.accountSid, callSid: ids.callSid } },
    want: { event: 'stop' as const, sequenceNumber: seq.n, streamSid: ids.streamSid, stop: { accountSid: ids.accountSid, callSid: ids.callSid } },
  })),
);

function parseOutcome(text: string, binary = false) {
  return outcome(() => parseTwilioFrame(text, binary), PARSE_CODES);
}

describe('fuzz: Twilio Media Streams frames', () => {
  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<{ text: string; binary?: boolean }>('twilio'), (c) => parseOutcome(c.text, c.binary ?? false));
  });

  it('replays the stream corpus: the validator keeps its answer to the last frame of each sequence', () => {
    fuzz.replay(loadCorpus<string[]>('twilio-stream'), (frames) => {
      const v = new TwilioStreamValidator();
      let last: Checked | undefined;
      for (const f of frames) {
        last = v.check(parseTwilioFrame(f, false));
        // As TwilioSession moves it.
        if (last.ok && last.msg.event === 'start') v.state.move('streaming');
        if (last.ok && last.msg.event === 'stop') v.state.move('stopped');
      }
      return !last || last.ok ? 'ok' : last.error.code;
    });
  });

  it('a valid frame of every event reads back with its fields (counters as numbers, payload decoded)', () => {
    fuzz.check(
      fc.property(validFrame, ({ wire, want }) => {
        const got = parseTwilioFrame(Buffer.from(JSON.stringify(wire)), false);
        if (got.event === 'media' && want.event === 'media') expect({ ...got, media: { ...got.media, payload: [...got.media.payload] } }).toEqual({ ...want, media: { ...want.media, payload: [...want.media.payload] } });
        else expect(got).toEqual(want);
        // The same text as a binary frame is refused.
        expect(parseOutcome(JSON.stringify(wire), true)).toBe('ERR_INGEST_FRAME');
      }),
      3,
    );
  });

  it('edited frames (JSON values and raw text) parse or are refused with a frame, payload or JSON code', () => {
    fuzz.check(
      fc.property(validFrame, fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 0xffff })), { maxLength: 3 }), (f, edits, textEdits) => {
        parseOutcome(JSON.stringify(edits.reduce(applyJsonEdit, f.wire as unknown)));
        const chars = [...JSON.stringify(f.wire)];
        for (const [at, c] of textEdits) chars[at % chars.length] = String.fromCharCode(c);
        parseOutcome(chars.join(''));
      }),
      5,
    );
  });

  it('frames the validator refuses without ending the stream change nothing for the stream', () => {
    const stream = fc.record({
      ids,
      other: sidArb,
      tracks: fc.uniqueArray(track, { minLength: 1, maxLength: 2 }),
      steps: fc.array(fc.record({ kind: fc.constantFrom('media', 'media', 'media', 'mark', 'dtmf'), seqStep: fc.integer({ min: 1, max: 3 }), tsStep: fc.integer({ min: 0, max: 40 }), track }), { minLength: 1, maxLength: 30 }),
      stray: fc.array(fc.record({ at: fc.nat(), foreign: fc.boolean(), seq: fc.integer({ min: 0, max: 2000 }), kind: fc.constantFrom('media', 'mark', 'dtmf', 'stop') }), { maxLength: 12 }),
    });
    fuzz.check(
      fc.property(stream, ({ ids: sids, other, tracks, steps, stray }) => {
        fc.pre(other !== sids.streamSid);
        const payload = Buffer.alloc(160, 0xff).toString('base64');
        const frame = (kind: string, streamSid: string, seq: number, chunk: number, ts: number, t: string): Record<string, unknown> => {
          const base = { event: kind, sequenceNumber: String(seq), streamSid };
          if (kind === 'media') return { ...base, media: { track: t, chunk: String(chunk), timestamp: String(ts), payload } };
          if (kind === 'mark') return { ...base, mark: { name: 'm' } };
          if (kind === 'dtmf') return { ...base, dtmf: { track: 'inbound_track', digit: '5' } };
          return { ...base, stop: { accountSid: sids.accountSid, callSid: sids.callSid } };
        };
        // The stream as sent: connected, start, media/mark/dtmf with increasing (gapped) numbers, stop.
        const own: Record<string, unknown>[] = [
          { event: 'connected', protocol: 'Call', version: '1.0.0' },
          { event: 'start', sequenceNumber: '1', streamSid: sids.streamSid, start: { ...sids, tracks, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } },
        ];
        let seq = 1;
        let ts = 0;
        const chunks = new Map<string, number>();
        for (const s of steps) {
          seq += s.seqStep;
          ts += s.tsStep;
          const t = tracks.includes(s.track) ? s.track : tracks[0]!;
          const chunk = (chunks.get(t) ?? 0) + 1;
          if (s.kind === 'media') chunks.set(t, chunk);
          own.push(frame(s.kind, sids.streamSid, seq, chunk, ts, t));
        }
        own.push(frame('stop', sids.streamSid, seq + 1, 0, ts, 'inbound'));

        const run = (frames: { f: Record<string, unknown>; ownIndex: number | undefined }[]): (Checked | undefined)[] => {
          const v = new TwilioStreamValidator();
          const answers: (Checked | undefined)[] = [];
          for (const { f, ownIndex } of frames) {
            let r: Checked;
            try {
              r = v.check(parseTwilioFrame(JSON.stringify(f), false));
            } catch (e) {
              throw new Error(`validator threw: ${String(e)}`, { cause: e });
            }
            if (!r.ok) expect(CHECK_CODES).toContain(r.error.code);
            if (r.ok && r.msg.event === 'start') v.state.move('streaming');
            if (ownIndex === undefined) {
              // A stray frame is refused and does not end the stream.
              expect(r.ok, JSON.stringify(f)).toBe(false);
              if (!r.ok) expect(r.fatal).toBe(false);
            } else answers[ownIndex] = r;
          }
          return answers;
        };
        const clean = run(own.map((f, i) => ({ f, ownIndex: i })));
        expect(clean.every((r) => r?.ok)).toBe(true);

        // Stray frames after start and before stop: another stream's (any number), or this stream's with a number already used.
        const mixed = own.map((f, i) => ({ f, ownIndex: i as number | undefined }));
        const placed = stray.map((s) => ({ ...s, at: 2 + (s.at % (own.length - 2)) })).sort((a, b) => b.at - a.at);
        for (const s of placed) {
          const at = s.at;
          const usedSeq = Number((own[at - 1]!['sequenceNumber'] as string | undefined) ?? 1);
          const f = s.foreign ? frame(s.kind, other, s.seq, 1, 0, tracks[0]!) : frame(s.kind, sids.streamSid, s.seq % (usedSeq + 1), 1, 0, tracks[0]!);
          mixed.splice(at, 0, { f, ownIndex: undefined });
        }
        const answers = run(mixed);
        expect(answers.map((r) => r && (r.ok ? { ok: true, gap: r.sequenceGap } : r.error.code))).toEqual(clean.map((r) => r && (r.ok ? { ok: true, gap: r.sequenceGap } : r.error.code)));
      }),
      3,
    );
  });
});
