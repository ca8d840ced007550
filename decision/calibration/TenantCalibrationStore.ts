/**
 * Per-tenant calibrations, versioned in a JetStream KV bucket (`DFD_CALIBRATION`): one key per
 * tenant, its value the tenant's current calibration record, the bucket's history the earlier
 * versions (up to `history`). Every service node watches the bucket, so a refit or rollback made on
 * one node reaches the calls of every node (`changed`). Values read back are validated (NATS is a
 * boundary); writes use the key's revision, so two nodes refitting one tenant at once cannot both
 * win (the loser gets ERR_CALIBRATION_STORE, retryable).
 *
 *   refit    -> put(record with version n+1, expected: version n)
 *   rollback -> put(record restoring version m's entries as version n+1, action 'rollback')
 */
import type { KV, KvEntry, NatsConnection } from 'nats';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DfdError } from '../../kernel/errors.js';
import { createLogger } from '../../kernel/log.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { TENANT_PATTERN, assertTenant } from '../../kernel/tenant.js';
import { SCORE_CHANNELS } from '../../events/schema.js';
import { kvJson } from '../../events/kvJson.js';
import type { TenantCalibration } from '../../pipeline/verdict/TenantCalibration.js';

const log = createLogger('decision.calibration');

const Channel = Type.Union(SCORE_CHANNELS.map((c) => Type.Literal(c)));
const Count = Type.Integer({ minimum: 0 });
const Bits = Type.Number({ minimum: 0, maximum: 100 });

const GroupEvidence = Type.Object(
  {
    detector: Type.String({ minLength: 1, maxLength: 128 }),
    channel: Channel,
    status: Type.Union([Type.Literal('applied'), Type.Literal('too-few'), Type.Literal('no-information'), Type.Literal('no-gain')]),
    counts: Type.Object({ fake: Count, genuine: Count }, { additionalProperties: false }),
    a: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
    b: Type.Number({ minimum: -100, maximum: 100 }),
    atBound: Type.Boolean(),
    cllr: Type.Optional(Type.Object({ shipped: Bits, heldOut: Bits }, { additionalProperties: false })),
    folds: Count,
  },
  { additionalProperties: false },
);

