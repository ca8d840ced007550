/**
 * Fuzz: the REST API's request validation, directly and against the real HTTP server.
 * - parseCallQuery (GET /v1/calls): any query string is a CallQuery within its documented
 *   bounds or ERR_BAD_REQUEST; every valid query reads back.
 * - OperatorAuth: any Authorization/Cookie header authenticates only with a genuine session,
 *   else ERR_TOKEN_INVALID / ERR_TOKEN_EXPIRED / ERR_FORBIDDEN, never an untyped error.
 * - The real service (real HTTP server, embedded nats-server): random requests (every route,
 *   random methods, path parameters, query strings, headers, bodies valid, edited and random)
 *   are answered 2xx/3xx or with a JSON error whose code is a client code and whose HTTP status
 *   is that code's: never 5xx. A refused request changes no state (webhook subscribers, open
 *   calls); a well-behaved operator client is answered 200 throughout.
 * - Memory: hundreds of bad requests, then (with --expose-gc) no heap growth.
 * Corpus: test/fuzz/corpus/rest.json (requests; "$SESSION" stands for a valid operator session).
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../kernel/errors.js';
import type { Service } from '../src/Service.js';
import { startTestService } from '../test/helpers/service.js';
import { applyJsonEdit, FuzzBoundary, FUZZ_SEED, fuzzRuns, fuzzTimeout, HeapProbe, jsonEdit, loadCorpus, outcome, type Outcome } from '../test/helpers/fuzz.js';
import { CALL_QUERY_PARAMS, MAX_CALLS_LIMIT, parseCallQuery } from './callQuery.js';
import { OperatorAuth } from './OperatorAuth.js';
import { EVENT_TYPES, VERDICT_STATES } from '../events/schema.js';

const fuzz = new FuzzBoundary('rest');

/** Codes a client's bad or impossible request may get. */
const CLIENT_CODES: readonly ErrorCode[] = [
  'ERR_BAD_JSON',
  'ERR_BAD_REQUEST',
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_TOKEN_INVALID',
  'ERR_TOKEN_EXPIRED',
  'ERR_FORBIDDEN',
  'ERR_RATE_LIMITED',
  'ERR_NOT_FOUND',
  'ERR_METHOD_NOT_ALLOWED',
  'ERR_ROOM_NOT_FOUND',
  'ERR_PEER_NOT_FOUND',
  // POST /v1/evidence/verify: a body that cannot be a bundle.
  'ERR_EVIDENCE_JSON',
];

const isoDate = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const queryValue = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom(...VERDICT_STATES, 'live', 'ended', '0', '500', '501', '-1', '1e3', '2026-02-30T10:00:00Z'), isoDate);
const queryPairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...CALL_QUERY_PARAMS), fc.string({ maxLength: 10 })), queryValue), { maxLength: 5 });

describe('fuzz: REST request validation', () => {
  it('parseCallQuery: any query is a CallQuery within its bounds or ERR_BAD_REQUEST', () => {
    fuzz.check(
      fc.property(fc.oneof(queryPairs.map((p) => new URLSearchParams(p)), fc.string({ unit: 'binary', maxLength: 80 }).map((s) => new URLSearchParams(s))), (params) => {
        let q: ReturnType<typeof parseCallQuery> | undefined;
        if (outcome(() => (q = parseCallQuery(params)), ['ERR_BAD_REQUEST']) === 'ok') {
          expect(q!.limit).toBeGreaterThanOrEqual(1);
          expect(q!.limit).toBeLessThanOrEqual(MAX_CALLS_LIMIT);
          expect(q!.offset).toBeGreaterThanOrEqual(0);
          for (const s of q!.states ?? []) expect(VERDICT_STATES).toContain(s);
          if (q!.fromMs !== undefined && q!.toMs !== undefined) expect(q!.fromMs).toBeLessThanOrEqual(q!.toMs);
          for (const ms of [q!.fromMs, q!.toMs]) if (ms !== undefined) expect(Number.isFinite(ms)).toBe(true);
        }
      }),
      5,
    );
  });

  it('parseCallQuery: every valid query reads back', () => {
    const valid = fc.record(
      {
        state: fc.uniqueArray(fc.constantFrom(...VERDICT_STATES), { minLength: 1 }),
        status: fc.constantFrom('live' as const, 'ended' as const),
        room: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        from: isoDate,
        to: isoDate,
        limit: fc.integer({ min: 1, max: MAX_CALLS_LIMIT }),
        offset: fc.integer({ min: 0, max: 1_000_000 }),
      },
      { requiredKeys: [] },
    );
    fuzz.check(
      fc.property(valid, (v) => {
        fc.pre(v.from === undefined || v.to === undefined || v.from <= v.to);
        const params = new URLSearchParams();
        for (const [k, x] of Object.entries(v)) params.set(k, Array.isArray(x) ? x.join(',') : String(x));
        expect(parseCallQuery(new URLSearchParams(params.toString()))).toEqual({
          states: v.state,
          status: v.status,
          room: v.room,
          fromMs: v.from === undefined ? undefined : Date.parse(v.from),
          toMs: v.to === undefined ? undefined : Date.parse(v.to),
          limit: v.limit ?? 100,
          offset: v.offset ?? 0,
        });
      }),
    );
  });

  it('OperatorAuth: only a genuine session authenticates; any other header gets a typed code', () => {
    const auth = new OperatorAuth({ password: 'pw', secret: 'fuzz-secret' });
    const session = auth.login('operator', 'pw').token;
    const header = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
      fc.tuple(fc.nat({ max: session.length }), fc.string({ minLength: 1, maxLength: 3 })).map(([at, s]) => `Bearer ${session.slice(0, at)}${s}${session.slice(at)}`),
    );
    const cookie = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `dfd_session=${s}`),
      fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `x=${a}; dfd_session=${b}%${a}`),
    );
    fuzz.check(
      fc.property(fc.option(header, { nil: undefined }), fc.option(cookie, { nil: undefined }), (authorization, cookieHeader) => {
        const req = { headers: { ...(authorization !== undefined ? { authorization } : {}), ...(cookieHeader !== undefined ? { cookie: cookieHeader } : {}) } } as IncomingMessage;
        const r = outcome(() => auth.authenticate(req), ['ERR_TOKEN_INVALID', 'ERR_TOKEN_EXPIRED', 'ERR_FORBIDDEN']);
        if (r === 'ok') expect(OperatorAuth.tokenFrom(req)).toBe(session);
      }),
      5,
    );
    expect(auth.authenticate({ headers: { cookie: `a=b; dfd_session=${encodeURIComponent(session)}` } } as IncomingMessage).role).toBe('operator');
  });
});

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}
interface Res {
  status: number;
  type: string;
  body: string;
}

