/**
 * Per-tenant calibration, round trip through the running service (real HTTP and Twilio Media
 * Streams endpoints, mediasoup worker, media and inference worker threads, embedded nats-server
 * with its JetStream audit trail and KV bucket). The detector is a small test graph, not a
 * deepfake detector: it reads the high-frequency share of the waveform (test-voice's mean
 * |x[t] - x[t-1]| alone, `HF_WEIGHTS`), which a source-filter vocoder smooths, so its scores
 * separate the two kinds of call below while its shipped calibration reads the genuine caller as
 * borderline (pFake about 0.55): the situation a tenant's refit is for. What is checked is the
 * loop, not a detector's accuracy.
 *
 *   1. Tenant acme's contact center takes ten phone calls (ingest key of tenant acme): five of a
 *      real LibriVox reader, a genuine caller, and five vocoder clones of the same recordings
 *      (LPC copy-synthesis, challenge-response/testing/clones.ts), which acme's operators confirm as
 *      fakes. Every event carries tenant acme.
 *   2. An operator decides on each call as its verdict stands (confirm or dismiss), through REST;
 *      each decision event carries the call-level score it labels.
 *   3. Refit (REST): the job reads the decisions from the audit trail, fits within the guardrails,
 *      checks held-out Cllr and stores version 1 in JetStream KV.
 *   4. The next acme call is scored with version 1 (score events: tenantCalibration, pFake = the
 *      map of the shipped pFake); a concurrent call of tenant globex is not.
 *   5. Rollback (REST) while that call goes on: its next windows are scored with the shipped
 *      calibration again (applied live, no new call needed).
 * Also: a tenant with too few decisions is refused with the evidence and gets nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from '../helpers/service.js';
import { restCall, type RestReply } from '../helpers/rest.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDir } from '../helpers/models.js';
import { sha256Hex, voiceManifest, voiceModelBytes, writeModel } from '../../detectors/testing/testModels.js';
import { copySynthesis } from '../../challenge-response/testing/clones.js';
import { untilValue } from '../helpers/until.js';
import type { Service } from '../../src/Service.js';
import type { DecisionEvent, DfdEvent, ScoreEvent } from '../../events/schema.js';
import { TwilioTestCaller } from '../../ingest/testing/TwilioTestCaller.js';
import { loadSpeaker, missingRealSpeech, realSpeakerSources, sessionRecording } from '../../challenge-response/testing/realSpeech.js';
import { concat } from '../../challenge-response/testing/signals.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';
import { muLawEncodeFloat } from '../../pipeline/audio/G711.js';
import { applyTenantCalibration } from '../../pipeline/verdict/TenantCalibration.js';

const ACME_KEY = 'acme-calibration-key-0123';
const GLOBEX_KEY = 'globex-calibration-key-456';
const until = untilValue;

/** test-voice reading only its high-frequency feature: logit = -1500 * mean |x[t] - x[t-1]| + 10.7 (see the header). */
const HF_WEIGHTS = [0, 0, -1500] as const;
const HF_BIAS = 10.7;

/** The reader's recordings back to back (16 kHz), starting at utterance `from`. */
function reader(from: number): Float32Array {
  const s = loadSpeaker(realSpeakerSources[0]!);
  const utterances = [...s.source.baseline, ...s.source.responses];
  return concat(...utterances.map((_, i) => sessionRecording(s.source, utterances[(i + from) % utterances.length]!)));
}

/** 16 kHz speech as a phone line carries it: 8 kHz mu-law. */
const phone = (x: Float32Array): Uint8Array => muLawEncodeFloat(resampleClip(x, 16000, 8000));

