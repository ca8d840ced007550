/**
 * REST routes for per-tenant calibration (operators only; docs/calibration.md):
 *   GET  /v1/calibration                     every tenant's current calibration, with its evidence
 *   GET  /v1/calibration/:tenant             the tenant's current version and its history (newest first)
 *   POST /v1/calibration/:tenant/refit       refit from the tenant's decisions -> the new version, or
 *                                            422 ERR_CALIBRATION_REJECTED with the evidence (nothing changes)
 *   POST /v1/calibration/:tenant/rollback    { toVersion? } -> a new version restoring an older one (0: shipped)
 * Refits and rollbacks are logged with the operator (structured fields).
 */
import type { HttpServer, RequestContext } from '../kernel/http/HttpServer.js';
import { createLogger } from '../kernel/log.js';
import { assertTenant } from '../kernel/tenant.js';
import type { OperatorAuth } from './OperatorAuth.js';
import type { CalibrationJob } from '../decision/calibration/CalibrationJob.js';
import type { TenantCalibrationStore } from '../decision/calibration/TenantCalibrationStore.js';
import { CalibrationRollbackBody } from './schemas.js';
import { body } from './body.js';

const log = createLogger('api.calibration');

export interface CalibrationRouteDeps {
  auth: OperatorAuth;
  store: TenantCalibrationStore;
  job: CalibrationJob;
}

export function registerCalibrationRoutes(http: HttpServer, deps: CalibrationRouteDeps): void {
  const operator = (ctx: RequestContext): string => deps.auth.authenticate(ctx.req).name;
  const tenantOf = (ctx: RequestContext): string => {
    const t = ctx.params['tenant'];
    assertTenant(t);
    return t;
  };
  http
    .route('GET', '/v1/calibration', (ctx) => {
      operator(ctx);
      return { tenants: deps.store.list(), guardrails: deps.job.options };
    })
    .route('GET', '/v1/calibration/:tenant', async (ctx) => {
      operator(ctx);
      const tenant = tenantOf(ctx);
      const history = await deps.store.history(tenant);
      return { tenant, current: deps.store.current(tenant) ?? null, history };
    })
    .route('POST', '/v1/calibration/:tenant/refit', async (ctx) => {
      const who = operator(ctx);
      const tenant = tenantOf(ctx);
      const r = await deps.job.refit(tenant, who);
      log.info('tenant calibration refit', { tenant, version: r.version, operator: who, entries: r.entries.length });
      return r;
    })
    .route('POST', '/v1/calibration/:tenant/rollback', async (ctx) => {
      const who = operator(ctx);
      const tenant = tenantOf(ctx);
      const b = await body(ctx, CalibrationRollbackBody);
      const r = await deps.job.rollback(tenant, who, b.toVersion);
      log.info('tenant calibration rolled back', { tenant, version: r.version, restores: r.restores, operator: who });
      return r;
    });
}
