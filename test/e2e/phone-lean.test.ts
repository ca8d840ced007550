/**
 * End to end: the weak-evidence challenge thresholds of a phone leg (DFD_CHALLENGE_LEAN_P_TELEPHONE),
 * of a G.722 leg (DFD_CHALLENGE_LEAN_P_G722) and of a gateway's Opus leg (DFD_CHALLENGE_LEAN_P_SIP_OPUS)
 * are their own, apart from the browser callers' (DFD_CHALLENGE_LEAN_P). Three real SIP phones (Debian's
 * baresip) call the service's SIP server with the same real speech: one offers only PCMU (a G.711 leg,
 * scored with the telephone calibration), one only G.722 (wideband, a G.722 leg), one only Opus
 * (wideband, an Opus SIP leg). With the three legs' thresholds at 0 and the browsers' one off (1), each
 * caller is challenged by the service itself under the `weak-evidence` trigger on its first
 * `likely-genuine` verdict, and each issued event says which threshold it reached (the Opus caller's is
 * not the browsers', which would never challenge). The voice test model's calibration is made flat
 * (pFake about 0.12) so the callers settle as `likely-genuine`. Detectors are the small test graphs
 * (plumbing, not accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchManifest, voiceOnlyTestModelsDir } from '../helpers/models.js';
import { untilValue } from '../helpers/until.js';
import { startSipTestBed, type SipTestBed } from '../helpers/sipTestBed.js';
import type { EventOfType } from '../../events/schema.js';

/** Flat: every window of either channel reads pFake 1 / (1 + e^2), about 0.12. */
const FLAT = { a: 0.001, b: -2 };

describe('weak-evidence challenge threshold per channel family (real baresip phones, real service, real NATS)', () => {
  let bed: SipTestBed;

  beforeAll(async () => {
    const modelsDir = voiceOnlyTestModelsDir();
    const fittedOn = 'phone-lean e2e: flat';
    patchManifest(modelsDir, 'test-voice', (m) => ({ ...m, calibration: { method: 'logistic', ...FLAT, fittedOn, telephone: { ...FLAT, fittedOn } } }));
    bed = await startSipTestBed(modelsDir, 33000, { challengeLeanP: 1, challengeLeanPTelephone: 0, challengeLeanPG722: 0, challengeLeanPSipOpus: 0, challengeCooldownMs: 0 });
  });

  afterAll(async () => {
    await bed?.close();
  });

  const verdicts = (roomId: string): EventOfType<'verdict'>[] => bed.events.filter((e): e is EventOfType<'verdict'> => e.type === 'verdict' && e.roomId === roomId);
  const challenges = (roomId: string): EventOfType<'challenge'>[] => bed.events.filter((e): e is EventOfType<'challenge'> => e.type === 'challenge' && e.roomId === roomId);
  const channels = (roomId: string): (string | undefined)[] => [...new Set(bed.events.filter((e) => e.type === 'score' && e.roomId === roomId).map((e) => (e.type === 'score' ? e.payload.channel : undefined)))];

  it.each([
    { leg: 'G.711', codec: 'PCMU', offer: 'PCMU', rate: 8000 as const, family: 'telephone', channel: 'telephone' },
    { leg: 'G.722', codec: 'G722', offer: 'G722/16000/1', rate: 16000 as const, family: 'g722', channel: 'wideband' },
    { leg: 'Opus', codec: 'opus', offer: 'opus', rate: 48000 as const, family: 'sip-opus', channel: 'wideband' },
  ])('a $leg phone leg is challenged on weak evidence at its own threshold ($family)', async ({ codec, offer, rate, family, channel }) => {
    const { phone, call } = await bed.dial({ rate, codecs: [offer] });
    expect(call.streams).toEqual([expect.objectContaining({ role: 'caller', codec })]);
    const issued = await untilValue('a challenge the service started by itself', () => challenges(call.roomId).find((e) => e.payload.phase === 'issued'), 90_000);
    expect(issued.payload.trigger).toBe('weak-evidence');
    expect(issued.peerId).toBe('caller');
    // the event says what it acted on: the leg's threshold (0 here) and the pFake that reached it
    expect(issued.payload.basis).toEqual({ pFake: expect.any(Number), threshold: 0, family });
    // it followed a likely-genuine verdict of a leg scored on its channel (a G.722 leg's audio is wideband audio)
    expect(verdicts(call.roomId).some((v) => v.payload.state === 'likely-genuine')).toBe(true);
    expect(channels(call.roomId)).toEqual([channel]);
    await bed.hangUp(phone, call.roomId);
  }, 180_000);
});
