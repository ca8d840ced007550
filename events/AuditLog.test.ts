import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, GENESIS_HASH, hashRecord, verifyBundle, type AuditBundle } from './AuditLog.js';
import { EventBus } from './EventBus.js';
import { makeEvent, type DfdEvent } from './schema.js';

const base = (peerId: string) => ({ roomId: 'auditroom', peerId, displayName: peerId.toUpperCase(), models: [{ id: 'meso4', version: '2' }] });
const verdict = (peerId: string, pFake: number): DfdEvent =>
  makeEvent('verdict', base(peerId), {
    state: pFake > 0.5 ? 'suspicious' : 'likely-genuine',
    pFake,
    confidence: 0.9,
    evidence: { speechSeconds: 5, faceFrames: 30 },
    quality: { frameRate: 15 },
    dropped: {},
  });

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('AuditLog hash chain (in memory)', () => {
  it('links records of the same call and starts a separate chain per call', () => {
    const a = new AuditLog();
    const callA = a.beginCall('auditroom', 'call-a');
    const r0 = a.seal(verdict('p1', 0.1));
    const r1 = a.seal(verdict('p2', 0.2));
    const other = a.seal({ ...verdict('p1', 0.3), roomId: 'elsewhere' });
    expect(r0).toMatchObject({ callId: callA, audit: { index: 0, prevHash: GENESIS_HASH } });
    expect(r1.audit).toMatchObject({ index: 1, prevHash: r0.audit?.hash });
    expect(other.audit).toMatchObject({ index: 0, prevHash: GENESIS_HASH });
    expect(other.callId).not.toBe(callA);
    expect(hashRecord(r1)).toBe(r1.audit?.hash);
    expect(a.headHash('auditroom', callA)).toBe(r1.audit?.hash);
    a.endCall('auditroom');
    const next = a.seal(verdict('p1', 0.1));
    expect(next.callId).not.toBe(callA);
    expect(next.audit).toMatchObject({ index: 0, prevHash: GENESIS_HASH });
    // A late record of the ended call still continues its chain.
    expect(a.seal({ ...verdict('p2', 0.1), callId: callA }).audit).toMatchObject({ index: 2, prevHash: r1.audit?.hash });
  });

  it('takes back records the store refused, so that what is stored stays one chain (unseal)', () => {
    const a = new AuditLog();
    const call = a.beginCall('auditroom', 'call-u');
    const stored = [a.seal(verdict('p1', 0.1)), a.seal(verdict('p1', 0.2))];
    // Two records in flight when the store fills up; both are refused, in order.
    const refused = [a.seal(verdict('p1', 0.3)), a.seal(verdict('p1', 0.4))];
    for (const r of refused) a.unseal(r);
    expect(a.head('auditroom', call)).toEqual({ index: 1, hash: stored[1]?.audit?.hash });
    stored.push(a.seal(verdict('p1', 0.5)));
    expect(stored[2]?.audit).toMatchObject({ index: 2, prevHash: stored[1]?.audit?.hash });
    const bundle = { format: 'dfd-audit-bundle', version: 1, call: { roomId: 'auditroom', callId: call }, records: stored, headHash: stored[2]?.audit?.hash };
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 3 });
    // Nothing stored yet: the next record is the first again, and no head is reported meanwhile.
    const b = new AuditLog();
    const c2 = b.beginCall('auditroom', 'call-v');
    b.unseal(b.seal(verdict('p1', 0.1)));
    expect(b.head('auditroom', c2)).toBeUndefined();
    expect(b.headHash('auditroom', c2)).toBeUndefined();
    expect(b.seal(verdict('p1', 0.2)).audit).toMatchObject({ index: 0, prevHash: GENESIS_HASH });
    // A record stored after an earlier one was refused (space came back in between): the chain goes on from it.
    const c = new AuditLog();
    const c3 = c.beginCall('auditroom', 'call-w');
    const [x0, x1] = [c.seal(verdict('p1', 0.1)), c.seal(verdict('p1', 0.2))];
    c.unseal(x0);
    expect(c.restoreIfBehind(x1)).toBe(true);
    expect(c.head('auditroom', c3)).toEqual({ index: 1, hash: x1.audit?.hash });
    expect(c.restoreIfBehind(x1)).toBe(false);
  });
});

