/**
 * Fuzz: the signalling protocol (sfu/signalling/protocol.ts) and a real SignallingServer (real
 * service, real mediasoup worker, real `ws` sockets).
 * - Schemas: every well-formed request of every method passes the envelope and method schemas
 *   the server compiles; checking any JSON value never throws.
 * - Server: random frames (text, JSON, request envelopes with known and unknown methods and
 *   edited data, binary, oversize) on a joined and on a not-yet-joined socket get exactly one
 *   response each: ok, or a typed error with a stable client-side code (never ERR_INTERNAL); an
 *   error changes nothing in the room or the fuzzing peer; a second, well-behaved client in the
 *   same room gets every one of its requests answered meanwhile; the server stays up.
 * - Memory: a thousand bad frames leave no session behind and (with --expose-gc) no heap growth.
 * Corpus: test/fuzz/corpus/signalling.json (frames; expect is the server's answer on a joined socket;
 * "\u0000transport" stands for a real transport of the socket, "\u0000producer" for another peer's producer).
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from '../../test/helpers/service.js';
import { applyJsonEdit, FuzzBoundary, FUZZ_SEED, fuzzRuns, fuzzTimeout, fromHex, HeapProbe, jsonEdit, loadCorpus, until, type Outcome } from '../../test/helpers/fuzz.js';
import { TestSignallingClient, type Response } from '../../test/helpers/wsClient.js';
import type { ErrorCode } from '../../kernel/errors.js';
import type { Service } from '../../src/Service.js';
import { methods, RequestEnvelope, type MethodName } from './protocol.js';

const fuzz = new FuzzBoundary('signalling');
const MAX_BYTES = 4096;

/** Codes a client's bad or impossible request may get; ERR_INTERNAL (an unexpected exception) is not one. */
const CLIENT_CODES: readonly ErrorCode[] = [
  'ERR_BAD_JSON',
  'ERR_BAD_REQUEST',
  'ERR_UNKNOWN_METHOD',
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_NOT_JOINED',
  'ERR_ALREADY_JOINED',
  'ERR_TOKEN_INVALID',
  'ERR_TOKEN_EXPIRED',
  'ERR_FORBIDDEN',
  'ERR_RATE_LIMITED',
  'ERR_TOO_MANY_TRANSPORTS',
  'ERR_TOO_MANY_PRODUCERS',
  'ERR_TRANSPORT_NOT_FOUND',
  'ERR_PRODUCER_NOT_FOUND',
  'ERR_CONSUMER_NOT_FOUND',
  'ERR_CANNOT_CONSUME',
];

const METHODS = Object.keys(methods) as MethodName[];
const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/), fc.uuid());
const opaque = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
/** Data that fits each method's schema (mediasoup still judges the opaque parts). */
const methodData: Record<MethodName, fc.Arbitrary<Record<string, unknown>>> = {
  join: fc.record({ token: fc.string({ minLength: 1, maxLength: 300 }) }),
  setRtpCapabilities: fc.record({ rtpCapabilities: opaque }),
  createWebRtcTransport: fc.record({ direction: fc.constantFrom('send', 'recv') }),
  connectWebRtcTransport: fc.record({ transportId: id, dtlsParameters: opaque }),
  produce: fc.record({ transportId: id, kind: fc.constantFrom('audio', 'video'), rtpParameters: opaque }),
  consume: fc.record({ transportId: id, producerId: id }),
  resumeConsumer: fc.record({ consumerId: id }),
  pauseConsumer: fc.record({ consumerId: id }),
  pauseProducer: fc.record({ producerId: id }),
  resumeProducer: fc.record({ producerId: id }),
  closeProducer: fc.record({ producerId: id }),
  leave: fc.constant({}),
};
const wellFormed = fc
  .record({ id: fc.integer({ min: 0, max: 2 ** 31 }), method: fc.constantFrom(...METHODS) })
  .chain(({ id: reqId, method }) => methodData[method].map((data) => ({ type: 'request', id: reqId, method, data })));