describe('per-tenant calibration round trip (real service, Twilio ingest, JetStream audit and KV)', () => {
  let service: Service;
  let modelsDir: string;
  let base: string;
  let auth: Record<string, string>;
  const events: DfdEvent[] = [];
  const callers: TwilioTestCaller[] = [];

  const call = (method: string, p: string, body?: unknown): Promise<RestReply> => restCall(base, method, p, body, auth);
  const scores = (roomId: string): ScoreEvent[] => events.filter((e): e is ScoreEvent => e.type === 'score' && e.roomId === roomId && e.peerId === 'caller');

  /** A phone call of `tenant` speaking `voice`: its room id, once the service has it. */
  const phoneCall = async (key: string, voice: Uint8Array): Promise<{ caller: TwilioTestCaller; roomId: string }> => {
    const caller = await TwilioTestCaller.connect(`ws://127.0.0.1:${service.port}/v1/ingest/twilio`);
    callers.push(caller);
    caller.sendConnectedAndStart({ key });
    caller.startStreaming(voice);
    const roomId = `twilio-${caller.ids.callSid}`;
    await until('the call in its room', () => service.rooms.get(roomId)?.peers.get('caller'), 15_000);
    return { caller, roomId };
  };

  beforeAll(async () => {
    const missing = missingRealSpeech();
    if (missing.length > 0) throw new Error(missing.join('; '));
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-models-'));
    const bytes = voiceModelBytes(HF_WEIGHTS, HF_BIAS);
    writeModel(modelsDir, voiceManifest(sha256Hex(bytes), 'test-voice-hf'), bytes);
    service = await startTestService(
      { modelsDir, ingestKeys: [`acme=${ACME_KEY}`, `globex=${GLOBEX_KEY}`], challenges: false, calibrationMinPerClass: 3 },
      { events: true, analysis: true },
    );
    base = `http://127.0.0.1:${service.port}`;
    const login = await call('POST', '/v1/auth/login', { username: 'operator', password: 'test-password' });
    auth = { authorization: `Bearer ${String(login.json['token'])}` };
    service.bus!.subscribe({}, (e) => void events.push(e));
  }, 120_000);

  afterAll(async () => {
    for (const c of callers) c.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('decisions in, refit, the next call scored with the new calibration, rollback applied live', async () => {
    // 1-2. Ten acme calls; the operator decides on each once its verdict is more than `collecting` and 15 windows are scored.
    const plan = [0, 1, 2, 3, 4].flatMap((i) => [
      { cloned: true, voice: phone(copySynthesis(reader(i), i + 1)) },
      { cloned: false, voice: phone(reader(i)) },
    ]);
    const decided: { roomId: string; cloned: boolean; event: DecisionEvent }[] = [];
    await Promise.all(
      plan.map(async (p) => {
        const { caller, roomId } = await phoneCall(ACME_KEY, p.voice);
        const state = await until(
          'a judged verdict and 15 scored windows',
          () => {
            const v = service.registry.participant(roomId, 'caller')?.verdict;
            return v && v.state !== 'collecting' && scores(roomId).length >= 15 ? v.state : undefined;
          },
          120_000,
        );
        const alarm = state === 'suspicious' || state === 'deepfake-likely';
        // A clone the verdict flagged is confirmed; a genuine caller flagged is dismissed; and the other way round.
        const decision = p.cloned === alarm ? 'confirm' : 'dismiss';
        const r = await call('POST', `/v1/rooms/${roomId}/participants/caller/decision`, { decision });
        expect(r.status).toBe(200);
        decided.push({ roomId, cloned: p.cloned, event: r.json as unknown as DecisionEvent });
        caller.close();
      }),
    );
    for (const d of decided) {
      expect(d.event.tenant).toBe('acme');
      const cs = d.event.payload.callScores ?? [];
      expect(cs.length).toBeGreaterThan(0);
      expect(cs.every((c) => c.channel === 'telephone' && c.windows >= 15 && c.evidence > 2)).toBe(true);
    }
    // Every event of these calls names the tenant.
    const ofAcme = events.filter((e) => decided.some((d) => d.roomId === e.roomId));
    expect(ofAcme.length).toBeGreaterThan(50);
    expect(ofAcme.every((e) => e.tenant === 'acme')).toBe(true);

    // 3. Refit from the audit trail.
    const refit = await call('POST', '/v1/calibration/acme/refit', {});
    const decidedScores = decided.map((d) => ({ cloned: d.cloned, tagState: d.event.payload.tagState, z: d.event.payload.callScores?.[0]?.logOdds, windows: d.event.payload.callScores?.[0]?.windows }));
    process.stdout.write(`${JSON.stringify({ test: 'tenant-calibration-refit', decided: decidedScores, status: refit.status, body: refit.json })}\n`);
    expect(refit.status).toBe(200);
    expect(refit.json).toMatchObject({ tenant: 'acme', version: 1, action: 'refit', createdBy: 'operator', evidence: { labelled: { fake: 5, genuine: 5 }, unlabelled: 0 } });
    const entry = (refit.json['entries'] as { detector: string; channel: string; a: number; b: number }[])[0]!;
    expect(entry.channel).toBe('telephone');
    const group = (refit.json['evidence'] as { groups: { status: string; cllr: { shipped: number; heldOut: number } }[] }).groups.find((g) => g.status === 'applied')!;
    expect(group.cllr.heldOut).toBeLessThan(group.cllr.shipped - 0.02);
    expect(group.cllr.heldOut).toBeLessThan(0.98);
    expect((await call('GET', '/v1/calibration')).json['tenants']).toMatchObject([{ tenant: 'acme', version: 1 }]);

    // 4. The next acme call is scored with version 1; a globex call at the same time is not.
    const next = await phoneCall(ACME_KEY, phone(reader(2)));
    const other = await phoneCall(GLOBEX_KEY, phone(reader(3)));
    const calibrated = await until('a score of the next acme call with version 1', () => scores(next.roomId).find((s) => s.payload.detector === entry.detector && s.payload.tenantCalibration?.version === 1), 60_000);
    const { shippedPFake } = calibrated.payload.tenantCalibration!;
    expect(calibrated.payload.pFake).toBeCloseTo(applyTenantCalibration(shippedPFake, entry), 9);
    await until('three scores of the globex call', () => (scores(other.roomId).length >= 3 ? true : undefined), 60_000);
    expect(scores(other.roomId).every((s) => s.tenant === 'globex' && s.payload.tenantCalibration === undefined)).toBe(true);

    // 5. Rollback to the shipped calibration while the acme call goes on: its next windows use the shipped one.
    const rollback = await call('POST', '/v1/calibration/acme/rollback', {});
    expect(rollback.json).toMatchObject({ tenant: 'acme', version: 2, action: 'rollback', restores: 0, entries: [] });
    const afterRollback = scores(next.roomId).length;
    const shipped = await until('a score of the same call after the rollback, shipped calibration', () => scores(next.roomId).slice(afterRollback).find((s) => s.payload.detector === entry.detector && s.payload.tenantCalibration === undefined), 60_000);
    expect(shipped.tenant).toBe('acme');
    const history = await call('GET', '/v1/calibration/acme');
    expect((history.json['history'] as { version: number; action: string }[]).map((h) => [h.version, h.action])).toEqual([
      [2, 'rollback'],
      [1, 'refit'],
    ]);
    next.caller.close();
    other.caller.close();
  }, 300_000);

  it('a tenant with too few decisions is refused with the evidence; bad tenants and anonymous callers are refused', async () => {
    const refused = await call('POST', '/v1/calibration/globex/refit', {});
    expect(refused.status).toBe(422);
    expect(refused.json['error']).toMatchObject({ code: 'ERR_CALIBRATION_REJECTED', details: { tenant: 'globex' } });
    expect((await call('GET', '/v1/calibration/globex')).json).toMatchObject({ tenant: 'globex', current: null, history: [] });
    expect((await call('POST', '/v1/calibration/bad.tenant/refit', {})).status).toBe(400);
    expect((await call('POST', '/v1/calibration/acme/rollback', { toVersion: -1 })).status).toBe(400);
    expect((await fetch(`${base}/v1/calibration`)).status).toBe(401);
  }, 60_000);
});
