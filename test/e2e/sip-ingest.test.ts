/**
 * End to end: a real SIP phone (Debian's baresip) calls the service's SIP server with digest
 * credentials, speaks real speech (a LibriVox reader, 8 kHz WAV made by sox) over RTP/PCMU, and
 * records what it hears. Checked: the call reaches a verdict other than `collecting` on NATS
 * with `phone.platform: "sip"`; a challenge prompt goes back to the phone over RTP and is in
 * the audio baresip decoded (not silence); the phone's BYE ends the call and its room. The voice
 * model carries a phone-leg weight of its own (`verdict.weightTelephone`): the PCMU leg's score
 * events carry it, the Opus and G.722 legs' the wideband one.
 * Detectors are the small test graphs (plumbing, not accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService } from '../helpers/service.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import { untilValue } from '../helpers/until.js';
import { startBaresip, type BaresipPhone } from '../helpers/baresip.js';
import type { Service } from '../../src/Service.js';
import type { ChallengeEvent, DfdEvent } from '../../events/schema.js';
import { writePhoneSpeechWav } from '../../ingest/testing/phoneSpeech.js';

const KEY = 'acme-sip-key-0123456789';
const WIDEBAND_WEIGHT = 1;
const PHONE_WEIGHT = 0.5;

/** The weights on the voice model's score events of a room, and the channels they came through. */
function scoreWeights(events: readonly DfdEvent[], roomId: string): { weights: (number | undefined)[]; channels: (string | undefined)[] } {
  const scores = events.filter((e) => e.type === 'score' && e.roomId === roomId && e.payload.detector === 'test-voice');
  return {
    weights: [...new Set(scores.map((e) => (e.type === 'score' ? e.payload.weight : undefined)))],
    channels: [...new Set(scores.map((e) => (e.type === 'score' ? e.payload.channel : undefined)))],
  };
}

/** Peak absolute sample of a 16-bit PCM WAV (data after the 44-byte header). */
function peak(file: string): number {
  const b = fs.readFileSync(file);
  let m = 0;
  for (let i = 44; i + 1 < b.length; i += 2) m = Math.max(m, Math.abs(b.readInt16LE(i)));
  return m;
}