/** Stand for the id of one of the fuzzing peer's real transports, and of the good client's producer (filled in before sending). */
const REAL_TRANSPORT = '\u0000transport';
const REAL_PRODUCER = '\u0000producer';
/** Shapes mediasoup reads (RTP and DTLS parameters, RTP capabilities), with values that are often wrong. */
const mime = fc.constantFrom('audio/opus', 'video/VP8', 'audio/PCMU', 'video/H264', 'audio/foo', 'video/rtx', 'nonsense');
const codec = fc.record(
  {
    mimeType: mime,
    payloadType: fc.oneof(fc.integer({ min: 0, max: 127 }), fc.integer()),
    clockRate: fc.constantFrom(48000, 90000, 8000, 0, -1),
    channels: fc.constantFrom(1, 2, 0),
    parameters: fc.oneof(fc.constant({}), fc.record({ apt: fc.integer({ min: 0, max: 127 }) }), opaque),
    rtcpFeedback: fc.array(fc.record({ type: fc.constantFrom('nack', 'pli', 'x'), parameter: fc.constantFrom('', 'pli') }), { maxLength: 2 }),
  },
  { requiredKeys: ['mimeType', 'payloadType', 'clockRate', 'parameters', 'rtcpFeedback'] },
);
const rtpParameters = fc.record(
  {
    mid: fc.string({ maxLength: 4 }),
    codecs: fc.array(codec, { maxLength: 3 }),
    headerExtensions: fc.array(fc.record({ uri: fc.constantFrom('urn:ietf:params:rtp-hdrext:sdes:mid', 'x'), id: fc.integer({ min: -1, max: 16 }) }), { maxLength: 2 }),
    encodings: fc.array(fc.record({ ssrc: fc.oneof(fc.nat(), fc.integer()), rid: fc.string({ maxLength: 3 }), maxBitrate: fc.integer() }, { requiredKeys: [] }), { maxLength: 3 }),
    rtcp: fc.record({ cname: fc.string({ maxLength: 8 }), reducedSize: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: ['codecs', 'encodings'] },
);
const dtlsParameters = fc.record(
  {
    role: fc.constantFrom('client', 'server', 'auto', 'x'),
    fingerprints: fc.array(fc.record({ algorithm: fc.constantFrom('sha-256', 'sha-1', 'md5', 'x'), value: fc.oneof(fc.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/), fc.string({ maxLength: 20 })) }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const onRealTransport = fc.oneof(
  fc.record({ method: fc.constant('produce'), data: fc.record({ transportId: fc.constant(REAL_TRANSPORT), kind: fc.constantFrom('audio', 'video'), rtpParameters }) }),
  fc.record({ method: fc.constant('connectWebRtcTransport'), data: fc.record({ transportId: fc.constant(REAL_TRANSPORT), dtlsParameters }) }),
  fc.record({ method: fc.constant('consume'), data: fc.record({ transportId: fc.constant(REAL_TRANSPORT), producerId: fc.oneof(id, fc.constant(REAL_PRODUCER)) }) }),
  fc.record({ method: fc.constant('setRtpCapabilities'), data: fc.record({ rtpCapabilities: fc.record({ codecs: fc.array(codec, { maxLength: 3 }), headerExtensions: fc.constant([]) }, { requiredKeys: [] }) }) }),
);

/** A frame a client may send: [payload, isBinary]. */
const frame: fc.Arbitrary<{ data: string | Uint8Array; note: string }> = fc.oneof(
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((data) => ({ data, note: 'text' })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ data: JSON.stringify(v), note: 'json' })) },
  { weight: 4, arbitrary: wellFormed.map((v) => ({ data: JSON.stringify(v), note: 'request' })) },
  { weight: 4, arbitrary: fc.tuple(wellFormed, fc.array(jsonEdit, { minLength: 1, maxLength: 3 })).map(([v, e]) => ({ data: JSON.stringify(e.reduce(applyJsonEdit, v as unknown)), note: 'edited request' })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ type: fc.constant('request'), id: fc.oneof(fc.integer(), fc.double(), fc.string()), method: fc.string({ maxLength: 80 }), data: fc.jsonValue({ maxDepth: 2 }) })
      .map((v) => ({ data: JSON.stringify(v), note: 'envelope' })),
  },
  { weight: 3, arbitrary: fc.tuple(fc.nat({ max: 2 ** 31 }), onRealTransport).map(([n, r]) => ({ data: JSON.stringify({ type: 'request', id: n, ...r }), note: `${r.method} on a real transport` })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((data) => ({ data, note: 'binary' })) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_BYTES + 1, max: 2 * MAX_BYTES }).map((n) => ({ data: JSON.stringify({ type: 'request', id: 1, method: 'leave', data: { pad: 'x'.repeat(n) } }), note: 'oversize' })) },
);

describe('fuzz: signalling protocol schemas', () => {
  const envelope = TypeCompiler.Compile(RequestEnvelope);
  const checks = Object.fromEntries(METHODS.map((m) => [m, TypeCompiler.Compile(methods[m] as TSchema)])) as Record<MethodName, ReturnType<typeof TypeCompiler.Compile>>;

  it('a well-formed request of every method passes the envelope and its method schema, after a JSON round trip too', () => {
    fuzz.check(
      fc.property(wellFormed, (req) => {
        const wire = JSON.parse(JSON.stringify(req)) as { method: MethodName; data: unknown };
        expect(envelope.Check(wire)).toBe(true);
        expect(checks[wire.method].Check(wire.data)).toBe(true);
      }),
      2,
    );
  });

  it('checking any value never throws; what passes is plain JSON', () => {
    fuzz.check(
      fc.property(fc.oneof(fc.anything(), fc.tuple(wellFormed, fc.array(jsonEdit, { minLength: 1, maxLength: 3 })).map(([v, e]) => e.reduce(applyJsonEdit, v as unknown))), (v) => {
        if (envelope.Check(v)) {
          expect(JSON.parse(JSON.stringify(v))).toEqual(v);
          const { method, data } = v as { method: string; data?: unknown };
          if (Object.hasOwn(methods, method)) checks[method as MethodName].Check(data ?? {});
        }
      }),
      3,
    );
  });
});

