/**
 * A real evidence bundle built in memory for tests: events sealed by the real AuditLog, anchors
 * and seal signed by a real Ed25519 key, manifests of the shipped models, the default settings.
 * No NATS: the chain code is the same one the service runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLog, type AuditBundle } from '../../events/AuditLog.js';
import { signAnchor, type AuditAnchor } from '../../events/auditAnchor.js';
import { EvidenceKey } from '../../events/EvidenceKey.js';
import { makeEvent, type DfdEvent } from '../../events/schema.js';
import { loadConfig } from '../../src/config.js';
import { buildEvidence } from '../buildEvidence.js';
import { renderEvidence, type EvidenceBundle } from '../EvidenceBundle.js';
import { modelInventory } from '../modelInventory.js';
import { verdictSettings } from '../verdictSettings.js';

export const sampleModelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../detectors/models');

/** The committed model's manifest fields the evidence bundle lists. */
export function shippedManifest(id: string): { version: string; verdict?: { weight: number } } {
  return JSON.parse(fs.readFileSync(path.join(sampleModelsDir, id, 'manifest.json'), 'utf8')) as { version: string; verdict?: { weight: number } };
}

/** The committed model's version, so the sample call used exactly the models the bundle lists. */
function shippedVersion(id: string): string {
  return shippedManifest(id).version;
}

export interface SampleEvidenceOptions {
  roomId: string;
  callId: string;
  /** Score/verdict rounds; each adds 3 events. */
  rounds: number;
  anchorEvery: number;
  key: EvidenceKey | undefined;
  /** Changes this event's pFake after the anchors were written and re-chains (an insider rewrite). */
  rewriteEvent: number | undefined;
}

export interface SampleEvidence {
  bundle: EvidenceBundle;
  text: string;
  key: EvidenceKey;
  events: DfdEvent[];
  anchors: AuditAnchor[];
}

export function sampleEvents(roomId: string, callId: string, rounds: number): DfdEvent[] {
  const t0 = Date.parse('2026-03-01T10:00:00.000Z');
  const at = (s: number) => new Date(t0 + s * 1000);
  const zoe = { roomId, peerId: 'p-zoe', displayName: 'Zoë Ångström', callId, models: [{ id: 'voice-antispoof', version: shippedVersion('voice-antispoof') }] };
  const bob = { roomId, peerId: 'p-bob', displayName: 'Bob', callId, models: [{ id: 'face-forgery', version: shippedVersion('face-forgery') }] };
  const out: DfdEvent[] = [];
  for (let i = 0; i < rounds; i++) {
    out.push(makeEvent('score', zoe, { detector: 'voice-antispoof', pFake: 0.1 + (i % 5) * 0.01, evidence: 2, windowSeq: i, queueMs: 3, inferenceMs: 1.5, weight: 0.25 }, at(i)));
    out.push(makeEvent('score', bob, { detector: 'face-forgery', pFake: 0.55 + (i % 3) * 0.1, evidence: 1, windowSeq: i, queueMs: 4, inferenceMs: 12 }, at(i)));
    out.push(
      makeEvent(
        'verdict',
        bob,
        { state: i < 3 ? 'collecting' : 'suspicious', pFake: 0.6, confidence: Math.min(0.9, 0.1 * i), evidence: { speechSeconds: i, faceFrames: 5 * i }, quality: { packetLoss: 0, frameRate: 5 }, dropped: {} },
        at(i + 0.5),
      ),
    );
  }
  out.push(makeEvent('challenge', bob, { challengeId: 'ch-1', challengeType: 'head-turn', modality: 'video', phase: 'issued', promptText: 'Turn your head to your left, slowly.', side: 'left', trigger: 'suspicious' }, at(rounds)));
  out.push(makeEvent('challenge', bob, { challengeId: 'ch-1', challengeType: 'head-turn', modality: 'video', phase: 'outcome', outcome: 'failed', reason: 'no turn', measurements: { maxTurnDeg: 3.5 } }, at(rounds + 6)));
  out.push(makeEvent('decision', bob, { decision: 'confirm', tagState: 'deepfake-likely', operator: 'operator', note: 'asked a question only Bob knows — "wrong answer"' }, at(rounds + 9)));
  return out;
}

function chain(roomId: string, callId: string, events: DfdEvent[]): DfdEvent[] {
  const log = new AuditLog();
  log.beginCall(roomId, callId);
  return events.map((e) => log.seal(e));
}

export function sampleEvidence(options: Partial<SampleEvidenceOptions> = {}): SampleEvidence {
  const o: SampleEvidenceOptions = { roomId: 'boardroom', callId: 'c-sample-0001', rounds: 6, anchorEvery: 10, key: undefined, rewriteEvent: undefined, ...options };
  const key = o.key ?? EvidenceKey.loadOrCreate();
  const plain = sampleEvents(o.roomId, o.callId, o.rounds);
  const sealed = chain(o.roomId, o.callId, plain);
  const anchors: AuditAnchor[] = [];
  for (const r of sealed) {
    const link = r.audit!;
    if ((link.index + 1) % o.anchorEvery === 0) anchors.push(signAnchor(key, { roomId: o.roomId, callId: o.callId, index: link.index, hash: link.hash, reason: 'periodic' }));
  }
  const last = sealed.at(-1)!.audit!;
  anchors.push(signAnchor(key, { roomId: o.roomId, callId: o.callId, index: last.index, hash: last.hash, reason: 'call-end' }));
  let events = sealed;
  if (o.rewriteEvent !== undefined) {
    const changed = plain.map((e, i) => (i === o.rewriteEvent && e.type === 'score' ? { ...e, payload: { ...e.payload, pFake: 0.01 } } : e));
    events = chain(o.roomId, o.callId, changed);
  }
  const audit: AuditBundle = {
    format: 'dfd-audit-bundle',
    version: 1,
    call: { roomId: o.roomId, callId: o.callId, records: events.length, firstTs: events[0]?.ts ?? null, lastTs: events.at(-1)?.ts ?? null },
    records: events,
    headHash: events.at(-1)!.audit!.hash,
    exportedAt: new Date().toISOString(),
  };
  const config = loadConfig({});
  const bundle = buildEvidence({
    audit,
    anchors,
    call: {
      roomId: o.roomId,
      callId: o.callId,
      kind: 'room',
      startedAt: '2026-03-01T09:59:58.000Z',
      endedAt: '2026-03-01T10:01:00.000Z',
      participants: [
        { peerId: 'p-zoe', displayName: 'Zoë Ångström', joinedAt: '2026-03-01T09:59:58.000Z', leftAt: '2026-03-01T10:01:00.000Z', finalState: 'collecting', finalPFake: null, finalConfidence: null },
        { peerId: 'p-bob', displayName: 'Bob', joinedAt: '2026-03-01T09:59:59.000Z', leftAt: '2026-03-01T10:01:00.000Z', finalState: 'suspicious', finalPFake: 0.6, finalConfidence: 0.5 },
      ],
    },
    models: modelInventory({ modelsDir: sampleModelsDir, status: new Map() }, events),
    settings: verdictSettings({ config: { ...config, analysis: config.analysis !== 'off' } }),
    key,
  });
  return { bundle, text: renderEvidence(bundle), key, events, anchors };
}