describe('AuditLog on JetStream', () => {
  let bus: EventBus;
  let bundle: AuditBundle;
  let callA: string;
  beforeAll(async () => {
    bus = await EventBus.connect({});
    callA = bus.audit.beginCall('auditroom', 'call-a');
    for (let i = 0; i < 12; i++) bus.publish(verdict(i % 2 ? 'bob' : 'alice', i / 12));
    // A decision that names its call explicitly joins the same chain.
    bus.publish(makeEvent('decision', { ...base('bob'), callId: callA }, { decision: 'confirm', tagState: 'suspicious', operator: 'op1' }));
    // No flush needed: the call is fixed at publish time, the chain link at send time.
    bus.audit.beginCall('auditroom', 'call-b');
    for (let i = 0; i < 3; i++) bus.publish(verdict('alice', 0.2));
    expect(await bus.flush()).toBe(true);
    bundle = await bus.exportBundle('auditroom', callA);
  });
  afterAll(async () => {
    await bus.close();
  });

  it('exports a call that verifies, ending at the live chain head', async () => {
    expect(bundle.call).toMatchObject({ roomId: 'auditroom', callId: 'call-a', records: 13 });
    expect(bundle.records.map((r) => r.audit?.index)).toEqual([...Array(13).keys()]);
    expect(bundle.headHash).toBe(bus.audit.headHash('auditroom', callA));
    expect(verifyBundle(clone(bundle))).toEqual({ ok: true, records: 13, headHash: bundle.headHash });
    const latest = await bus.exportBundle('auditroom');
    expect(latest.call).toMatchObject({ callId: 'call-b', records: 3 });
    expect(verifyBundle(latest).ok).toBe(true);
    // Nothing but the event fields: no media, no buffers.
    for (const r of bundle.records) expect(Object.keys(r).sort()).toEqual(['audit', 'callId', 'displayName', 'id', 'models', 'payload', 'peerId', 'roomId', 'schemaVersion', 'ts', 'type']);
  });

  it('detects a changed record at that record', () => {
    const t = clone(bundle);
    (t.records[3]!.payload as { pFake: number }).pFake = 0.01;
    expect(verifyBundle(t)).toEqual({ ok: false, brokenAt: 3, reason: 'hash does not match the record content' });
  });

  it('detects a changed record whose hash was recomputed, at the next record', () => {
    const t = clone(bundle);
    const r = t.records[5]!;
    (r.payload as { pFake: number }).pFake = 0.99;
    r.audit!.hash = hashRecord(r);
    expect(verifyBundle(t)).toMatchObject({ ok: false, brokenAt: 6, reason: 'prevHash does not match the previous record' });
  });

  it('detects removed, reordered, foreign and truncated records', () => {
    const removed = clone(bundle);
    removed.records.splice(2, 1);
    expect(verifyBundle(removed)).toMatchObject({ ok: false, brokenAt: 2, reason: 'record missing before this one' });

    const swapped = clone(bundle);
    [swapped.records[7], swapped.records[8]] = [swapped.records[8]!, swapped.records[7]!];
    expect(verifyBundle(swapped)).toMatchObject({ ok: false, brokenAt: 7 });

    const foreign = clone(bundle);
    foreign.records[4]!.callId = 'call-b';
    expect(verifyBundle(foreign)).toMatchObject({ ok: false, brokenAt: 4, reason: 'record belongs to another call' });

    const truncated = clone(bundle);
    truncated.records.pop();
    expect(verifyBundle(truncated)).toMatchObject({ ok: false, brokenAt: 12, reason: 'headHash does not match the last record' });

    expect(verifyBundle({ hello: 'world' })).toMatchObject({ ok: false, brokenAt: 0 });
  });

  it('continues a call after a restart of the publishing process (resumeCall)', async () => {
    const url = bus.server?.url ?? '';
    const second = await EventBus.connect({ servers: [url], ...bus.server?.serviceAuth });
    try {
      expect(await second.resumeCall('auditroom', callA)).toBe(13);
      for (let i = 0; i < 3; i++) second.publish(verdict('alice', 0.4));
      expect(await second.flush()).toBe(true);
      const resumed = await second.exportBundle('auditroom', callA);
      expect(verifyBundle(resumed)).toMatchObject({ ok: true, records: 16 });
      expect(resumed.records[12]?.id).toBe(bundle.records[12]?.id);
    } finally {
      await second.close();
    }
  });
});