describe('SIP ingest (real baresip phone, real service, real NATS, real speech)', () => {
  let service: Service;
  let modelsDir: string;
  let tmp: string;
  let wav: string;
  let wav48: string;
  let wav16: string;
  const events: DfdEvent[] = [];
  const phones: BaresipPhone[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-sip-e2e-'));
    wav = path.join(tmp, 'speech8k.wav');
    // About 40 s of real speech (the three clips twice), 8 kHz mono 16-bit: what the phone says.
    writePhoneSpeechWav(wav, 8000, 2);
    wav16 = path.join(tmp, 'speech16k.wav');
    writePhoneSpeechWav(wav16, 16000, 2);
    wav48 = path.join(tmp, 'speech48k.wav');
    writePhoneSpeechWav(wav48, 48000, 2);
    modelsDir = testModelsDir();
    // a weight per channel family, as choose_weight.py --phone-pair writes it
    const manifestPath = path.join(modelsDir, 'test-voice', 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(manifestPath, JSON.stringify({ ...manifest, verdict: { weight: WIDEBAND_WEIGHT, weightTelephone: PHONE_WEIGHT, basis: 'sip-ingest e2e: one weight per channel family' } }));
    service = await startTestService({ modelsDir, ingestKeys: [`acme=${KEY}`], sipHost: '127.0.0.1', sipRtpMinPort: 32000, sipRtpMaxPort: 32999 }, { events: true, analysis: true });
    service.bus!.subscribe({}, (e) => {
      events.push(e);
    });
  });

  afterAll(async () => {
    for (const p of phones) await p.stop();
    await service?.close();
    removeDir(modelsDir);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    for (const p of phones) fs.rmSync(p.dir, { recursive: true, force: true });
  });

  it('a phone call with real speech reaches a verdict on NATS, hears the challenge prompt over RTP, and its BYE ends the call', async () => {
    const sip = service.sip!;
    expect(sip.port).toBeGreaterThan(0);
    const phone = startBaresip({ target: `sip:screen@127.0.0.1:${sip.port}`, user: 'acme', password: KEY, wav });
    phones.push(phone);
    const call = await untilValue('the SIP call answered', () => sip.calls()[0], 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nbaresip said:\n${phone.output().slice(-3000)}`);
    });
    const roomId = call.roomId;
    expect(roomId).toMatch(/^sip-[0-9a-f]{20}$/);
    expect(call.streams).toEqual([expect.objectContaining({ role: 'caller', codec: 'PCMU' })]);

    const verdict = await untilValue('a verdict other than collecting on NATS', () => events.find((e) => e.type === 'verdict' && e.roomId === roomId && e.peerId === 'caller' && e.payload.state !== 'collecting'), 90_000);
    expect(verdict.phone).toMatchObject({ platform: 'sip', tenant: 'acme' });
    expect(verdict.type === 'verdict' && verdict.payload.quality.bandwidth).toBe('NB');
    // the phone leg's windows are weighted with the manifest's telephone weight
    expect(scoreWeights(events, roomId)).toEqual({ weights: [PHONE_WEIGHT], channels: ['telephone'] });

    // A challenge: its prompt is played to the phone as RTP (PCMU), then the response window opens.
    const challengeEvents = (): ChallengeEvent[] => events.filter((e): e is ChallengeEvent => e.type === 'challenge' && e.roomId === roomId);
    let challengeId: string | undefined;
    try {
      challengeId = service.challenges!.request(roomId, 'caller', 'audio').challengeId;
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_CHALLENGE_ACTIVE');
    }
    const issued = await untilValue('challenge issued', () => challengeEvents().find((e) => e.payload.phase === 'issued' && (challengeId === undefined || e.payload.challengeId === challengeId)), 15_000);
    expect(issued.payload.deliveredTo ?? 'participant').toBe('participant');
    const response = await untilValue('the response window opened (prompt played)', () => challengeEvents().find((e) => e.payload.challengeId === issued.payload.challengeId && e.payload.phase === 'response'), 60_000);
    expect(response).toBeDefined();
    const sent = call.streams[0]!.sent;
    expect(sent).toBeGreaterThan(50); // at least a second of prompt audio went out as RTP

    // The phone hangs up: BYE -> 200, the call and its room end.
    await phone.stop();
    await untilValue('the call ended', () => (sip.calls().length === 0 && !service.rooms.get(roomId) ? true : undefined), 20_000);
    // What the phone heard: baresip's decoded-audio dump holds the prompt (not silence).
    const heard = phone.receivedWavs();
    expect(heard.length).toBeGreaterThan(0);
    expect(Math.max(...heard.map(peak))).toBeGreaterThan(1000);
    const states = events.filter((e) => e.type === 'verdict' && e.roomId === roomId).map((e) => (e.type === 'verdict' ? e.payload.state : ''));
    process.stdout.write(`${JSON.stringify({ test: 'sip-ingest-e2e', verdicts: [...new Set(states)], promptPackets: sent, heardFiles: heard.length })}\n`);
  }, 240_000);

  it.each([
    { codec: 'opus', baresip: 'opus', rate: 48000 },
    { codec: 'G722', baresip: 'G722/16000/1', rate: 16000 },
  ])('a phone that offers only $codec is answered in it: wideband windows, a verdict, the prompt back in $codec', async ({ codec, baresip, rate }) => {
    const sip = service.sip!;
    const phone = startBaresip({ target: `sip:screen@127.0.0.1:${sip.port}`, user: 'acme', password: KEY, wav: rate === 48000 ? wav48 : wav16, sampleRate: rate, codecs: [baresip] });
    phones.push(phone);
    const call = await untilValue(`the ${codec} call answered`, () => sip.calls()[0], 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nbaresip said:\n${phone.output().slice(-3000)}`);
    });
    const roomId = call.roomId;
    expect(call.streams, JSON.stringify(call.streams)).toEqual([expect.objectContaining({ role: 'caller', codec })]);
    const verdict = await untilValue('a verdict other than collecting on NATS', () => events.find((e) => e.type === 'verdict' && e.roomId === roomId && e.payload.state !== 'collecting'), 90_000);
    // Opus and G.722 from the phone are wideband: not judged with the telephone calibration.
    expect(verdict.type === 'verdict' && verdict.payload.quality.bandwidth).not.toBe('NB');
    expect(scoreWeights(events, roomId).weights).toEqual([WIDEBAND_WEIGHT]);
    const challengeEvents = (): ChallengeEvent[] => events.filter((e): e is ChallengeEvent => e.type === 'challenge' && e.roomId === roomId);
    try {
      service.challenges!.request(roomId, 'caller', 'audio');
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_CHALLENGE_ACTIVE');
    }
    await untilValue(`the response window opened (prompt played in ${codec})`, () => challengeEvents().find((e) => e.payload.phase === 'response'), 60_000);
    expect(call.streams[0]!.sent).toBeGreaterThan(50);
    await phone.stop();
    await untilValue('the call ended', () => (sip.calls().length === 0 && !service.rooms.get(roomId) ? true : undefined), 20_000);
    const heard = phone.receivedWavs();
    expect(heard.length).toBeGreaterThan(0);
    expect(Math.max(...heard.map(peak))).toBeGreaterThan(1000);
  }, 240_000);
});
