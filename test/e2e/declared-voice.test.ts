/**
 * Declared synthetic voices, end to end with real parts: the running service (real SFU, real
 * analysis worker threads, the shipped speaker-embedding model, an embedded nats-server), its REST
 * routes, and real recordings from Debian (asterisk's "Allison" prompts: the archetypal IVR voice,
 * declared here; pocketsphinx's LibriVox reader: a caller who is not).
 *
 * An operator declares the IVR voice from two of its prompts; the IVR, speaking other prompts into a
 * call, gets the reason `declared-synthetic:<id>` on its verdict and a `declared` event on NATS; the
 * reader speaking in the same room does not. Bad registrations are refused with typed errors and
 * change nothing; removing the voice works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from '../helpers/service.js';
import { errorCode, restCall, type RestReply } from '../helpers/rest.js';
import { removeDir, testModelsDir } from '../helpers/models.js';
import { repoRoot } from '../../kernel/paths.js';
import { PacketSource } from '../../pipeline/testing/PacketSource.js';
import { encodeOpus, packetise } from '../../pipeline/testing/audioSupport.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';
import { loadSpeaker, missingRealSpeech, realSpeakerSources, sessionRecording } from '../../challenge-response/testing/realSpeech.js';
import type { DfdEvent } from '../../events/schema.js';
import { concat } from '../../challenge-response/testing/signals.js';
import { encodeWav } from '../../challenge-response/dsp/wav.js';
import type { Verdict } from '../../pipeline/verdict/ParticipantVerdict.js';
import type { Service } from '../../src/Service.js';

/** 16-bit PCM mono WAV of 16 kHz samples. */
const wav = (x: Float32Array): Buffer => encodeWav(x, 16000);

