/**
 * Per-tenant calibration versions on a real nats-server (JetStream KV), as two service nodes see
 * them: a refit made through one node's job is current on the other node (its watch); versions
 * count up per tenant; a write from a stale read is refused; a guardrail refusal writes nothing;
 * rollback restores the previous version and then the shipped calibration; an invalid value in the
 * bucket is skipped.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../../events/NatsServerProcess.js';
import { makeEvent, type DfdEvent } from '../../events/schema.js';
import { TenantCalibrationStore } from './TenantCalibrationStore.js';
import { CalibrationJob } from './CalibrationJob.js';
import type { TenantCalibration } from '../../pipeline/verdict/TenantCalibration.js';

let nats: NatsServerProcess;
let nc: NatsConnection;
const stores: TenantCalibrationStore[] = [];

const until = async (what: string, cond: () => boolean, ms = 20_000): Promise<void> => {
  for (const deadline = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 25))) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
};
const codeOf = (p: Promise<unknown>): Promise<{ code?: string; details?: Record<string, unknown> } | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; details?: Record<string, unknown> },
  );

/** Decisions of `tenant` whose call scores separate fakes (around +1) from genuine callers (around +0.4, read too high by the shipped calibration). */
function decisions(tenant: string, n: number): DfdEvent[] {
  const out: DfdEvent[] = [];
  for (let i = 0; i < n; i++) {
    const fake = i % 2 === 0;
    const z = (fake ? 1 : 0.4) + ((i * 37) % 11) / 50 - 0.1;
    out.push(
      makeEvent(
        'decision',
        { roomId: `r${i}`, peerId: 'caller', displayName: 'Caller', callId: `c${i}`, tenant, models: [] },
        { decision: fake ? 'confirm' : 'dismiss', tagState: 'suspicious', operator: 'op', callScores: [{ detector: 'voice-antispoof', channel: 'telephone', logOdds: z, evidence: 12, windows: 6 }] },
      ),
    );
  }
  return out;
}

function job(store: TenantCalibrationStore, events: DfdEvent[], minPerClass = 5): CalibrationJob {
  return new CalibrationJob({ store, scan: async (type, visit) => events.filter((e) => e.type === type).forEach(visit) }, { minPerClass, minEvidence: 2 });
}

beforeAll(async () => {
  nats = await NatsServerProcess.start();
  nc = await connect({ servers: nats.url, ...nats.serviceAuth });
}, 60_000);

afterAll(async () => {
  for (const s of stores) s.close();
  await nc?.close();
  await nats?.close();
});

async function node(bucket: string): Promise<TenantCalibrationStore> {
  const s = await TenantCalibrationStore.open(nc, { bucket });
  stores.push(s);
  return s;
}

describe('TenantCalibrationStore and CalibrationJob (real nats-server, JetStream KV)', () => {
  it('a refit on one node is current on another; versions count up; rollback restores the previous version, then shipped', async () => {
    const a = await node('T_CAL_1');
    const b = await node('T_CAL_1');
    const seen: TenantCalibration[][] = [];
    b.on('changed', (all) => seen.push(all));
    const events = [...decisions('acme', 24), ...decisions('globex', 4)];

    const v1 = await job(a, events).refit('acme', 'alice');
    expect(v1).toMatchObject({ tenant: 'acme', version: 1, action: 'refit', createdBy: 'alice', evidence: { decisions: 24, labelled: { fake: 12, genuine: 12 } } });
    expect(v1.entries).toHaveLength(1);
    const e1 = v1.entries[0]!;
    expect(e1).toMatchObject({ detector: 'voice-antispoof', channel: 'telephone' });
    // The genuine callers' scores (around +0.4) move below 0 under the refit map.
    expect(e1.a * 0.4 + e1.b).toBeLessThan(0);
    const g = v1.evidence.groups[0]!;
    expect(g.status).toBe('applied');
    expect(g.cllr!.heldOut).toBeLessThan(g.cllr!.shipped);
    await until('node b sees version 1', () => b.current('acme')?.version === 1);
    expect(seen.at(-1)).toEqual([{ tenant: 'acme', version: 1, entries: v1.entries }]);

    // A second refit on node b (more decisions) is version 2.
    const v2 = await job(b, [...events, ...decisions('acme', 40).map((e, i) => ({ ...e, id: crypto.randomUUID(), callId: `d${i}` }))]).refit('acme', 'bob');
    expect(v2.version).toBe(2);
    await until('node a sees version 2', () => a.current('acme')?.version === 2);

    // globex has too few decisions: refused with the evidence, nothing written.
    const refused = await codeOf(job(a, events).refit('globex', 'alice'));
    expect(refused?.code).toBe('ERR_CALIBRATION_REJECTED');
    expect(refused?.details).toMatchObject({ tenant: 'globex', reason: 'too-few', evidence: { labelled: { fake: 2, genuine: 2 } } });
    expect(a.current('globex')).toBeUndefined();

    // A write from a stale read loses.
    const stale = await codeOf(a.put({ ...v1, version: 2 }));
    expect(stale?.code).toBe('ERR_CALIBRATION_STORE');

    // Rollback: version 3 restores version 1's entries; then to the shipped calibration (version 4, no entries).
    const r3 = await job(a, events).rollback('acme', 'alice');
    expect(r3).toMatchObject({ version: 3, action: 'rollback', restores: 1, entries: v1.entries });
    const r4 = await job(a, events).rollback('acme', 'alice', 0);
    expect(r4).toMatchObject({ version: 4, action: 'rollback', restores: 0, entries: [] });
    await until('node b sees the shipped calibration again', () => b.current('acme')?.version === 4);
    expect(b.calibrations()).toEqual([{ tenant: 'acme', version: 4, entries: [] }]);
    expect((await a.history('acme')).map((r) => [r.version, r.action])).toEqual([
      [4, 'rollback'],
      [3, 'rollback'],
      [2, 'refit'],
      [1, 'refit'],
    ]);
    expect((await codeOf(job(a, events).rollback('acme', 'alice', 9)))?.code).toBe('ERR_BAD_REQUEST');
    expect((await codeOf(job(a, events).rollback('nobody', 'alice')))?.code).toBe('ERR_NOT_FOUND');
    expect((await codeOf(job(a, events).refit('../etc', 'alice')))?.code).toBe('ERR_BAD_REQUEST');
  }, 60_000);

  it('skips an invalid value in the bucket (NATS is a boundary)', async () => {
    const kv = await nc.jetstream().views.kv('T_CAL_2', { history: 64 });
    await kv.put('acme', JSON.stringify({ tenant: 'acme', version: 1, entries: [{ detector: 'x', channel: 'wideband', a: -3, b: 0 }] }));
    await kv.put('evil', 'not json');
    const s = await node('T_CAL_2');
    expect(s.list()).toEqual([]);
    expect(s.calibrations()).toEqual([]);
  }, 30_000);
});
