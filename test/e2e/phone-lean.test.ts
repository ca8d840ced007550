/**
 * End to end: the weak-evidence challenge threshold of a phone leg (DFD_CHALLENGE_LEAN_P_TELEPHONE)
 * is its own, apart from the browser callers' (DFD_CHALLENGE_LEAN_P). Two real SIP phones (Debian's
 * baresip) call the service's SIP server with the same real speech: one offers only PCMU (a G.711
 * leg, scored with the telephone calibration), one only G.722 (wideband). With the phone-leg
 * threshold at 0 and the wideband one off (1), the PCMU caller is challenged by the service itself
 * under the `weak-evidence` trigger on its first `likely-genuine` verdict; the G.722 caller
 * becomes `likely-genuine` too and is never challenged. The voice test model's
 * calibration is made flat (pFake about 0.12) so both callers settle as `likely-genuine`.
 * Detectors are the small test graphs (plumbing, not accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService } from '../helpers/service.js';
import { voiceOnlyTestModelsDir, removeDir } from '../helpers/models.js';
import { untilValue } from '../helpers/until.js';
import { startBaresip, type BaresipPhone } from '../helpers/baresip.js';
import type { Service } from '../../src/Service.js';
import type { DfdEvent, EventOfType } from '../../events/schema.js';
import { writePhoneSpeechWav } from '../../ingest/testing/phoneSpeech.js';

const KEY = 'acme-sip-key-0123456789';
/** Flat: every window of either channel reads pFake 1 / (1 + e^2), about 0.12. */
const FLAT = { a: 0.001, b: -2 };

describe('weak-evidence challenge threshold per channel family (real baresip phones, real service, real NATS)', () => {
  let service: Service;
  let modelsDir: string;
  let tmp: string;
  const events: DfdEvent[] = [];
  const phones: BaresipPhone[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-phone-lean-e2e-'));
    modelsDir = voiceOnlyTestModelsDir();
    const manifestPath = path.join(modelsDir, 'test-voice', 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    const flat = { method: 'logistic', ...FLAT, fittedOn: 'phone-lean e2e: flat', telephone: { ...FLAT, fittedOn: 'phone-lean e2e: flat' } };
    fs.writeFileSync(manifestPath, JSON.stringify({ ...manifest, calibration: flat }));
    service = await startTestService(
      { modelsDir, ingestKeys: [`acme=${KEY}`], sipHost: '127.0.0.1', sipRtpMinPort: 33000, sipRtpMaxPort: 33999, challengeLeanP: 1, challengeLeanPTelephone: 0, challengeCooldownMs: 0 },
      { events: true, analysis: true },
    );
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

  const verdicts = (roomId: string): EventOfType<'verdict'>[] => events.filter((e): e is EventOfType<'verdict'> => e.type === 'verdict' && e.roomId === roomId);
  const challenges = (roomId: string): EventOfType<'challenge'>[] => events.filter((e): e is EventOfType<'challenge'> => e.type === 'challenge' && e.roomId === roomId);
  const channels = (roomId: string): (string | undefined)[] => [...new Set(events.filter((e) => e.type === 'score' && e.roomId === roomId).map((e) => (e.type === 'score' ? e.payload.channel : undefined)))];

  async function call(codec: 'PCMU' | 'G722'): Promise<{ phone: BaresipPhone; roomId: string }> {
    const sip = service.sip!;
    const rate = codec === 'PCMU' ? 8000 : 16000;
    const wav = path.join(tmp, `speech${rate}.wav`);
    if (!fs.existsSync(wav)) writePhoneSpeechWav(wav, rate, 2);
    const phone = startBaresip({ target: `sip:screen@127.0.0.1:${sip.port}`, user: 'acme', password: KEY, wav, sampleRate: rate, codecs: [codec === 'PCMU' ? 'PCMU' : 'G722/16000/1'] });
    phones.push(phone);
    const answered = await untilValue(`the ${codec} call answered`, () => sip.calls()[0], 30_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nbaresip said:\n${phone.output().slice(-3000)}`);
    });
    expect(answered.streams).toEqual([expect.objectContaining({ role: 'caller', codec })]);
    return { phone, roomId: answered.roomId };
  }

  async function hangUp(phone: BaresipPhone, roomId: string): Promise<void> {
    await phone.stop();
    await untilValue('the call ended', () => (service.sip!.calls().length === 0 && !service.rooms.get(roomId) ? true : undefined), 20_000);
  }

  it('a G.711 phone leg is challenged on weak evidence at the phone-leg threshold', async () => {
    const { phone, roomId } = await call('PCMU');
    const issued = await untilValue('a challenge the service started by itself', () => challenges(roomId).find((e) => e.payload.phase === 'issued'), 90_000);
    expect(issued.payload.trigger).toBe('weak-evidence');
    expect(issued.peerId).toBe('caller');
    // the event says what it acted on: the phone-leg threshold (0 here) and the pFake that reached it
    expect(issued.payload.basis).toEqual({ pFake: expect.any(Number), threshold: 0, family: 'telephone' });
    // it followed a likely-genuine verdict of a leg scored as telephone audio
    expect(verdicts(roomId).some((v) => v.payload.state === 'likely-genuine')).toBe(true);
    expect(channels(roomId)).toEqual(['telephone']);
    await hangUp(phone, roomId);
  }, 180_000);

  it('a wideband (G.722) phone leg keeps the browser threshold: likely-genuine, never challenged', async () => {
    const { phone, roomId } = await call('G722');
    const settled = await untilValue('a likely-genuine verdict', () => verdicts(roomId).find((v) => v.payload.state === 'likely-genuine'), 120_000);
    expect(settled.payload.pFake).toBeLessThan(0.5);
    // A challenge would have been issued in the same turn as that verdict, and events of one connection arrive in
    // order: once five more windows' scores came after it, none came.
    const after = events.indexOf(settled);
    await untilValue('five more scored windows', () => (events.slice(after).filter((e) => e.type === 'score' && e.roomId === roomId).length >= 5 ? true : undefined), 60_000);
    expect(channels(roomId)).toEqual(['wideband']);
    expect(challenges(roomId)).toEqual([]);
    await hangUp(phone, roomId);
  }, 240_000);
});
