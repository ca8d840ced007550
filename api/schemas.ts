/** Request bodies of the REST API (validated at the boundary; also used in the OpenAPI document). */
import { TENANT_PATTERN } from '../kernel/tenant.js';
import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPES } from '../events/schema.js';

export const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
// Shared with the node-to-node action relay (events/actionWire.ts): one schema for both.
export { ChallengeBody, DecisionBody } from '../events/actionWire.js';
export const WebhookBody = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
    secret: Type.String({ minLength: 16, maxLength: 256 }),
    events: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { maxItems: EVENT_TYPES.length })),
  },
  { additionalProperties: false },
);
export type WebhookBody = Static<typeof WebhookBody>;
export const TokenBody = Type.Object(
  {
    room: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    name: Type.String({ minLength: 1, maxLength: 80 }),
    peer: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    role: Type.Optional(Type.Union([Type.Literal('participant'), Type.Literal('observer')])),
    /** The tenant whose room it is (default: the service's default tenant, DFD_DEFAULT_TENANT). */
    tenant: Type.Optional(Type.String({ pattern: TENANT_PATTERN })),
  },
  { additionalProperties: false },
);
export type TokenBody = Static<typeof TokenBody>;

/** A declared synthetic voice: a label and reference recordings (16-bit PCM WAV, base64; about 4 s of speech at least). */
export const DeclaredVoiceBody = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 128 }),
    clips: Type.Array(Type.String({ minLength: 4, maxLength: 1_000_000, pattern: '^[A-Za-z0-9+/]+={0,2}$' }), { minItems: 1, maxItems: 8 }),
  },
  { additionalProperties: false },
);
export type DeclaredVoiceBody = Static<typeof DeclaredVoiceBody>;

/** POST /v1/calibration/:tenant/rollback */
export const CalibrationRollbackBody = Type.Object(
  {
    /** The version to restore (default: the one before the current; 0: the shipped calibration). */
    toVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type CalibrationRollbackBody = Static<typeof CalibrationRollbackBody>;
