/**
 * REST routes for declared synthetic voices (operators only):
 *   GET    /v1/declared-voices        the list (label, who and when, reference size, model, status; no profile)
 *   POST   /v1/declared-voices        { label, clips: [base64 16-bit PCM WAV] } -> the new voice
 *   DELETE /v1/declared-voices/:id
 * Registering and removing are logged with the operator (structured fields, no audio); matches are
 * `declared` events on the bus (decision/PipelineEventPublisher.ts).
 */
import type { HttpServer, RequestContext } from '../kernel/http/HttpServer.js';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { assertServiceWide, type OperatorAuth } from './OperatorAuth.js';
import type { DeclaredVoiceRecord, DeclaredVoiceRegistry } from '../decision/DeclaredVoiceRegistry.js';
import type { DeclaredVoiceEnroller } from '../decision/DeclaredVoiceEnroller.js';
import { declaredProfileStatus, type InstalledSpeakerModel } from '../decision/declaredProfileStatus.js';
import { DeclaredVoiceBody } from './schemas.js';
import { body } from './body.js';

const log = createLogger('api.declared-voices');

export interface DeclaredVoiceRouteDeps {
  auth: OperatorAuth;
  registry: DeclaredVoiceRegistry;
  /** The enroller, while the speaker-embedding model is installed and analysis runs; else undefined. */
  enroller: () => DeclaredVoiceEnroller | undefined;
  /** The installed speaker model, whose embeddings the profiles are matched with; undefined: none. */
  installedModel: () => InstalledSpeakerModel | undefined;
}

export function registerDeclaredVoiceRoutes(http: HttpServer, deps: DeclaredVoiceRouteDeps): void {
  /** `status`: whether live speech is matched against it ('active') or why not (decision/declaredProfileStatus.ts). */
  const summary = (v: DeclaredVoiceRecord): Record<string, unknown> => ({
    id: v.id,
    label: v.label,
    createdBy: v.createdBy,
    createdAt: v.createdAt,
    windows: v.windows,
    referenceSeconds: v.referenceSeconds,
    model: v.model,
    status: declaredProfileStatus(v.model, deps.installedModel()),
  });
  const operator = (ctx: RequestContext): string => deps.auth.authenticate(ctx.req).name;
  /** Declared voices apply to every tenant's calls: only a signed-in operator changes them. */
  const serviceWideOperator = (ctx: RequestContext): string => {
    const who = deps.auth.caller(ctx.req);
    assertServiceWide(who);
    return who.name;
  };
  http
    .route('GET', '/v1/declared-voices', (ctx) => {
      operator(ctx);
      return { voices: deps.registry.list().map(summary) };
    })
    .route('POST', '/v1/declared-voices', async (ctx) => {
      const who = serviceWideOperator(ctx);
      const value = await body(ctx, DeclaredVoiceBody);
      const enroller = deps.enroller();
      if (!enroller) throw new DfdError('ERR_MODEL_UNAVAILABLE', 'declared voices need analysis on and the speaker-embedding model installed');
      const clips = value.clips.map((c) => Buffer.from(c, 'base64'));
      const profile = await enroller.enrol(clips);
      const v = deps.registry.add({ label: value.label, createdBy: who, ...profile });
      log.info('declared voice registered', { id: v.id, operator: who, windows: v.windows, referenceSeconds: v.referenceSeconds });
      return summary(v);
    })
    .route('DELETE', '/v1/declared-voices/:id', (ctx) => {
      const who = serviceWideOperator(ctx);
      const id = ctx.params['id'] ?? '';
      if (!/^dv-[0-9a-f]{12}$/.test(id)) throw new DfdError('ERR_BAD_REQUEST', 'id must look like dv-<12 hex digits>');
      if (!deps.registry.remove(id)) throw new DfdError('ERR_NOT_FOUND', 'unknown declared voice');
      log.info('declared voice removed', { id, operator: who });
      return {};
    });
}
