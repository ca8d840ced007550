/**
 * The per-tenant calibration job: the tenant's recorded decisions in, a new calibration version
 * out, or a refusal that changes nothing.
 *
 *   refit(tenant)    audit trail 'decision' events (every node's, from JetStream)
 *                    -> LabelledCallScores (labels from confirm/dismiss, call-level shipped log-odds)
 *                    -> fitGroup per detector and channel (minimum counts, bounded map, held-out Cllr
 *                       below 1 bit and below the shipped calibration's)
 *                    -> no group applied: ERR_CALIBRATION_REJECTED with every group's evidence
 *                    -> else the store's next version (applied groups only; the rest stay shipped)
 *   rollback(tenant, to?) -> the entries of version `to` (default: the version before the current
 *                    one; 0: the shipped calibration) as the store's next version
 *
 * Each version carries its evidence (counts, Cllr before and after, bounds hit), shown by the
 * dashboard and the REST API. Live calls pick a new version up at their next scored window.
 */
import { DfdError } from '../../kernel/errors.js';
import { assertTenant } from '../../kernel/tenant.js';
import { counter } from '../../kernel/metrics.js';
import type { DfdEvent, EventType } from '../../events/schema.js';
import { defaultCalibrationGuardrails, fitGroup, type CalibrationGuardrails } from './fitTenantCalibration.js';
import { LabelledCallScores } from './labelledCallScores.js';
import type { TenantCalibrationRecord, TenantCalibrationStore } from './TenantCalibrationStore.js';

export interface CalibrationJobOptions extends CalibrationGuardrails {
  /** Seconds of scored evidence a decided call needs to count. */
  minEvidence: number;
  /** At most this many decision events are read per refit. */
  maxDecisions: number;
}

export const defaultCalibrationJobOptions: CalibrationJobOptions = { ...defaultCalibrationGuardrails, minEvidence: 2, maxDecisions: 200_000 };

export interface CalibrationJobDeps {
  store: TenantCalibrationStore;
  /** Every stored event of a type, oldest first (events/EventBus.ts scanAudit). */
  scan(type: EventType, visit: (event: DfdEvent) => void, maxRecords: number): Promise<unknown>;
  now?: () => Date;
}

const refits = counter<'result'>({ name: 'dfd_calibration_refits_total', help: 'Per-tenant calibration refits by result (applied, rejected) and rollbacks', labelNames: ['result'] });

export class CalibrationJob {
  readonly options: CalibrationJobOptions;
  readonly #deps: CalibrationJobDeps;
  /** One job per tenant at a time on this node. */
  readonly #running = new Map<string, Promise<TenantCalibrationRecord>>();

  constructor(deps: CalibrationJobDeps, options: Partial<CalibrationJobOptions> = {}) {
    this.options = { ...defaultCalibrationJobOptions, ...options };
    this.#deps = deps;
  }

  /** Refits the tenant's calibration from its decisions; ERR_CALIBRATION_REJECTED when no group passes the guardrails. */
  async refit(tenant: string, operator: string): Promise<TenantCalibrationRecord> {
    assertTenant(tenant);
    return this.#once(tenant, () => this.#refit(tenant, operator));
  }

  /** Restores version `toVersion` (default: the one before the current; 0: shipped) as a new version. */
  async rollback(tenant: string, operator: string, toVersion?: number): Promise<TenantCalibrationRecord> {
    assertTenant(tenant);
    if (toVersion !== undefined && !(Number.isInteger(toVersion) && toVersion >= 0)) throw new DfdError('ERR_BAD_REQUEST', 'toVersion must be an integer >= 0');
    return this.#once(tenant, () => this.#rollback(tenant, operator, toVersion));
  }

  #once(tenant: string, run: () => Promise<TenantCalibrationRecord>): Promise<TenantCalibrationRecord> {
    const busy = this.#running.get(tenant);
    if (busy) return busy.catch(() => undefined).then(() => this.#once(tenant, run));
    const p = run().finally(() => this.#running.delete(tenant));
    this.#running.set(tenant, p);
    return p;
  }

  async #refit(tenant: string, operator: string): Promise<TenantCalibrationRecord> {
    const o = this.options;
    const labels = new LabelledCallScores(tenant, o.minEvidence);
    try {
      await this.#deps.scan('decision', (e) => labels.add(e), o.maxDecisions);
    } catch (e) {
      if (e instanceof DfdError && e.code !== 'ERR_INTERNAL') throw e;
      throw new DfdError('ERR_CALIBRATION_STORE', 'cannot read the decisions from the audit trail', { tenant }, { cause: e });
    }
    const { groups, counts } = labels.result();
    const fits = groups.map((g) => ({ detector: g.detector, channel: g.channel, ...fitGroup(g.points, o) }));
    const evidence: TenantCalibrationRecord['evidence'] = {
      ...counts,
      groups: fits.slice(0, 64).map((f) => ({ detector: f.detector, channel: f.channel, status: f.status, counts: f.counts, a: f.a, b: f.b, atBound: f.atBound, ...(f.cllr ? { cllr: f.cllr } : {}), folds: f.folds })),
      guardrails: { minPerClass: o.minPerClass, maxScale: o.maxScale, maxShift: o.maxShift, minGainBits: o.minGainBits, priorCalls: o.priorCalls, folds: o.folds, minEvidence: o.minEvidence },
    };
    const applied = fits.filter((f) => f.status === 'applied');
    if (applied.length === 0) {
      refits.inc({ result: 'rejected' });
      const reason =
        fits.length === 0
          ? 'no decided call of this tenant carries call-level scores'
          : (['no-gain', 'no-information', 'too-few'] as const).find((s) => fits.some((f) => f.status === s)) ?? 'too-few';
      throw new DfdError('ERR_CALIBRATION_REJECTED', undefined, { tenant, reason, evidence });
    }
    const current = this.#deps.store.current(tenant);
    const record: TenantCalibrationRecord = {
      tenant,
      version: (current?.version ?? 0) + 1,
      createdAt: (this.#deps.now?.() ?? new Date()).toISOString(),
      createdBy: operator.slice(0, 128) || 'operator',
      action: 'refit',
      entries: applied.slice(0, 64).map((f) => ({ detector: f.detector, channel: f.channel, a: f.a, b: f.b })),
      evidence,
    };
    const stored = await this.#deps.store.put(record);
    refits.inc({ result: 'applied' });
    return stored;
  }

  async #rollback(tenant: string, operator: string, toVersion: number | undefined): Promise<TenantCalibrationRecord> {
    const history = await this.#deps.store.history(tenant);
    const current = history[0];
    if (!current) throw new DfdError('ERR_NOT_FOUND', 'the tenant has no calibration of its own to roll back', { tenant });
    const target = toVersion ?? Math.max(0, current.version - 1);
    if (target >= current.version) throw new DfdError('ERR_BAD_REQUEST', 'toVersion must be older than the current version', { current: current.version });
    const restored = target === 0 ? undefined : history.find((r) => r.version === target);
    if (target > 0 && !restored) throw new DfdError('ERR_NOT_FOUND', 'that version is no longer kept', { tenant, toVersion: target });
    const record: TenantCalibrationRecord = {
      tenant,
      version: current.version + 1,
      createdAt: (this.#deps.now?.() ?? new Date()).toISOString(),
      createdBy: operator.slice(0, 128) || 'operator',
      action: 'rollback',
      restores: target,
      entries: restored ? restored.entries : [],
      evidence: restored ? restored.evidence : { ...current.evidence, groups: [] },
    };
    const stored = await this.#deps.store.put(record);
    refits.inc({ result: 'rollback' });
    return stored;
  }
}
