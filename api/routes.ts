/**
 * REST API `/v1` (OpenAPI document at `/v1/openapi.json`). Operators authenticate with a
 * session (cookie or bearer token from `/v1/auth/login`); the badge stream accepts a
 * participant's join token for its own room. Call history and evidence bundles: callRoutes.ts.
 */
import { randomUUID } from 'node:crypto';
import type { HttpServer, RequestContext } from '../kernel/http/HttpServer.js';
import { RawResponse } from '../kernel/http/HttpServer.js';
import { DfdError } from '../kernel/errors.js';
import { callScoresOf, type CallRegistry, type CallRecord } from './CallRegistry.js';
import { assertServiceWide, sees, type Caller, type OperatorAuth } from './OperatorAuth.js';
import type { LiveFeed } from './LiveFeed.js';
import type { TokenSigner } from '../sfu/tokens.js';
import type { DfdEvent } from '../events/schema.js';
import type { Webhooks } from '../events/Webhooks.js';
import type { RateLimiter } from '../kernel/http/RateLimiter.js';
import type { IncomingMessage } from 'node:http';
import { LoginBody, ChallengeBody, DecisionBody, WebhookBody, TokenBody } from './schemas.js';
import { openApiDocument } from './openapi.js';
import { body } from './body.js';
import { ACTION_VERSION, type ActionRequest } from '../events/actionWire.js';

export interface OperatorActions {
  requestChallenge(roomId: string, peerId: string, opts: ChallengeBody, operator: string): Promise<{ challengeId: string; challengeType: string }>;
  recordDecision(roomId: string, peerId: string, decision: DecisionBody, operator: string): Promise<DfdEvent>;
}

export interface ApiDeps {
  registry: CallRegistry;
  auth: OperatorAuth;
  joinTokens: TokenSigner;
  joinTokenTtlSec: number;
  feed: LiveFeed;
  webhooks: Webhooks;
  actions: OperatorActions;
  /** Per-client limit on sign-in and token requests. */
  authLimiter: RateLimiter;
  /** The client address a request is limited and locked out by (kernel/http/clientAddress.ts). */
  clientAddress(req: IncomingMessage): string;
  /**
   * Several service nodes: the node serving `roomId` when it is another one (its id and base URL), else
   * undefined. Actions on a room go to its node: forwarded (`forwardAction`), or refused with
   * ERR_WRONG_NODE and details.url when there is no relay.
   */
  roomElsewhere?(roomId: string): Promise<{ node: string; url: string } | undefined>;
  /** Runs an operator action on the node serving its room (cluster/ActionRelay.ts); its result or typed error. */
  forwardAction?(node: { node: string; url: string }, request: ActionRequest): Promise<Record<string, unknown>>;
}

const idRe = /^[A-Za-z0-9_-]{1,64}$/;
function id(v: string | undefined, what: string): string {
  if (!v || !idRe.test(v)) throw new DfdError('ERR_BAD_REQUEST', `${what} must match [A-Za-z0-9_-]{1,64}`);
  return v;
}

