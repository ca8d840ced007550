/**
 * The contract between service nodes for operator actions (several nodes, `DFD_ROOM_REGISTRY=nats`):
 * an operator's challenge or decision reaches whichever node serves the API call, and that node hands
 * it to the node serving the room (cluster/ActionRelay.ts), which runs it as if it had been posted there.
 *
 *   request = JSON (UTF-8): { v: 1, action: 'challenge' | 'decision', roomId, peerId, operator, tenant?, body }
 *             tenant: the operator's tenant when the operator is a tenant API key (the serving node
 *             refuses a room of another tenant, as the REST route does); body: the REST body
 *   reply   = JSON (UTF-8): { v: 1, result: {...} } or { v: 1, error: { code, message, details? } }
 *
 * The REST request bodies (ChallengeBody, DecisionBody) are defined here, once: the REST routes and the
 * relay validate against the same schemas. Both directions are versioned and validated (exported to
 * events/schemas/action-*.json); a message that does not parse or validate is ERR_ACTION_MESSAGE.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DfdError } from '../kernel/errors.js';
import { TENANT_PATTERN } from '../kernel/tenant.js';

export const ACTION_VERSION = 1 as const;
const MAX_ACTION_BYTES = 64 * 1024;

export const ChallengeBody = Type.Object(
  {
    modality: Type.Optional(Type.Union([Type.Literal('audio'), Type.Literal('video')])),
    /** A specific catalogue challenge, e.g. "whisper-phrase"; default: chosen at random. */
    kind: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' })),
  },
  { additionalProperties: false },
);
export type ChallengeBody = Static<typeof ChallengeBody>;

export const DecisionBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('confirm'), Type.Literal('dismiss')]),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type DecisionBody = Static<typeof DecisionBody>;

const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const common = {
  v: Type.Literal(ACTION_VERSION),
  roomId: Id,
  peerId: Id,
  /** The operator's name as the API node authenticated it (the decision event records it). */
  operator: Type.String({ minLength: 1, maxLength: 128 }),
  tenant: Type.Optional(Type.String({ pattern: TENANT_PATTERN })),
};

export const ActionRequest = Type.Union(
  [
    Type.Object({ ...common, action: Type.Literal('challenge'), body: ChallengeBody }, { additionalProperties: false }),
    Type.Object({ ...common, action: Type.Literal('decision'), body: DecisionBody }, { additionalProperties: false }),
  ],
  { $id: 'dfd.action.v1.request', title: 'forwarded operator action' },
);
export type ActionRequest = Static<typeof ActionRequest>;

export const ActionReply = Type.Union(
  [
    Type.Object({ v: Type.Literal(ACTION_VERSION), result: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: false }),
    Type.Object(
      {
        v: Type.Literal(ACTION_VERSION),
        error: Type.Object(
          { code: Type.String({ pattern: '^ERR_[A-Z_]{1,40}$' }), message: Type.String({ maxLength: 500 }), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  ],
  { $id: 'dfd.action.v1.reply', title: 'forwarded operator action reply' },
);
export type ActionReply = Static<typeof ActionReply>;

const requestCheck = TypeCompiler.Compile(ActionRequest);
const replyCheck = TypeCompiler.Compile(ActionReply);
const bad = (why: string): DfdError => new DfdError('ERR_ACTION_MESSAGE', why);

function decode<T>(data: Uint8Array, what: string, check: { Check(v: unknown): v is T; Errors(v: unknown): { First(): { path: string; message: string } | undefined } }): T {
  if (data.length > MAX_ACTION_BYTES) throw bad(`${what} too large`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw bad(`${what} is not UTF-8 JSON`);
  }
  if (!check.Check(v)) {
    const e = check.Errors(v).First();
    throw bad(`${what} does not match the schema${e ? ` at ${e.path || '/'}: ${e.message}` : ''}`);
  }
  return v;
}

export const encodeAction = (m: ActionRequest | ActionReply): Uint8Array => new TextEncoder().encode(JSON.stringify(m));
export const decodeActionRequest = (data: Uint8Array): ActionRequest => decode(data, 'action request', requestCheck);
export const decodeActionReply = (data: Uint8Array): ActionReply => decode(data, 'action reply', replyCheck);

/** JSON Schemas of the action contract, for events/schemas/. */
export function actionJsonSchemas(): Record<string, unknown> {
  const plain = (s: unknown): unknown => JSON.parse(JSON.stringify(s));
  return { 'action-request.json': plain(ActionRequest), 'action-reply.json': plain(ActionReply) };
}
