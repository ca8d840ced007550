/**
 * Audit anchors and call summaries on a real nats-server (embedded, JetStream): anchors are
 * written every `anchorEvery` records and at call end, signed, and match the exported chain;
 * an evidence bundle exported from the bus verifies offline; the call store round-trips and
 * skips invalid values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from './EventBus.js';
import { EvidenceKey } from './EvidenceKey.js';
import { verifyAnchor } from './auditAnchor.js';
import { CallStore } from './CallStore.js';
import { makeEvent, type DfdEvent } from './schema.js';
import { EvidenceExporter } from '../evidence/EvidenceExporter.js';
import { verifyEvidence } from '../evidence/verifyEvidence.js';
import { sampleModelsDir } from '../evidence/testing/sampleEvidence.js';

const ROOM = 'anchor-room';
const score = (i: number): DfdEvent =>
  makeEvent('score', { roomId: ROOM, peerId: 'p1', displayName: 'P1', models: [{ id: 'voice-antispoof', version: '0.2.0' }] }, { detector: 'voice-antispoof', pFake: 0.2, evidence: 2, windowSeq: i, queueMs: 1, inferenceMs: 1 });

describe('audit anchors and call summaries on JetStream', () => {
  let bus: EventBus;
  const key = EvidenceKey.loadOrCreate();

  beforeAll(async () => {
    bus = await EventBus.connect({ anchorKey: key, anchorEvery: 5 });
  });
  afterAll(async () => {
    await bus?.close();
  });

  it('writes signed anchors every 5 records and at call end, matching the exported chain', async () => {
    bus.audit.beginCall(ROOM, 'call-1');
    for (let i = 0; i < 12; i++) bus.publish(score(i));
    expect(await bus.flush()).toBe(true);
    const periodic = await bus.readAnchors(ROOM, 'call-1');
    expect(periodic.map((a) => [a.index, a.reason])).toEqual([
      [4, 'periodic'],
      [9, 'periodic'],
    ]);
    const end = await bus.anchorCall(ROOM, 'call-1');
    expect(end).toMatchObject({ index: 11, reason: 'call-end', keyFingerprint: key.fingerprint });
    const anchors = await bus.readAnchors(ROOM, 'call-1');
    expect(anchors.map((a) => a.index)).toEqual([4, 9, 11]);
    const records = (await bus.exportBundle(ROOM, 'call-1')).records;
    for (const a of anchors) {
      expect(verifyAnchor(a, key.publicKeyPem)).toBe(true);
      expect(a.hash).toBe(records[a.index]?.audit?.hash);
    }
    expect(verifyAnchor({ ...anchors[0]!, index: 5 }, key.publicKeyPem)).toBe(false);
    expect(verifyAnchor(anchors[0]!, EvidenceKey.loadOrCreate().publicKeyPem)).toBe(false);
  });

  it('exports an evidence bundle from the bus that verifies offline, anchored up to its last event', async () => {
    const exporter = new EvidenceExporter({
      readAudit: async (r, c) => {
        await bus.flush();
        return bus.exportBundle(r, c);
      },
      readAnchors: (r, c) => bus.readAnchors(r, c),
      key,
      modelsDir: sampleModelsDir,
      modelStatus: () => new Map([['voice-antispoof', true]]),
      settings: () => ({ note: 'test' }),
    });
    const file = await exporter.export({ roomId: ROOM, callId: 'call-1', kind: 'room', startedAt: null, endedAt: null, participants: [] });
    expect(file.fileName).toBe(`evidence-${ROOM}-call-1.json`);
    expect(file.bundle.models.find((m) => m.id === 'voice-antispoof')).toMatchObject({ registryStatus: 'available', versionsInCall: ['0.2.0'] });
    const r = verifyEvidence(file.text, { expectedKeyFingerprint: key.fingerprint });
    expect(r).toMatchObject({ ok: true, summary: { events: 12, anchors: { verified: 3, lastAnchoredIndex: 11, callEndCoversHead: true } } });
  });

  it('keeps call summaries in a bucket and skips stored values that do not validate', async () => {
    type S = { callId: string; n: number };
    const validate = (v: unknown): S | undefined => (typeof v === 'object' && v !== null && typeof (v as S).callId === 'string' && typeof (v as S).n === 'number' ? (v as S) : undefined);
    const store = await CallStore.open<S>(bus.connection, { bucket: 'TEST_CALLS', validate });
    await store.put({ callId: 'c-1', n: 1 });
    await store.put({ callId: 'c-2', n: 2 });
    await store.put({ callId: 'c-1', n: 3 });
    await bus.connection.jetstream().views.kv('TEST_CALLS').then((kv) => kv.put('c-bad', '{"callId": 5}'));
    expect(await store.get('c-1')).toEqual({ callId: 'c-1', n: 3 });
    expect(await store.get('c-bad')).toBeUndefined();
    expect(await store.get('c-none')).toBeUndefined();
    expect((await store.loadAll()).sort((a, b) => a.n - b.n)).toEqual([
      { callId: 'c-2', n: 2 },
      { callId: 'c-1', n: 3 },
    ]);
    await store.close();
  });
});
