/**
 * REST routes for per-tenant calibration (operators only; docs/calibration.md):
 *   GET  /v1/calibration                     every tenant's current calibration, with its evidence
 *   GET  /v1/calibration/:tenant             the tenant's current version and its history (newest first)
 *   POST /v1/calibration/:tenant/refit       refit from the tenant's decisions -> the new version, or
 *                                            422 ERR_CALIBRATION_REJECTED with the evidence (nothing changes)
 *   POST /v1/calibration/:tenant/rollback    { toVersion? } -> a new version restoring an older one (0: shipped)
 * Refits and rollbacks are logged with the operator (structured fields). A tenant API key
 * (DFD_API_KEYS) sees and acts on its own tenant's calibration only.
 */
import type { HttpServer, RequestContext } from '../kernel/http/HttpServer.js';
import { createLogger } from '../kernel/log.js';
import { assertTenant } from '../kernel/tenant.js';
import { sees, type OperatorAuth } from './OperatorAuth.js';
import { DfdError } from '../kernel/errors.js';
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
  /** The tenant of the URL, when the caller may act on it (a tenant API key: its own only): the caller's name. */
  const tenantOf = (ctx: RequestContext): { tenant: string; who: string } => {
    const caller = deps.auth.caller(ctx.req);
    const t = ctx.params['tenant'];
    assertTenant(t);
    if (!sees(caller, t)) throw new DfdError('ERR_FORBIDDEN', "a tenant API key acts on its own tenant's calibration only");
    return { tenant: t, who: caller.name };
  };
  http
    .route('GET', '/v1/calibration', (ctx) => {
      const caller = deps.auth.caller(ctx.req);
      return { tenants: deps.store.list().filter((r) => sees(caller, r.tenant)), guardrails: deps.job.options };
    })
    .route('GET', '/v1/calibration/:tenant', async (ctx) => {
      const { tenant } = tenantOf(ctx);
      const history = await deps.store.history(tenant);
      return { tenant, current: deps.store.current(tenant) ?? null, history };
    })
    .route('POST', '/v1/calibration/:tenant/refit', async (ctx) => {
      const { tenant, who } = tenantOf(ctx);
      const r = await deps.job.refit(tenant, who);
      log.info('tenant calibration refit', { tenant, version: r.version, operator: who, entries: r.entries.length });
      return r;
    })
    .route('POST', '/v1/calibration/:tenant/rollback', async (ctx) => {
      const { tenant, who } = tenantOf(ctx);
      const b = await body(ctx, CalibrationRollbackBody);
      const r = await deps.job.rollback(tenant, who, b.toVersion);
      log.info('tenant calibration rolled back', { tenant, version: r.version, restores: r.restores, operator: who });
      return r;
    });
}