/** Kept-alive connections: a long session must not run out of ephemeral ports. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function request(port: number, r: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node's client otherwise hangs up on some methods with an empty body.
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const headers = body === undefined ? r.headers : { ...r.headers, 'content-length': String(body.length) };
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers, agent }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (type.startsWith('text/event-stream')) {
        // A live stream (valid request): the headers are the answer.
        res.destroy();
        resolve({ status: res.statusCode ?? 0, type, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${r.method} ${r.path.slice(0, 80)}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The answer must be a success or a client error with its code's status and a JSON body; returns the outcome. */
function expectAnswer(r: Req, res: Res): Outcome {
  const what = `${r.method} ${r.path.slice(0, 100)} -> ${res.status} ${res.body.slice(0, 200)}`;
  expect(res.status, what).toBeGreaterThanOrEqual(200);
  expect(res.status, what).toBeLessThan(500);
  if (res.status < 400) return 'ok';
  if (r.method === 'HEAD') return 'rejected';
  expect(res.type, what).toBe('application/json');
  const code = (JSON.parse(res.body) as { error?: { code?: unknown } }).error?.code;
  expect(CLIENT_CODES, what).toContain(code);
  expect(ErrorCodes[code as ErrorCode].status, what).toBe(res.status);
  return code as ErrorCode;
}

