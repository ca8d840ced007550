/**
 * What the dashboard says about a tenant's calibration (pure, no DOM): parsing the REST answer
 * defensively (the server is a boundary for the page too) and the sentences shown per group.
 */

export interface CalibrationGroupView {
  detector: string;
  channel: string;
  status: string;
  fake: number;
  genuine: number;
  a: number;
  b: number;
  atBound: boolean;
  cllr: { shipped: number; heldOut: number } | undefined;
}

export interface CalibrationView {
  tenant: string;
  version: number;
  action: string;
  restores: number | undefined;
  createdAt: string;
  createdBy: string;
  /** Detector and channel of each map in force. */
  applied: string[];
  groups: CalibrationGroupView[];
  decisions: number;
  unlabelled: number;
  withoutScores: number;
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);

export function parseCalibration(value: unknown): CalibrationView | undefined {
  const r = obj(value);
  if (typeof r['tenant'] !== 'string' || typeof r['version'] !== 'number') return undefined;
  const ev = obj(r['evidence']);
  const entries = Array.isArray(r['entries']) ? r['entries'].map(obj) : [];
  const groups = (Array.isArray(ev['groups']) ? ev['groups'] : []).map(obj).map((g): CalibrationGroupView => {
    const c = obj(g['counts']);
    const cl = obj(g['cllr']);
    return {
      detector: str(g['detector'], '?'),
      channel: str(g['channel'], '?'),
      status: str(g['status'], '?'),
      fake: num(c['fake']),
      genuine: num(c['genuine']),
      a: num(g['a'], 1),
      b: num(g['b']),
      atBound: g['atBound'] === true,
      cllr: typeof cl['shipped'] === 'number' && typeof cl['heldOut'] === 'number' ? { shipped: cl['shipped'], heldOut: cl['heldOut'] } : undefined,
    };
  });
  return {
    tenant: r['tenant'],
    version: r['version'],
    action: str(r['action'], 'refit'),
    restores: typeof r['restores'] === 'number' ? r['restores'] : undefined,
    createdAt: str(r['createdAt']),
    createdBy: str(r['createdBy']),
    applied: entries.map((e) => `${str(e['detector'], '?')} (${str(e['channel'], '?')})`),
    groups,
    decisions: num(ev['decisions']),
    unlabelled: num(ev['unlabelled']),
    withoutScores: num(ev['withoutScores']),
  };
}

/** The headline of a tenant's calibration. */
export function describeCalibration(c: CalibrationView): string {
  const what = c.action === 'rollback' ? (c.restores === 0 ? 'rolled back to the shipped calibration' : `rolled back to version ${c.restores ?? '?'}`) : 'refit';
  const inForce = c.applied.length > 0 ? `own calibration for ${c.applied.join(', ')}` : 'shipped calibration';
  return `Version ${c.version}, ${what} by ${c.createdBy}: ${inForce}.`;
}

/** One group's evidence, e.g. "test-voice (telephone): applied, 40 fake / 52 genuine calls, Cllr 0.91 -> 0.62 bits held out, z' = 0.80 z - 0.40". */
export function describeGroup(g: CalibrationGroupView): string {
  const status =
    g.status === 'applied'
      ? 'applied'
      : g.status === 'too-few'
        ? 'too few decided calls: shipped kept'
        : g.status === 'no-gain'
          ? 'no held-out gain: shipped kept'
          : g.status === 'no-information'
            ? 'decisions do not agree with the scores: shipped kept'
            : g.status;
  const cllr = g.cllr ? `, Cllr ${g.cllr.shipped.toFixed(2)} -> ${g.cllr.heldOut.toFixed(2)} bits held out` : '';
  const map = g.status === 'applied' ? `, z' = ${g.a.toFixed(2)} z ${g.b < 0 ? '-' : '+'} ${Math.abs(g.b).toFixed(2)}${g.atBound ? ' (at its bound)' : ''}` : '';
  return `${g.detector} (${g.channel}): ${status}, ${g.fake} fake / ${g.genuine} genuine calls${cllr}${map}`;
}

/** Why a refit was refused (ERR_CALIBRATION_REJECTED details). */
export function describeRejection(details: Record<string, unknown>): string {
  const reason = str(details['reason'], 'a guardrail');
  const ev = parseCalibration({ tenant: str(details['tenant'], '?'), version: 0, evidence: details['evidence'] });
  const groups = ev?.groups.map(describeGroup) ?? [];
  const why = reason === 'too-few' ? 'too few decided calls' : reason === 'no-gain' ? 'no held-out gain' : reason === 'no-information' ? 'the decisions do not agree with the scores' : reason;
  return `Refit refused (${why}); the current calibration stays.${groups.length ? ` ${groups.join('; ')}.` : ''}`;
}
