/**
 * Fuzz: NATS messages the service consumes. parseEvent (the consumer-side validator) never
 * throws anything but ERR_BAD_JSON, ERR_BAD_REQUEST or ERR_MESSAGE_TOO_LARGE; every valid event
 * of every type (operator decisions included) round-trips, with unknown extra fields too; the
 * call-history entries read back from the DFD_CALLS bucket (parseHistoryEntry) are accepted
 * when valid and refused, never thrown on, otherwise.
 * Against a real nats-server (EventBus): a raw client floods the service's subjects with
 * garbage, edited events and events on the wrong subject. Only the valid events reach the
 * subscriber, every other message is counted as invalid, the call registry they feed ends
 * exactly as if it had seen the valid events alone, events of another call published meanwhile
 * all arrive, and the audit export of the flooded room reads past it all and holds no record
 * (nothing there was sealed by the service).
 * Corpus: test/fuzz/corpus/events.json (message text; expect is parseEvent's outcome).
 */
import fc from 'fast-check';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRegistry } from '../api/CallRegistry.js';
import { historyEntry, parseHistoryEntry, type HistoryEntry } from '../api/HistoryEntry.js';
import { applyJsonEdit, FUZZ_SEED, FuzzBoundary, fuzzRuns, fuzzTimeout, HeapProbe, jsonEdit, loadCorpus, outcome, until } from '../test/helpers/fuzz.js';
import { verifyBundle } from './AuditLog.js';
import { EventBus } from './EventBus.js';
import { EVENT_TYPES, makeEvent, parseEvent, VERDICT_STATES, type DfdEvent } from './schema.js';

const fuzz = new FuzzBoundary('events');
const CODES = ['ERR_BAD_JSON', 'ERR_BAD_REQUEST', 'ERR_MESSAGE_TOO_LARGE'] as const;

const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
/** A string of at most `max` UTF-16 units, any code points (lone surrogates included). */
const text = (min: number, max: number) => fc.string({ unit: 'binary', minLength: min, maxLength: max }).filter((s) => s.length >= min && s.length <= max);
const prob = fc.double({ min: 0, max: 1, noNaN: true });
const nonNeg = fc.double({ min: 0, max: 1e9, noNaN: true });
const count = fc.nat({ max: 1e9 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** A record without its undefined values (JSON drops them). */
const defined = <T extends Record<string, unknown>>(r: T): T => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as T;
const rec = <T extends Record<string, fc.Arbitrary<unknown>>>(m: T) => fc.record(m).map((r) => defined(r as Record<string, unknown>));

const quality = rec({ packetLoss: opt(prob), concealed: opt(prob), bitrate: opt(nonNeg), bandwidth: opt(fc.constantFrom('NB', 'MB', 'WB', 'SWB', 'FB')), frameRate: opt(nonNeg), faceSize: opt(nonNeg) });
const payloads: Record<(typeof EVENT_TYPES)[number], fc.Arbitrary<Record<string, unknown>>> = {
  score: rec({ detector: text(1, 128), pFake: prob, evidence: nonNeg, windowSeq: count, queueMs: nonNeg, inferenceMs: nonNeg, weight: opt(prob) }),
  verdict: rec({
    state: fc.constantFrom(...VERDICT_STATES),
    pFake: prob,
    confidence: prob,
    evidence: fc.record({ speechSeconds: nonNeg, faceFrames: count }),
    quality,
    dropped: fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/), count, { maxKeys: 5 }),
    reason: opt(text(0, 500)),
  }),
  challenge: rec({
    challengeId: token,
    challengeType: fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
    modality: fc.constantFrom('audio', 'video', 'audio-video'),
    phase: fc.constantFrom('issued', 'response', 'outcome', 'cancelled'),
    promptText: opt(text(0, 500)),
    expectedDurationSec: opt(nonNeg),
    side: opt(fc.constantFrom('left', 'right')),
    trigger: opt(fc.constantFrom('suspicious', 'weak-evidence', 'spot-check', 'operator')),
    outcome: opt(fc.constantFrom('passed', 'failed', 'non-compliant', 'unclear', 'timed-out')),
    reason: opt(text(0, 500)),
    measurements: opt(fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,20}$/), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), { maxKeys: 5 })),
  }),
  quality,
  decision: rec({ decision: fc.constantFrom('confirm', 'dismiss'), tagState: fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/), operator: text(1, 128), note: opt(text(0, 2000)) }),
  declared: rec({ voiceId: token, label: text(1, 128), matched: fc.boolean(), cosine: fc.double({ min: -1, max: 1, noNaN: true }).filter((x) => !Object.is(x, -0)) }),
};
/** A valid event of any type (as a consumer receives it: plain JSON). */
const validEvent: fc.Arbitrary<DfdEvent> = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    roomId: token,
    peerId: token,
    callId: opt(token),
    displayName: text(0, 256),
    ts: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
    seq: opt(count),
    models: fc.array(fc.record({ id: text(1, 128), version: text(1, 64) }), { maxLength: 4 }),
  })
  .chain((b) =>
    payloads[b.type].map((payload) => {
      const base = defined({ roomId: b.roomId, peerId: b.peerId, callId: b.callId, displayName: b.displayName, seq: b.seq, models: b.models });
      return JSON.parse(JSON.stringify(makeEvent(b.type, base as never, payload as never, b.ts))) as DfdEvent;
    }),
  );

