/**
 * End to end: a real SIP phone (Debian's baresip) calls the service's SIP server with digest
 * credentials, speaks real speech (a LibriVox reader, 8 kHz WAV made by sox) over RTP/PCMU, and
 * records what it hears. Checked: the call reaches a verdict other than `collecting` on NATS
 * with `phone.platform: "sip"`; a challenge prompt goes back to the phone over RTP and is in
 * the audio baresip decoded (not silence); the phone's BYE ends the call and its room. The voice
 * model carries a phone-leg weight of its own (`verdict.weightTelephone`), a G.722 one
 * (`verdict.weightG722`) and one for a gateway's Opus legs (`verdict.weightSipOpus`): the PCMU
 * leg's score events carry the first, the G.722 leg's the second, the Opus leg's the third (never
 * the wideband one a browser's Opus takes).
 * Detectors are the small test graphs (plumbing, not accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { testModelsDir, patchManifest } from '../helpers/models.js';
import { untilValue } from '../helpers/until.js';
import { startSipTestBed, type SipTestBed } from '../helpers/sipTestBed.js';
import type { ChallengeEvent, DfdEvent } from '../../events/schema.js';

const WIDEBAND_WEIGHT = 1;
const PHONE_WEIGHT = 0.5;
const G722_WEIGHT = 0.75;
const SIP_OPUS_WEIGHT = 0.625;

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
  let bed: SipTestBed;
  let service: SipTestBed['service'];
  let events: DfdEvent[];

  beforeAll(async () => {
    const modelsDir = testModelsDir();
    // a weight per channel family, as choose_weight.py --phone-pair writes it, and one each for G.722 and Opus SIP legs (sip_legs.py --write)
    patchManifest(modelsDir, 'test-voice', (m) => ({ ...m, verdict: { weight: WIDEBAND_WEIGHT, weightTelephone: PHONE_WEIGHT, weightG722: G722_WEIGHT, weightSipOpus: SIP_OPUS_WEIGHT, basis: 'sip-ingest e2e: one weight per channel family' } }));
    bed = await startSipTestBed(modelsDir, 32000);
    service = bed.service;
    events = bed.events;
  });

  afterAll(async () => {
    await bed?.close();
  });

  it('a phone call with real speech reaches a verdict on NATS, hears the challenge prompt over RTP, and its BYE ends the call', async () => {
    expect(service.sip!.port).toBeGreaterThan(0);
    const { phone, call } = await bed.dial({ rate: 8000 });
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
    await bed.hangUp(phone, roomId);
    // What the phone heard: baresip's decoded-audio dump holds the prompt (not silence).
    const heard = phone.receivedWavs();
    expect(heard.length).toBeGreaterThan(0);
    expect(Math.max(...heard.map(peak))).toBeGreaterThan(1000);
    const states = events.filter((e) => e.type === 'verdict' && e.roomId === roomId).map((e) => (e.type === 'verdict' ? e.payload.state : ''));
    process.stdout.write(`${JSON.stringify({ test: 'sip-ingest-e2e', verdicts: [...new Set(states)], promptPackets: sent, heardFiles: heard.length })}\n`);
  }, 240_000);

  it.each([
    { codec: 'opus', baresip: 'opus', rate: 48000 as const, weight: SIP_OPUS_WEIGHT },
    { codec: 'G722', baresip: 'G722/16000/1', rate: 16000 as const, weight: G722_WEIGHT },
  ])('a phone that offers only $codec is answered in it: wideband windows at weight $weight, a verdict, the prompt back in $codec', async ({ codec, baresip, rate, weight }) => {
    const { phone, call } = await bed.dial({ rate, codecs: [baresip] });
    const roomId = call.roomId;
    expect(call.streams, JSON.stringify(call.streams)).toEqual([expect.objectContaining({ role: 'caller', codec })]);
    const verdict = await untilValue('a verdict other than collecting on NATS', () => events.find((e) => e.type === 'verdict' && e.roomId === roomId && e.payload.state !== 'collecting'), 90_000);
    // Opus and G.722 from the phone are wideband: not judged with the telephone calibration; each
    // leg's windows carry its family's weight (a gateway's Opus is not weighed as a browser's)
    expect(verdict.type === 'verdict' && verdict.payload.quality.bandwidth).not.toBe('NB');
    expect(scoreWeights(events, roomId)).toEqual({ weights: [weight], channels: ['wideband'] });
    const challengeEvents = (): ChallengeEvent[] => events.filter((e): e is ChallengeEvent => e.type === 'challenge' && e.roomId === roomId);
    try {
      service.challenges!.request(roomId, 'caller', 'audio');
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_CHALLENGE_ACTIVE');
    }
    await untilValue(`the response window opened (prompt played in ${codec})`, () => challengeEvents().find((e) => e.payload.phase === 'response'), 60_000);
    expect(call.streams[0]!.sent).toBeGreaterThan(50);
    await bed.hangUp(phone, roomId);
    const heard = phone.receivedWavs();
    expect(heard.length).toBeGreaterThan(0);
    expect(Math.max(...heard.map(peak))).toBeGreaterThan(1000);
  }, 240_000);
});