export function registerApi(http: HttpServer, deps: ApiDeps): void {
  const { registry, auth, feed } = deps;
  const caller = (ctx: RequestContext): Caller => auth.caller(ctx.req);
  /** The room's open call, when the caller may see its tenant (a tenant API key: its own rooms only). */
  const openCall = (who: Caller, roomId: string): CallRecord => {
    const call = registry.openCall(id(roomId, 'roomId'));
    if (!call || !sees(who, call.tenant)) throw new DfdError('ERR_ROOM_NOT_FOUND');
    return call;
  };
  /**
   * An action on a participant: run here when the room is served here; else forwarded to its node,
   * which checks the room, the tenant and the participant itself (this node's view may be a moment old).
   */
  const act = async (ctx: RequestContext, action: 'challenge' | 'decision', run: (who: Caller, roomId: string, peerId: string) => Promise<unknown>): Promise<unknown> => {
    const who = caller(ctx);
    const roomId = id(ctx.params['roomId'], 'roomId');
    const peerId = id(ctx.params['peerId'], 'peerId');
    const away = await deps.roomElsewhere?.(roomId);
    if (!away) {
      participantOf(who, roomId, peerId);
      return run(who, roomId, peerId);
    }
    if (!deps.forwardAction) throw new DfdError('ERR_WRONG_NODE', undefined, { roomId, node: away.node, url: away.url });
    const common = { v: ACTION_VERSION, roomId, peerId, operator: who.name, ...(who.tenant !== undefined ? { tenant: who.tenant } : {}) };
    const request: ActionRequest = action === 'challenge' ? { ...common, action, body: await body(ctx, ChallengeBody) } : { ...common, action, body: await body(ctx, DecisionBody) };
    return deps.forwardAction(away, request);
  };
  const participantOf = (who: Caller, roomId: string, peerId: string) => {
    const p = openCall(who, roomId).participants.get(id(peerId, 'peerId'));
    if (!p) throw new DfdError('ERR_PEER_NOT_FOUND');
    return p;
  };

  http
    .route('GET', '/v1/openapi.json', () => openApiDocument())
    .route('POST', '/v1/auth/login', async (ctx) => {
      const client = deps.clientAddress(ctx.req);
      deps.authLimiter.take(client);
      const b = await body(ctx, LoginBody);
      const s = auth.login(b.username, b.password, client);
      return new RawResponse(200, JSON.stringify(s), { 'content-type': 'application/json', 'set-cookie': auth.cookie(s.token) });
    })
    .route('POST', '/v1/auth/logout', () => new RawResponse(204, '', { 'set-cookie': auth.cookie('').replace(/Max-Age=\d+/, 'Max-Age=0') }))
    .route('GET', '/v1/me', (ctx) => {
      const who = caller(ctx);
      return { operator: who.name, ...(who.tenant ? { tenant: who.tenant } : {}) };
    })
    .route('POST', '/v1/tokens', async (ctx) => {
      deps.authLimiter.take(deps.clientAddress(ctx.req));
      const who = caller(ctx);
      const b = await body(ctx, TokenBody);
      // A tenant API key issues tokens for its own tenant's rooms only.
      if (who.tenant !== undefined && b.tenant !== undefined && b.tenant !== who.tenant) throw new DfdError('ERR_FORBIDDEN', 'a tenant API key issues tokens of its own tenant only');
      const tenant = b.tenant ?? who.tenant;
      const peer = b.peer ?? `p-${randomUUID().slice(0, 8)}`;
      const token = deps.joinTokens.sign({ room: b.room, peer, name: b.name, role: b.role ?? 'participant', ...(tenant ? { tenant } : {}) }, deps.joinTokenTtlSec);
      return { token, room: b.room, peer, ...(tenant ? { tenant } : {}) };
    })
    .route('GET', '/v1/rooms', (ctx) => {
      const who = caller(ctx);
      return { rooms: registry.openCalls().filter((c) => sees(who, c.tenant)).map((c) => registry.summary(c)) };
    })
    .route('GET', '/v1/rooms/:roomId', (ctx) => {
      return registry.summary(openCall(caller(ctx), ctx.params['roomId']!));
    })
    .route('GET', '/v1/rooms/:roomId/participants/:peerId', (ctx) => {
      const p = participantOf(caller(ctx), ctx.params['roomId']!, ctx.params['peerId']!);
      return { ...p, callScores: callScoresOf(p) };
    })
    .route('POST', '/v1/rooms/:roomId/participants/:peerId/challenge', (ctx) =>
      act(ctx, 'challenge', async (who, roomId, peerId) => deps.actions.requestChallenge(roomId, peerId, await body(ctx, ChallengeBody), who.name)),
    )
    .route('POST', '/v1/rooms/:roomId/participants/:peerId/decision', (ctx) =>
      act(ctx, 'decision', async (who, roomId, peerId) => deps.actions.recordDecision(roomId, peerId, await body(ctx, DecisionBody), who.name)),
    )
    .route('GET', '/v1/webhooks', (ctx) => {
      assertServiceWide(caller(ctx));
      return { subscribers: deps.webhooks.subscribers().map((s) => ({ id: s.id, url: s.url, events: s.events ?? [] })), deadLetters: deps.webhooks.deadLetters().length };
    })
    .route('POST', '/v1/webhooks', async (ctx) => {
      assertServiceWide(caller(ctx));
      const b = await body(ctx, WebhookBody);
      deps.webhooks.addSubscriber({ id: b.id, url: b.url, secret: b.secret, ...(b.events ? { events: b.events } : {}) });
      return { id: b.id };
    })
    .route('DELETE', '/v1/webhooks/:id', (ctx) => {
      assertServiceWide(caller(ctx));
      if (!deps.webhooks.removeSubscriber(id(ctx.params['id'], 'id'))) throw new DfdError('ERR_NOT_FOUND', 'unknown webhook');
      return {};
    })
    .route('GET', '/v1/stream', (ctx) => {
      // A tenant API key gets its own tenant's events only.
      const who = caller(ctx);
      feed.attach(
        ctx.res,
        (e) => e.type !== 'quality' && sees(who, e.tenant),
        registry
          .openCalls()
          .filter((c) => sees(who, c.tenant))
          .map((c) => registry.summary(c)),
      );
    })
    .route('GET', '/v1/rooms/:roomId/stream', (ctx) => {
      // Badge SDK: a participant's (or observer's) join token for this room.
      const roomId = id(ctx.params['roomId'], 'roomId');
      const claims = deps.joinTokens.verify(ctx.url.searchParams.get('token') ?? '');
      if (claims.room !== roomId) throw new DfdError('ERR_FORBIDDEN', 'token is for another room');
      const call = registry.openCall(roomId);
      feed.attach(ctx.res, (e) => e.roomId === roomId && (e.type === 'verdict' || e.type === 'challenge'), call ? [registry.summary(call)] : []);
    });
}