describe('fuzz: the real HTTP server', () => {
  let service: Service;
  let session: string;
  beforeAll(async () => {
    service = await startTestService({}, { events: true, analysis: false });
    const login = await request(service.port, { method: 'POST', path: '/v1/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
    session = (JSON.parse(login.body) as { token: string }).token;
  });
  afterAll(async () => {
    agent.destroy();
    await service?.close();
  });

  const segment = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
    fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
    fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '%2e%2e', '%2F', 'a.b', 'x'.repeat(200), '%00'),
  );
  /** Every route with its method (GET also answers HEAD); ':a' and ':b' are path parameters. */
  const ROUTES: [string, string][] = [
    ['GET', '/v1/openapi.json'],
    ['POST', '/v1/auth/login'],
    ['POST', '/v1/auth/logout'],
    ['GET', '/v1/me'],
    ['POST', '/v1/tokens'],
    ['GET', '/v1/rooms'],
    ['GET', '/v1/rooms/:a'],
    ['GET', '/v1/rooms/:a/participants/:b'],
    ['POST', '/v1/rooms/:a/participants/:b/challenge'],
    ['POST', '/v1/rooms/:a/participants/:b/decision'],
    ['GET', '/v1/rooms/:a/stream'],
    ['GET', '/v1/webhooks'],
    ['POST', '/v1/webhooks'],
    ['DELETE', '/v1/webhooks/:a'],
    ['GET', '/v1/calls'],
    ['GET', '/v1/calls/:a'],
    ['GET', '/v1/calls/:a/evidence'],
    ['POST', '/v1/evidence/verify'],
    ['GET', '/v1/evidence/key'],
    ['GET', '/v1/demo/token'],
    ['GET', '/dashboard/calls'],
    ['GET', '/dashboard/call'],
    ['GET', '/dashboard'],
    ['GET', '/dashboard/login'],
    ['GET', '/healthz'],
    ['GET', '/metrics'],
    ['GET', '/'],
    ['GET', '/meet'],
    ['GET', '/favicon.ico'],
    ['GET', '/web/:a'],
    ['GET', '/web/:a/:b'],
    ['GET', '/:a'],
  ];
  const route = fc
    .tuple(fc.constantFrom(...ROUTES), fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS') }), segment, segment)
    .map(([[method, t], other, a, b]) => ({ method: other ?? method, path: t.replace(':a', a).replace(':b', b) }));
  const query = fc.oneof(
    fc.constant(''),
    queryPairs.map((p) => `?${new URLSearchParams(p).toString()}`),
    fc.string({ maxLength: 40 }).map((s) => `?${s.replace(/[\s#]/g, '')}`),
    fc.constantFrom('?token=', '?token=a.b', '?room=bad.room', '?name=' + 'x'.repeat(500), '?%=%', '?state=suspicious&state=verified'),
  );
  const bodies = {
    login: fc.record({ username: fc.constantFrom('operator', 'root', ''), password: fc.string({ maxLength: 20 }) }),
    token: fc.record({ room: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), name: fc.string({ minLength: 1, maxLength: 80 }), role: fc.constantFrom('participant', 'observer', 'operator') }, { requiredKeys: ['room', 'name'] }),
    webhook: fc.record({ id: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), url: fc.constant('http://127.0.0.1:9/hook'), secret: fc.string({ minLength: 16, maxLength: 40 }), events: fc.uniqueArray(fc.constantFrom(...EVENT_TYPES), { maxLength: 3 }) }),
    decision: fc.record({ decision: fc.constantFrom('confirm', 'dismiss'), note: fc.string({ maxLength: 50 }) }, { requiredKeys: ['decision'] }),
    challenge: fc.record({ modality: fc.constantFrom('audio', 'video'), kind: fc.constantFrom('whisper-phrase', 'hum-melody') }, { requiredKeys: [] }),
  };
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.tuple(fc.oneof(...Object.values(bodies)), fc.array(jsonEdit, { maxLength: 2 })).map(([b, e]) => JSON.stringify(e.reduce(applyJsonEdit, b as unknown))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) },
  );
  const authHeader = fc.oneof(
    { weight: 1, arbitrary: fc.constant({} as Record<string, string>) },
    { weight: 4, arbitrary: fc.constant({ authorization: '$SESSION' } as Record<string, string>) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ authorization: `Bearer ${s}` })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ cookie: `dfd_session=${s}` })) },
  );
  const randomRequest: fc.Arbitrary<Req> = fc
    .record({ route, query, auth: authHeader, contentType: fc.constantFrom('application/json', 'text/plain', ''), body })
    .map(({ route: { method, path }, query: q, auth, contentType, body: b }) => ({
      method,
      path: path + q,
      headers: { ...auth, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(b !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: b } : {}),
    }));

  const withSession = (r: Req): Req => ({
    ...r,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v === '$SESSION' ? `Bearer ${session}` : v])),
  });
  const state = (): string =>
    JSON.stringify({ webhooks: service.webhooks.subscribers().map((s) => s.id), calls: service.registry.openCalls().map((c) => c.callId) });

  it('replays the corpus with the recorded answers', async () => {
    await fuzz.replayAsync(loadCorpus<Req>('rest'), async (c) => {
      const r = withSession({ ...c, headers: c.headers ?? {} });
      return expectAnswer(r, await request(service.port, r));
    });
  });

  it(
    'random requests: 2xx/3xx or a typed client error with its status, never 5xx; refused ones change nothing; a good client is served throughout',
    async () => {
      await fuzz.checkAsync(
        fc.asyncProperty(randomRequest, async (raw) => {
          const r = withSession(raw);
          const before = state();
          const [res, good] = await Promise.all([request(service.port, r), request(service.port, { method: 'GET', path: '/v1/me', headers: { authorization: `Bearer ${session}` } })]);
          const o = expectAnswer(r, res);
          if (o !== 'ok') expect(state(), `state after ${r.method} ${r.path}`).toBe(before);
          expect(good.status).toBe(200);
          expect(JSON.parse(good.body)).toEqual({ operator: 'operator' });
        }),
        3,
      );
    },
    fuzzTimeout(120_000),
  );

  it(
    'hundreds of random requests do not grow the heap',
    async () => {
      const heap = new HeapProbe();
      heap.start();
      const total = fuzzRuns(5);
      // Valid requests that add state (webhook subscribers) are left out: the heap must stay flat.
      const bad = randomRequest.filter((r) => !(r.method === 'POST' && r.path.startsWith('/v1/webhooks')));
      for (let i = 0; i < total; i += 200) {
        for (const raw of fc.sample(bad, { numRuns: Math.min(200, total - i), seed: FUZZ_SEED + i })) {
          const r = withSession(raw);
          expectAnswer(r, await request(service.port, r));
        }
      }
      fuzz.count(total);
      heap.expectGrowthBelow(16 * 1024 * 1024, `${total} random HTTP requests`);
    },
    fuzzTimeout(120_000),
  );
});