export const TenantCalibrationRecord = Type.Object(
  {
    tenant: Type.String({ pattern: TENANT_PATTERN }),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Type.String({ maxLength: 40 }),
    createdBy: Type.String({ minLength: 1, maxLength: 128 }),
    action: Type.Union([Type.Literal('refit'), Type.Literal('rollback')]),
    /** Rollback: the version whose entries this one restores (0: the shipped calibration). */
    restores: Type.Optional(Count),
    /** The maps in force: only groups whose refit passed every guardrail. */
    entries: Type.Array(
      Type.Object(
        { detector: Type.String({ minLength: 1, maxLength: 128 }), channel: Channel, a: Type.Number({ exclusiveMinimum: 0, maximum: 100 }), b: Type.Number({ minimum: -100, maximum: 100 }) },
        { additionalProperties: false },
      ),
      { maxItems: 64 },
    ),
    /** What the entries rest on: the decisions read and every group's fit, applied or not. */
    evidence: Type.Object(
      {
        decisions: Count,
        labelled: Type.Object({ fake: Count, genuine: Count }, { additionalProperties: false }),
        unlabelled: Count,
        withoutScores: Count,
        superseded: Count,
        groups: Type.Array(GroupEvidence, { maxItems: 64 }),
        guardrails: Type.Object(
          { minPerClass: Count, maxScale: Type.Number(), maxShift: Type.Number(), minGainBits: Type.Number(), priorCalls: Type.Number(), folds: Count, minEvidence: Type.Number() },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type TenantCalibrationRecord = Static<typeof TenantCalibrationRecord>;
const checkRecord = TypeCompiler.Compile(TenantCalibrationRecord);

export function parseCalibrationRecord(value: unknown): TenantCalibrationRecord | undefined {
  return checkRecord.Check(value) ? value : undefined;
}

export function toTenantCalibration(r: TenantCalibrationRecord): TenantCalibration {
  return { tenant: r.tenant, version: r.version, entries: r.entries };
}

export interface TenantCalibrationStoreOptions {
  bucket: string;
  /** Versions kept per tenant (the bucket's history; 64 at most). */
  history: number;
  replicas: number;
  timeoutMs: number;
}

export const defaultTenantCalibrationStoreOptions: TenantCalibrationStoreOptions = { bucket: 'DFD_CALIBRATION', history: 64, replicas: 1, timeoutMs: 5_000 };

export type TenantCalibrationStoreEvents = {
  /** Every tenant's current calibration, after any change (from this node or another). */
  changed: [calibrations: TenantCalibration[]];
};

export class TenantCalibrationStore extends TypedEmitter<TenantCalibrationStoreEvents> {
  readonly options: TenantCalibrationStoreOptions;
  readonly #kv: KV;
  readonly #current = new Map<string, { record: TenantCalibrationRecord; revision: number }>();
  #stop: (() => void) | undefined;

  private constructor(options: TenantCalibrationStoreOptions, kv: KV) {
    super();
    this.options = options;
    this.#kv = kv;
  }

  /** Opens (creating when missing) the bucket, reads every tenant's current record and watches for changes. */
  static async open(nc: NatsConnection, options: Partial<TenantCalibrationStoreOptions> = {}): Promise<TenantCalibrationStore> {
    const o = { ...defaultTenantCalibrationStoreOptions, ...options };
    let kv: KV;
    try {
      kv = await nc.jetstream().views.kv(o.bucket, { history: o.history, replicas: o.replicas, timeout: o.timeoutMs });
    } catch (e) {
      throw new DfdError('ERR_CONFIG', 'cannot open the calibration bucket', { bucket: o.bucket }, { cause: e });
    }
    const store = new TenantCalibrationStore(o, kv);
    await store.#watch();
    return store;
  }

  async #watch(): Promise<void> {
    let initialised!: () => void;
    const ready = new Promise<void>((r) => (initialised = r));
    const iter = await this.#kv.watch({ initializedFn: () => initialised() });
    this.#stop = () => iter.stop();
    void (async () => {
      for await (const e of iter) this.#apply(e);
    })().catch((e: unknown) => log.warn('calibration watch ended', { err: e }));
    await ready;
  }

  #apply(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      if (this.#current.delete(e.key)) this.safeEmit('changed', this.calibrations());
      return;
    }
    const r = parseCalibrationRecord(kvJson(e));
    if (!r || r.tenant !== e.key) {
      log.warn('stored calibration skipped: invalid', { bucket: this.options.bucket });
      return;
    }
    const held = this.#current.get(e.key);
    if (held && held.revision >= e.revision) return;
    this.#current.set(e.key, { record: r, revision: e.revision });
    this.safeEmit('changed', this.calibrations());
  }

  /** Every tenant's current calibration (the pipeline's TenantCalibrationSet is built from it). */
  calibrations(): TenantCalibration[] {
    return [...this.#current.values()].map((c) => toTenantCalibration(c.record));
  }

  /** Every tenant's current record. */
  list(): TenantCalibrationRecord[] {
    return [...this.#current.values()].map((c) => c.record).sort((a, b) => a.tenant.localeCompare(b.tenant));
  }

  current(tenant: string): TenantCalibrationRecord | undefined {
    assertTenant(tenant);
    return this.#current.get(tenant)?.record;
  }

  /** The tenant's versions, newest first (as many as the bucket keeps). */
  async history(tenant: string): Promise<TenantCalibrationRecord[]> {
    assertTenant(tenant);
    const out: TenantCalibrationRecord[] = [];
    const iter = await this.#kv.history({ key: tenant });
    for await (const e of iter) {
      const r = parseCalibrationRecord(kvJson(e));
      if (r && r.tenant === tenant) out.push(r);
    }
    return out.sort((a, b) => b.version - a.version);
  }

  /**
   * Stores the tenant's next version: `record.version` must be the current version + 1 and nobody
   * may have written since (ERR_CALIBRATION_STORE otherwise). Resolves once this node applies it.
   */
  async put(record: TenantCalibrationRecord): Promise<TenantCalibrationRecord> {
    if (!checkRecord.Check(record)) throw new DfdError('ERR_BAD_REQUEST', 'invalid calibration record');
    const held = await this.#kv.get(record.tenant).catch((e: unknown) => {
      throw new DfdError('ERR_CALIBRATION_STORE', undefined, undefined, { cause: e });
    });
    const prev = parseCalibrationRecord(kvJson(held));
    if ((prev?.version ?? 0) + 1 !== record.version) throw new DfdError('ERR_CALIBRATION_STORE', 'the calibration changed meanwhile: read it again', { tenant: record.tenant, current: prev?.version ?? 0 });
    let revision: number;
    try {
      const data = JSON.stringify(record);
      revision = held ? await this.#kv.update(record.tenant, data, held.revision) : await this.#kv.create(record.tenant, data);
    } catch (e) {
      throw new DfdError('ERR_CALIBRATION_STORE', 'the calibration changed meanwhile or NATS is away', { tenant: record.tenant }, { cause: e });
    }
    // The watch delivers it too; applying it here makes it current on this node before the caller goes on.
    const now = this.#current.get(record.tenant);
    if (!now || now.revision < revision) {
      this.#current.set(record.tenant, { record, revision });
      this.safeEmit('changed', this.calibrations());
    }
    return record;
  }

  close(): void {
    this.#stop?.();
    this.#stop = undefined;
  }
}