describe('fuzz: a real SignallingServer', () => {
  let service: Service;
  const ROOM = 'fuzzroom';
  let good: TestSignallingClient;
  let goodProducer: string;

  beforeAll(async () => {
    // No heartbeat: the only thing the sockets do is what the test sends.
    service = await startTestService({ maxMessageBytes: MAX_BYTES, wsPingIntervalMs: 0 });
    good = await TestSignallingClient.connect(service.port);
    expect((await good.request('join', { token: service.issueToken(ROOM, 'Good', 'participant', 'good').token })).ok).toBe(true);
    // The good client publishes audio, so the fuzzer's consume requests reach mediasoup.
    const t = await good.request('createWebRtcTransport', { direction: 'send' });
    const codecs = [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }];
    const p = await good.request('produce', { transportId: t.data?.['id'], kind: 'audio', rtpParameters: { codecs, encodings: [{ ssrc: 1111 }], headerExtensions: [], rtcp: { cname: 'good' } } });
    expect(p.ok).toBe(true);
    goodProducer = String(p.data?.['producerId']);
  });
  afterAll(async () => {
    good?.close();
    await service?.close();
  });

  /** A socket that joined ROOM as `fuzzer` (a new one each time: the previous one is closed first). */
  let fuzzer: TestSignallingClient | undefined;
  let fuzzerFrames = 0;
  async function joinedFuzzer(): Promise<TestSignallingClient> {
    // The server answers a burst of 200 at most: rotate sockets before the rate limit hides the parser.
    if (fuzzer && fuzzer.ws.readyState === fuzzer.ws.OPEN && fuzzerFrames < 150) return fuzzer;
    if (fuzzer) {
      fuzzer.close();
      await fuzzer.closed;
      await until(() => !service.rooms.get(ROOM)?.peers.has('fuzzer'), 'the old fuzzer socket to leave');
    }
    fuzzer = await TestSignallingClient.connect(service.port);
    fuzzerFrames = 0;
    const r = await fuzzer.request('join', { token: service.issueToken(ROOM, 'Fuzzer', 'participant', 'fuzzer').token });
    expect(r.ok).toBe(true);
    return fuzzer;
  }

  /** A socket that never joins (a new one every 150 frames, or when the join timeout closed it). */
  let unjoined: TestSignallingClient | undefined;
  let unjoinedFrames = 0;
  async function unjoinedSocket(): Promise<TestSignallingClient> {
    if (unjoined && unjoined.ws.readyState === unjoined.ws.OPEN && unjoinedFrames < 150) return unjoined;
    unjoined?.close();
    unjoined = await TestSignallingClient.connect(service.port);
    unjoinedFrames = 0;
    return unjoined;
  }

  function snapshot(): string {
    const room = service.rooms.get(ROOM);
    const f = room?.peers.get('fuzzer');
    return JSON.stringify({
      peers: [...(room?.peers.keys() ?? [])].sort(),
      fuzzer: f && { transports: [...f.transports.keys()], producers: [...f.producers.keys()], consumers: [...f.consumers.keys()], caps: f.rtpCapabilities ?? null },
    });
  }

  /** The id of one of the fuzzing peer's WebRTC transports (one is created when it has none). */
  async function realTransport(c: TestSignallingClient): Promise<string> {
    const existing = [...(service.rooms.get(ROOM)?.peers.get('fuzzer')?.transports.keys() ?? [])][0];
    if (existing) return existing;
    const r = await c.request('createWebRtcTransport', { direction: 'send' });
    expect(r.ok).toBe(true);
    return String(r.data?.['id']);
  }

  /** Sends one frame and returns the answer. */
  async function send(c: TestSignallingClient, data: string | Uint8Array): Promise<Response> {
    c.sendRaw(typeof data === 'string' ? data : Buffer.from(data));
    const r = await c.nextResponse(10_000);
    if (r.ok && c.ws.readyState !== c.ws.CLOSED) {
      let method: unknown;
      try {
        method = (JSON.parse(typeof data === 'string' ? data : '') as { method?: unknown }).method;
      } catch {
        method = undefined;
      }
      if (method === 'leave') await c.closed;
    }
    return r;
  }

  function expectClientError(r: Response, frameNote: string): void {
    expect(r.type).toBe('response');
    if (r.ok) return;
    expect(CLIENT_CODES, `${frameNote}: ${r.error?.code} ${r.error?.message}`).toContain(r.error?.code);
  }

  it('replays the corpus on a joined socket with the recorded answers', async () => {
    await fuzz.replayAsync(loadCorpus<{ text?: string; hex?: string }>('signalling'), async (c) => {
      const f = await joinedFuzzer();
      fuzzerFrames++;
      let text = c.text ?? '';
      if (text.includes(JSON.stringify(REAL_TRANSPORT))) text = text.replace(JSON.stringify(REAL_TRANSPORT), JSON.stringify(await realTransport(f)));
      text = text.replace(JSON.stringify(REAL_PRODUCER), JSON.stringify(goodProducer));
      const r = await send(f, c.hex !== undefined ? fromHex(c.hex) : text);
      expectClientError(r, 'corpus');
      return r.ok ? 'ok' : (r.error!.code as Outcome);
    });
  });

  it(
    'random frames get one typed answer each, change nothing when refused, and never disturb another client',
    async () => {
      let goodRequests = 0;
      let lastGood = Date.now();
      let goodTokens = 150;
      await fuzz.checkAsync(
        fc.asyncProperty(frame, fc.boolean(), async (f, joined) => {
          let c: TestSignallingClient;
          if (joined) {
            c = await joinedFuzzer();
            fuzzerFrames++;
          } else {
            c = await unjoinedSocket();
            unjoinedFrames++;
          }
          let data = f.data;
          if (typeof data === 'string' && data.includes(JSON.stringify(REAL_TRANSPORT)) && joined) {
            data = data.replace(JSON.stringify(REAL_TRANSPORT), JSON.stringify(await realTransport(c)));
            fuzzerFrames++;
          }
          if (typeof data === 'string') data = data.replace(JSON.stringify(REAL_PRODUCER), JSON.stringify(goodProducer));
          const before = snapshot();
          // The well-behaved client sends at the same time (below its rate limit) and must be answered.
          let goodAnswer: Promise<Response> | undefined;
          // A token bucket a little slower than the server's (burst 200, 50/s).
          goodTokens = Math.min(150, goodTokens + ((Date.now() - lastGood) / 1000) * 40);
          lastGood = Date.now();
          if (goodTokens >= 1) {
            goodTokens--;
            goodAnswer = good.request('setRtpCapabilities', { rtpCapabilities: { codecs: [], headerExtensions: [] } });
            goodRequests++;
          }
          const r = await send(c, data);
          expectClientError(r, f.note);
          if (!r.ok) expect(snapshot(), `state after a refused ${f.note}`).toBe(before);
          if (!joined && !r.ok) expect(r.error?.code).not.toBe('ERR_ALREADY_JOINED');
          if (goodAnswer) expect((await goodAnswer).ok).toBe(true);
        }),
        2,
      );
      expect(goodRequests).toBeGreaterThan(0);
      // The good client is still in the room, on its first socket.
      expect(good.ws.readyState).toBe(good.ws.OPEN);
      expect(service.rooms.get(ROOM)?.peers.has('good')).toBe(true);
      expect((await good.request('createWebRtcTransport', { direction: 'recv' })).ok).toBe(true);
    },
    fuzzTimeout(120_000),
  );

  it(
    'a thousand bad frames leave no session behind and do not grow the heap',
    async () => {
      fuzzer?.close();
      unjoined?.close();
      await until(() => service.signalling.sessionCount === 1, 'only the good session to remain');
      const heap = new HeapProbe();
      heap.start();
      const bad = fc.oneof(frame.filter((f) => f.note !== 'request'), fc.string({ maxLength: 100 }).map((data) => ({ data, note: 'text' })));
      const total = fuzzRuns(10);
      // Batches of 150 (under the rate limit's burst), each on a new socket that never joins; nothing kept between them.
      for (let i = 0; i < total; i += 150) {
        const c = await TestSignallingClient.connect(service.port);
        for (const f of fc.sample(bad, { numRuns: Math.min(150, total - i), seed: FUZZ_SEED + i })) expectClientError(await send(c, f.data), f.note);
        c.close();
        await c.closed;
      }
      fuzz.count(total);
      await until(() => service.signalling.sessionCount === 1, 'every fuzzing session to be gone');
      expect([...(service.rooms.get(ROOM)?.peers.keys() ?? [])]).toEqual(['good']);
      heap.expectGrowthBelow(16 * 1024 * 1024, `${total} bad signalling frames`);
    },
    fuzzTimeout(120_000),
  );
});