function parseOutcome(data: string | Uint8Array) {
  return outcome(() => parseEvent(data), CODES);
}

describe('fuzz: NATS messages the service consumes', () => {
  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<string>('events'), (t) => parseOutcome(t));
  });

  it('a valid event of every type round-trips, with unknown extra fields too', () => {
    fuzz.check(
      fc.property(validEvent, fc.dictionary(fc.stringMatching(/^x-[a-z]{1,8}$/), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), (e, extra) => {
        expect(parseEvent(JSON.stringify(e))).toEqual(e);
        expect(parseEvent(new TextEncoder().encode(JSON.stringify({ ...e, ...extra, payload: { ...e.payload, ...extra } })))).toMatchObject(e);
      }),
      3,
    );
  });

  it('edited events, random JSON and random bytes: a valid event or ERR_BAD_JSON / ERR_BAD_REQUEST', () => {
    fuzz.check(
      fc.property(validEvent, fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.oneof(fc.jsonValue(), fc.uint8Array({ maxLength: 300 })), (e, edits, random) => {
        const edited = JSON.stringify(edits.reduce(applyJsonEdit, e as unknown));
        if (parseOutcome(edited) === 'ok') expect(parseOutcome(JSON.stringify(parseEvent(edited)))).toBe('ok');
        parseOutcome(random instanceof Uint8Array ? random : JSON.stringify(random) ?? 'undefined');
      }),
      5,
    );
  });

  it('stored call-history entries: valid ones are accepted, edited and random ones refused without a throw', () => {
    const registry = new CallRegistry();
    const entries: HistoryEntry[] = [];
    for (const [i, e] of fc.sample(validEvent, { numRuns: 40, seed: FUZZ_SEED }).entries()) {
      registry.apply({ ...e, roomId: `room${i % 4}`, callId: undefined } as unknown as DfdEvent);
    }
    for (const c of registry.openCalls()) entries.push(historyEntry(c));
    registry.endAll();
    for (const c of registry.calls()) entries.push(historyEntry(c));
    for (const h of entries) expect(parseHistoryEntry(JSON.parse(JSON.stringify(h)))).toEqual(h);
    fuzz.count(entries.length);
    fuzz.check(
      fc.property(fc.constantFrom(...entries), fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.jsonValue(), (h, edits, random) => {
        const edited = JSON.parse(JSON.stringify(edits.reduce(applyJsonEdit, h as unknown))) as unknown;
        const r = parseHistoryEntry(edited);
        if (r !== undefined) expect(r).toBe(edited);
        expect(() => parseHistoryEntry(random)).not.toThrow();
      }),
      2,
    );
  });

  describe('on a real nats-server (EventBus)', () => {
    let bus: EventBus;
    let raw: NatsConnection;
    beforeAll(async () => {
      bus = await EventBus.connect({ ackTimeoutMs: 2000 });
      raw = await connect({ servers: bus.server?.url ?? '', ...bus.server?.serviceAuth });
    });
    afterAll(async () => {
      await raw?.close();
      await bus?.close();
    });

    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    /** One message a raw client may publish: garbage, an edited event, an event on another subject, or a valid event. */
    const message = fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('bytes' as const), data: fc.uint8Array({ maxLength: 400 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('json' as const), data: fc.jsonValue({ maxDepth: 3 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('edited' as const), event: validEvent, edits: fc.array(jsonEdit, { minLength: 1, maxLength: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('misrouted' as const), event: validEvent, peer: token }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('valid' as const), event: validEvent }) },
    );
    type Message = typeof message extends fc.Arbitrary<infer T> ? T : never;

    /** What a raw client publishes for message `m` (the i-th), and whether the service must take it. */
    function wire(m: Message, i: number): { subject: string; data: Uint8Array; valid: DfdEvent | undefined } {
      let subject = `dfd.v1.${ROOM}.p${i % 7}.decision`;
      let data: Uint8Array;
      if (m.kind === 'bytes') data = m.data;
      else if (m.kind === 'json') data = enc(JSON.stringify(m.data) ?? 'null');
      else {
        // Few participants: the registry they feed stays small however long the session.
        const e = { ...m.event, roomId: ROOM, ...(m.kind === 'edited' ? {} : { peerId: `p${i % 7}` }) } as DfdEvent;
        delete (e as { audit?: unknown }).audit;
        subject = `dfd.v1.${ROOM}.${m.kind === 'misrouted' && m.peer !== e.peerId ? m.peer : e.peerId}.${e.type}`;
        data = enc(JSON.stringify(m.kind === 'edited' ? m.edits.reduce(applyJsonEdit, e as unknown) : e));
      }
      // What the service must make of it (the consumer's own checks, applied independently here).
      let ev: DfdEvent | undefined;
      try {
        ev = parseEvent(data);
      } catch {
        ev = undefined;
      }
      return { subject, data, valid: ev && subject === `dfd.v1.${ev.roomId}.${ev.peerId}.${ev.type}` ? ev : undefined };
    }

    const ROOM = 'fuzzroom';
    const GOOD_ROOM = 'goodroom';
    const BATCH = 500;

    /** Publishes `total` sampled messages in batches, each closed by a sentinel the subscriber must see. */
    async function flood(total: number, pick: fc.Arbitrary<Message>, onBatch: (sent: { valid: DfdEvent[]; invalid: number; sentinel: DfdEvent }) => Promise<void>): Promise<void> {
      for (let b = 0; b < total; b += BATCH) {
        // A stateful server does not shrink well: samples of the fuzz seed, each message checked on its own.
        const batch = fc.sample(pick, { numRuns: Math.min(BATCH, total - b), seed: FUZZ_SEED + b });
        const valid: DfdEvent[] = [];
        let invalid = 0;
        for (const [i, m] of batch.entries()) {
          const w = wire(m, b + i);
          if (w.valid) valid.push(w.valid);
          else invalid++;
          raw.publish(w.subject, w.data);
        }
        const sentinel = makeEvent('decision', { roomId: ROOM, peerId: 'sentinel', displayName: 'S', models: [] }, { decision: 'dismiss', tagState: 'collecting', operator: 'op' });
        raw.publish(`dfd.v1.${ROOM}.sentinel.decision`, enc(JSON.stringify(sentinel)));
        valid.push(sentinel);
        await raw.flush();
        await onBatch({ valid, invalid, sentinel });
        fuzz.count(batch.length + 1);
      }
    }

    it(
      'a flood of invalid messages changes nothing: only valid events are applied, the rest counted, another call undisturbed',
      async () => {
        const live = new CallRegistry();
        const reference = new CallRegistry();
        let delivered: DfdEvent[] = [];
        const sub = bus.subscribe({ roomId: ROOM }, (e) => {
          delivered.push(e);
          live.apply(e);
        });
        let good = 0;
        const goodSub = bus.subscribe({ roomId: GOOD_ROOM }, () => {
          good++;
        });
        await bus.connection.flush();
        let goodSent = 0;
        let invalidTotal = 0;
        const invalidBefore = bus.stats.invalid;
        await flood(fuzzRuns(5), message, async ({ valid, invalid, sentinel }) => {
          // Another call's events, published by the service meanwhile.
          for (let k = 0; k < 10; k++) {
            bus.publish(makeEvent('decision', { roomId: GOOD_ROOM, peerId: 'alice', displayName: 'Alice', models: [] }, { decision: 'confirm', tagState: 'suspicious', operator: 'op' }));
            goodSent++;
          }
          await until(() => delivered.some((e) => e.id === sentinel.id), 'the sentinel event', 20_000);
          await until(() => good === goodSent, `${goodSent} events of the other call`, 20_000);
          expect(delivered.map((e) => e.id)).toEqual(valid.map((e) => e.id));
          for (const e of valid) reference.apply(e);
          invalidTotal += invalid;
          expect(bus.stats.invalid - invalidBefore).toBe(invalidTotal);
          delivered = [];
        });
        sub.unsubscribe();
        goodSub.unsubscribe();
        // The registry fed by the bus holds exactly what the valid events alone make.
        const view = (r: CallRegistry) => r.openCalls().map((c) => ({ roomId: c.roomId, participants: [...c.participants.values()].map((p) => ({ ...p, joinedAt: undefined })) }));
        expect(view(live)).toEqual(view(reference));
        // The audit stream stored the flood (it takes every subject under the prefix); its export skips it all.
        expect((await bus.exportBundle(ROOM)).records).toEqual([]);
        const goodBundle = await bus.exportBundle(GOOD_ROOM);
        expect(goodBundle.records).toHaveLength(goodSent);
        expect(verifyBundle(goodBundle).ok).toBe(true);
      },
      fuzzTimeout(60_000),
    );

    it(
      'thousands of garbage messages are counted and dropped, and do not grow the heap',
      async () => {
        let delivered = 0;
        let expected = 0;
        let sentinels = new Set<string>();
        const sub = bus.subscribe({ roomId: ROOM }, (e) => {
          if (e.peerId === 'sentinel') sentinels.add(e.id);
          else delivered++;
        });
        await bus.connection.flush();
        const invalidBefore = bus.stats.invalid;
        let invalidTotal = 0;
        const heap = new HeapProbe();
        heap.start();
        await flood(fuzzRuns(10), message.filter((m) => m.kind !== 'valid'), async ({ valid, invalid, sentinel }) => {
          await until(() => sentinels.has(sentinel.id), 'the sentinel event', 20_000);
          sentinels = new Set();
          invalidTotal += invalid;
          // An edit that leaves an event valid is taken, as it must be.
          expected += valid.length - 1;
        });
        sub.unsubscribe();
        expect(delivered).toBe(expected);
        expect(bus.stats.invalid - invalidBefore).toBe(invalidTotal);
        heap.expectGrowthBelow(16 * 1024 * 1024, `${fuzzRuns(10)} invalid NATS messages`);
      },
      fuzzTimeout(60_000),
    );
  });
});
