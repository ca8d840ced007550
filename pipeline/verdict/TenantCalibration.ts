/**
 * A tenant's own calibration, on top of the shipped one: for a detector and a channel, an affine map
 * of the window's log-odds of fake,
 *
 *   z = logit(pFake under the shipped calibration)      z' = a * z + b      pFake' = sigmoid(z')
 *
 * refit from the tenant's operator decisions (decision/calibration/fitTenantCalibration.ts) and kept
 * in a JetStream KV bucket (decision/calibration/TenantCalibrationStore.ts). The pipeline applies it
 * on the main thread as each score arrives (AnalysisPipeline), whatever thread or worker scored the
 * window, so a new version reaches live calls at their next window. Detectors and channels without
 * an entry, and tenants without a calibration, keep the shipped one.
 */
import { logit, sigmoid } from './EvidenceAccumulator.js';
import type { CalibrationChannel } from '../../detectors/registry/Manifest.js';

/** What a scored window came through: the calibration families (events/schema.ts SCORE_CHANNELS). */
export type ScoreChannel = CalibrationChannel | 'video';

export interface TenantCalibrationEntry {
  detector: string;
  channel: ScoreChannel;
  /** Scale of the shipped log-odds. */
  a: number;
  /** Shift, nats. */
  b: number;
}

export interface TenantCalibration {
  tenant: string;
  /** 1, 2, ... per tenant; a rollback is a new version too. */
  version: number;
  entries: readonly TenantCalibrationEntry[];
}

/** The largest |log-odds| a calibrated window may reach (the verdict's accumulator clamps at a similar bound). */
const MAX_ABS_LOG_ODDS = 20;

/** pFake under the tenant's map, from pFake under the shipped calibration. */
export function applyTenantCalibration(pFake: number, entry: Pick<TenantCalibrationEntry, 'a' | 'b'>): number {
  const z = entry.a * logit(pFake) + entry.b;
  return sigmoid(Math.max(-MAX_ABS_LOG_ODDS, Math.min(MAX_ABS_LOG_ODDS, z)));
}

const key = (tenant: string, detector: string, channel: ScoreChannel): string => `${tenant}\u0000${detector}\u0000${channel}`;

/** Every tenant's current calibration, looked up per scored window (replaced whole on a change). */
export class TenantCalibrationSet {
  readonly #entries = new Map<string, { entry: TenantCalibrationEntry; version: number }>();
  readonly #versions = new Map<string, number>();

  constructor(calibrations: readonly TenantCalibration[] = []) {
    for (const c of calibrations) {
      this.#versions.set(c.tenant, c.version);
      for (const e of c.entries) {
        if (Number.isFinite(e.a) && e.a > 0 && Number.isFinite(e.b)) this.#entries.set(key(c.tenant, e.detector, e.channel), { entry: e, version: c.version });
      }
    }
  }

  /**
   * The tenant's entry for the detector and channel, with its version; undefined: the shipped calibration stands.
   * 'suppressed' without an entry of its own takes the tenant's 'wideband' one, as the shipped calibrations fall
   * back (and as refits before 'suppressed' existed were fitted, with browser callers among the wideband ones).
   */
  for(tenant: string, detector: string, channel: ScoreChannel): { entry: TenantCalibrationEntry; version: number } | undefined {
    const own = this.#entries.get(key(tenant, detector, channel));
    return own ?? (channel === 'suppressed' ? this.#entries.get(key(tenant, detector, 'wideband')) : undefined);
  }

  /** The tenant's current version (0: none, the shipped calibration). */
  version(tenant: string): number {
    return this.#versions.get(tenant) ?? 0;
  }
}