async function until(what: string, cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('declared synthetic voices (real service, real speaker model, real voices, NATS)', () => {
  let service: Service;
  let modelsDir: string;
  let dataDir: string;
  let base: string;
  let auth: Record<string, string>;
  const busEvents: DfdEvent[] = [];
  let ivrReference: Float32Array[];
  let ivrCall: Float32Array;
  let readerCall: Float32Array;

  const call = (method: string, p: string, body?: unknown): Promise<RestReply> => restCall(base, method, p, body, auth);
  const code = errorCode;

  beforeAll(async () => {
    const missing = missingRealSpeech();
    if (missing.length > 0) throw new Error(missing.join('; '));
    const [reader, allison] = realSpeakerSources.map((s) => loadSpeaker(s));
    ivrReference = [...allison!.baseline];
    ivrCall = concat(...allison!.source.responses.map((u) => sessionRecording(allison!.source, u)));
    readerCall = concat(...reader!.baseline, ...reader!.source.responses.map((u) => sessionRecording(reader!.source, u)));
    modelsDir = testModelsDir();
    fs.cpSync(path.join(repoRoot, 'detectors/models/speaker-embed'), path.join(modelsDir, 'speaker-embed'), { recursive: true });
    // Two voices an operator declared before an upgrade: one made by 1.0.0, whose profiles the shipped model's manifest
    // still matches (declared.profilesFrom), one by a version it does not list. Their profiles (all components
    // negative) can never match speech: embeddings are non-negative.
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-declared-'));
    const stored = (id: string, version: string): Record<string, unknown> => ({
      id, label: `before the upgrade (${version})`, createdBy: 'operator', createdAt: '2026-12-01T00:00:00.000Z', windows: 6, referenceSeconds: 8,
      model: { id: 'speaker-embed', version }, profile: new Array<number>(256).fill(-1 / 16),
    });
    fs.writeFileSync(path.join(dataDir, 'declared-voices.json'), JSON.stringify({ version: 1, voices: [stored('dv-000000000100', '1.0.0'), stored('dv-000000000090', '0.9.0')] }));
    service = await startTestService({ modelsDir, dataDir, faceAnalysis: false }, { events: true, analysis: true });
    base = `http://127.0.0.1:${service.port}`;
    const login = await call('POST', '/v1/auth/login', { username: 'operator', password: 'test-password' });
    auth = { authorization: `Bearer ${String(login.json['token'])}` };
    // Through NATS: the bus's own subscription to the subject `<prefix>.*.*.declared` (validated on the way in).
    service.bus!.subscribe({ type: 'declared' }, (e) => void busEvents.push(e));
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    removeDir(modelsDir);
    removeDir(dataDir);
  });

  it('refuses bad registrations with typed errors and registers nothing', async () => {
    expect(code((await call('POST', '/v1/declared-voices', { label: 'x' })).json)).toBe('ERR_BAD_REQUEST');
    expect(code((await call('POST', '/v1/declared-voices', { label: 'x', clips: ['not base64!'] })).json)).toBe('ERR_BAD_REQUEST');
    expect(code((await call('POST', '/v1/declared-voices', { label: 'x', clips: [Buffer.from('not a wav file').toString('base64')] })).json)).toBe('ERR_DECODE_FAILED');
    // One second of speech is not enough for a profile.
    expect(code((await call('POST', '/v1/declared-voices', { label: 'x', clips: [wav(ivrReference[0]!.subarray(0, 16000)).toString('base64')] })).json)).toBe('ERR_REFERENCE_TOO_SHORT');
    expect(code((await call('DELETE', '/v1/declared-voices/dv-000000000000')).json)).toBe('ERR_NOT_FOUND');
    expect(code((await call('DELETE', '/v1/declared-voices/..%2Fetc')).json)).toBe('ERR_BAD_REQUEST');
    // Nothing registered; the two stored voices are listed with whether the installed model matches them.
    expect((await call('GET', '/v1/declared-voices')).json['voices']).toEqual([
      expect.objectContaining({ id: 'dv-000000000100', model: { id: 'speaker-embed', version: '1.0.0' }, status: 'active' }),
      expect.objectContaining({ id: 'dv-000000000090', model: { id: 'speaker-embed', version: '0.9.0' }, status: 'other-version' }),
    ]);
    const anonymous = await fetch(`${base}/v1/declared-voices`);
    expect(anonymous.status).toBe(401);
  }, 120_000);

  it('the declared IVR voice gets the reason declared-synthetic and a declared event; another caller does not', async () => {
    const reg = await call('POST', '/v1/declared-voices', { label: 'Bank IVR (asterisk Allison)', clips: ivrReference.map((x) => wav(x).toString('base64')) });
    expect(reg.status).toBe(200);
    const id = String(reg.json['id']);
    expect(id).toMatch(/^dv-[0-9a-f]{12}$/);
    expect(reg.json).toMatchObject({ label: 'Bank IVR (asterisk Allison)', createdBy: 'operator', model: { id: 'speaker-embed' }, status: 'active' });
    expect(Number(reg.json['windows'])).toBeGreaterThanOrEqual(4);
    expect(((await call('GET', '/v1/declared-voices')).json['voices'] as unknown[]).length).toBe(3);

    const pipeline = service.pipeline!;
    const verdicts = new Map<string, Verdict[]>();
    pipeline.on('verdict', (v) => verdicts.set(v.peerId, [...(verdicts.get(v.peerId) ?? []), v]));
    let embeddings = 0;
    pipeline.inference.on('embedding', (e) => {
      if (e.stream.peerId === 'reader') embeddings++;
    });
    const source = (peerId: string): PacketSource =>
      new PacketSource({ id: `src-${peerId}`, roomId: 'declared', peerId, producerId: `p-${peerId}`, kind: 'audio', codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {} } });
    const ivr = source('ivr');
    const reader = source('reader');
    pipeline.addSource(ivr);
    pipeline.addSource(reader);
    await Promise.all([ivr.whenResumed(), reader.whenResumed()]);
    const rtp = (x: Float32Array): Buffer[] => packetise(encodeOpus(resampleClip(x, 16000, 48000)), { payloadType: 111 }).map((p) => p.bytes);
    await Promise.all([ivr.stream(rtp(ivrCall)), reader.stream(rtp(readerCall))]);

    const changes: unknown[] = [];
    pipeline.on('declared', (c) => changes.push(c));
    await until('the IVR matched', () => (verdicts.get('ivr') ?? []).some((v) => v.reason === `declared-synthetic:${id}`)).catch((e: unknown) => {
      throw new Error(`${String(e)}; declared changes ${JSON.stringify(changes)}; ivr reasons ${JSON.stringify((verdicts.get('ivr') ?? []).map((v) => [v.state, v.reason]))}; matched ${JSON.stringify(pipeline.participant('declared', 'ivr')?.declaredVoice)}`);
    });
    expect(pipeline.participant('declared', 'ivr')?.declaredVoice).toEqual({ id, label: 'Bank IVR (asterisk Allison)' });
    await until('a declared event on NATS', () => busEvents.some((e) => e.type === 'declared' && e.peerId === 'ivr'));
    const ev = busEvents.find((e) => e.type === 'declared' && e.peerId === 'ivr')!;
    expect(ev.type === 'declared' && ev.payload).toMatchObject({ voiceId: id, label: 'Bank IVR (asterisk Allison)', matched: true });

    // The reader's speech, fully embedded, never matched the IVR.
    const readerWindows = Math.floor(readerCall.length / 16000) - 3;
    await until('the reader fully embedded', () => embeddings >= readerWindows);
    expect(pipeline.participant('declared', 'reader')?.declaredVoice).toBeUndefined();
    expect((verdicts.get('reader') ?? []).some((v) => (v.reason ?? '').startsWith('declared-synthetic'))).toBe(false);
    expect(busEvents.some((e) => e.peerId === 'reader')).toBe(false);
    process.stdout.write(`${JSON.stringify({ test: 'declared-voice-e2e', referenceWindows: reg.json['windows'], readerEmbeddings: embeddings })}\n`);

    // Removed: listed no more.
    expect((await call('DELETE', `/v1/declared-voices/${id}`)).status).toBe(200);
    expect(((await call('GET', '/v1/declared-voices')).json['voices'] as { id: string }[]).map((v) => v.id)).toEqual(['dv-000000000100', 'dv-000000000090']);
    ivr.close();
    reader.close();
  }, 240_000);
});
