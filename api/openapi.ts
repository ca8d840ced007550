/** The OpenAPI 3.1 document served at /v1/openapi.json (bodies from api/schemas.ts). */
import { DeclaredVoiceBody, LoginBody, ChallengeBody, DecisionBody, WebhookBody, TokenBody, CalibrationRollbackBody } from './schemas.js';

const json = (schema: unknown) => ({ content: { 'application/json': { schema: JSON.parse(JSON.stringify(schema)) } } });
const err = { description: 'typed error: { error: { code, message, retryable } }' };
/** Several service nodes: the room is served by another node (error.details.url), where the action must go. */
const wrongNode = { description: 'ERR_WRONG_NODE: the room is served by another service node and this one cannot forward the action; repeat the request at error.details.url. With the room registry the action is forwarded to that node (its answer is this answer); ERR_NODE_UNREACHABLE (503, retryable) when it does not answer' };
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
      '/v1/rooms/{roomId}/participants/{peerId}/challenge': { post: { ...op('Trigger a challenge now', { requestBody: json(ChallengeBody) }), responses: { ...op('').responses, 421: wrongNode } } },
      '/v1/rooms/{roomId}/participants/{peerId}/decision': { post: { ...op('Record a human confirm or dismiss of the current tag', { requestBody: json(DecisionBody) }), responses: { ...op('').responses, 421: wrongNode } } },
      '/v1/calls': {
        get: op('Call history, newest first: participants with final states, challenges, decisions, duration', {
          parameters: [
            { name: 'state', in: 'query', schema: { type: 'string' }, description: 'comma-separated final verdict states (any participant)' },
            { name: 'status', in: 'query', schema: { enum: ['live', 'ended'] } },
            {
              name: 'analysis',
              in: 'query',
              schema: { enum: ['thinned', 'evidence-thinned', 'complete'] },
              description:
                "thinned: a participant's last verdict reports windows dropped under load by any model; evidence-thinned: a scoring detector's windows (the verdict rests on less; the speaker model's drops thin only the takeover check); complete: none does",
            },
            { name: 'room', in: 'query', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
            { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'calls still running at or after' },
            { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'calls started at or before' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          ],
        }),
      },
      '/v1/calls/{callId}': { get: op('One call: per participant the models the last verdict named (windows scored, dropped under load), the verdict and score timeline, every challenge with its outcome, operator decisions') },
      '/v1/calls/{callId}/evidence': { get: op('The call as a signed evidence bundle file (docs/evidence.md); verify offline with npm run verify-evidence') },
      '/v1/evidence/verify': { post: op("Verify an evidence bundle's content: { ok, summary, warnings } or { ok: false, problem: { code, byteOffset, eventIndex, ... } }") },
      '/v1/evidence/key': { get: op('The public key and fingerprint evidence bundles and audit anchors are signed with') },
      '/v1/webhooks': { get: op('Webhook subscribers and dead-letter count'), post: op('Add a webhook subscriber', { requestBody: json(WebhookBody) }) },
      '/v1/webhooks/{id}': { delete: op('Remove a webhook subscriber') },
      '/v1/declared-voices': {
        get: op('Declared synthetic voices (label, who registered it, when; no audio, no profile)'),
        post: op('Declare a legitimate synthetic voice from reference recordings: a participant matching it gets the reason declared-synthetic instead of an alarm', { requestBody: json(DeclaredVoiceBody) }),
      },
      '/v1/declared-voices/{id}': { delete: op('Remove a declared synthetic voice') },
      '/v1/calibration': { get: op("Every tenant's own calibration (refit from its operators' decisions), with its evidence, and the guardrails") },
      '/v1/calibration/{tenant}': { get: op("A tenant's current calibration and its versions, newest first") },
      '/v1/calibration/{tenant}/refit': {
        post: op("Refit the tenant's calibration from its recorded decisions: a new version, or 422 ERR_CALIBRATION_REJECTED with the evidence when no detector and channel passes the guardrails (nothing changes)"),
      },
      '/v1/calibration/{tenant}/rollback': { post: op('Restore an older version (default: the previous one; 0: the shipped calibration) as a new version', { requestBody: json(CalibrationRollbackBody) }) },
      '/v1/stream': { get: op('Server-Sent Events: every score, verdict, challenge and decision (bridged from NATS)') },
      '/v1/rooms/{roomId}/stream': { get: { summary: 'Server-Sent Events for the badge SDK: verdicts and challenges of one room', parameters: [{ name: 'token', in: 'query', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'event stream' }, 401: err, 403: err } } },
      '/healthz': { get: { summary: 'Health of workers, NATS and detectors', responses: { 200: { description: 'healthy' }, 503: { description: 'degraded, or shutting down (checks.lifecycle)' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
    },
  };
}
