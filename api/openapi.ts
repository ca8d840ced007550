/** The OpenAPI 3.1 document served at /v1/openapi.json (bodies from api/schemas.ts). */
import { LoginBody, ChallengeBody, DecisionBody, WebhookBody, TokenBody } from './schemas.js';

const json = (schema: unknown) => ({ content: { 'application/json': { schema: JSON.parse(JSON.stringify(schema)) } } });
const err = { description: 'typed error: { error: { code, message, retryable } }' };
const op = (summary: string, extra: Record<string, unknown> = {}) => ({ summary, security: [{ session: [] }, { bearer: [] }], responses: { 200: { description: 'ok' }, 400: err, 401: err, 404: err }, ...extra });

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Deepfake defense API', version: '1.0.0', description: 'Rooms, calls, verdicts, challenges, human decisions, evidence bundles and webhooks.' },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'dfd_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    paths: {
      '/v1/auth/login': { post: { summary: 'Operator sign-in; sets the session cookie and returns the token', requestBody: json(LoginBody), responses: { 200: { description: 'ok' }, 401: err } } },
      '/v1/auth/logout': { post: { summary: 'Clears the session cookie', responses: { 204: { description: 'ok' } } } },
      '/v1/me': { get: op('The signed-in operator') },
      '/v1/tokens': { post: op('Issue a join token for a participant or observer', { requestBody: json(TokenBody) }) },
      '/v1/rooms': { get: op('Open rooms with their current call and participants') },
      '/v1/rooms/{roomId}': { get: op('One room: call and participants with current verdicts') },
      '/v1/rooms/{roomId}/participants/{peerId}': { get: op('A participant: current verdict, history, challenges, decisions') },
      '/v1/rooms/{roomId}/participants/{peerId}/challenge': { post: op('Trigger a challenge now', { requestBody: json(ChallengeBody) }) },
      '/v1/rooms/{roomId}/participants/{peerId}/decision': { post: op('Record a human confirm or dismiss of the current tag', { requestBody: json(DecisionBody) }) },
      '/v1/calls/{callId}/evidence': { get: op("Export a call's hash-chained evidence bundle") },
      '/v1/evidence/verify': { post: op('Verify an evidence bundle: { ok, records, headHash } or { ok: false, brokenAt, reason }') },
      '/v1/webhooks': { get: op('Webhook subscribers and dead-letter count'), post: op('Add a webhook subscriber', { requestBody: json(WebhookBody) }) },
      '/v1/webhooks/{id}': { delete: op('Remove a webhook subscriber') },
      '/v1/stream': { get: op('Server-Sent Events: every score, verdict, challenge and decision (bridged from NATS)') },
      '/v1/rooms/{roomId}/stream': { get: { summary: 'Server-Sent Events for the badge SDK: verdicts and challenges of one room', parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'event stream' }, 401: err, 403: err } } },
      '/healthz': { get: { summary: 'Health of workers, NATS and detectors', responses: { 200: { description: 'healthy' }, 503: { description: 'degraded' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
    },
  };
}
