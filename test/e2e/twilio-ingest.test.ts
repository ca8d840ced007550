/**
 * End to end: phone calls over the Twilio Media Streams protocol into the real service
 * (real HTTP server and WebSocket endpoint, mediasoup worker, media and inference worker
 * threads, embedded nats-server). A test caller speaking Twilio's exact wire format streams
 * real speech (a LibriVox reader, converted by sox to 8 kHz mu-law) in real time by its own
 * clock. Checked: a verdict event for the call on NATS; a challenge prompt the caller hears
 * (paced mu-law frames, then a mark whose echo opens the response window); a wrong key
 * refused before any audio; malformed frames refused with typed codes while another call
 * keeps flowing. Detectors are the small test graphs (plumbing, not accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from '../helpers/service.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { Service } from '../../src/Service.js';
import type { ChallengeEvent, DfdEvent } from '../../events/schema.js';
import { untilValue } from '../helpers/until.js';
import { ingestFrameErrors } from '../../ingest/testing/frameErrors.js';
import { TwilioTestCaller } from '../../ingest/testing/TwilioTestCaller.js';
import { twilioFrames } from '../../ingest/testing/twilioFrames.js';
import { phoneSpeechMuLaw } from '../../ingest/testing/phoneSpeech.js';

const KEY = 'acme-test-key-0123456789';

const until = untilValue;
const frameErrors = (code: string, fatal: boolean): Promise<number> => ingestFrameErrors('twilio', code, fatal);

describe('Twilio Media Streams ingest (real service, real NATS, real speech)', () => {
  let service: Service;
  let modelsDir: string;
  let url: string;
  let speech: Buffer;
  const events: DfdEvent[] = [];
  const callers: TwilioTestCaller[] = [];
  const challengeEvents = (): ChallengeEvent[] => events.filter((e): e is ChallengeEvent => e.type === 'challenge');

  beforeAll(async () => {
    speech = phoneSpeechMuLaw();
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, ingestKeys: [`acme=${KEY}`] }, { events: true, analysis: true });
    service.bus!.subscribe({}, (e) => {
      events.push(e);
    });
    url = `ws://127.0.0.1:${service.port}/v1/ingest/twilio`;
  });

  afterAll(async () => {
    for (const c of callers) c.close();
    await service?.close();
    removeDir(modelsDir);
  });

  const connect = async (query = '', options: Parameters<typeof TwilioTestCaller.connect>[1] = {}): Promise<TwilioTestCaller> => {
    const c = await TwilioTestCaller.connect(url + query, options);
    callers.push(c);
    return c;
  };

  it('a wrong or missing key is refused (1008 ERR_INGEST_AUTH) before any audio: no room, nothing analysed', async () => {
    const wrong = await connect();
    wrong.sendConnectedAndStart({ key: 'not-the-key-at-all-000' });
    wrong.sendChunk(speech.subarray(0, 160));
    expect(await wrong.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_AUTH' });
    const missing = await connect();
    missing.sendConnectedAndStart({ FirstName: 'Jane' });
    expect(await missing.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_AUTH' });
    // On the URL, the key is checked before the first frame is read.
    const query = await connect('?key=wrong-key-wrong-key-00');
    expect(await query.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_AUTH' });
    for (const c of [wrong, missing]) expect(service.rooms.get(`twilio-${c.ids.callSid}`)).toBeUndefined();
    expect(service.rooms.list().filter((r) => r.id.startsWith('twilio-'))).toHaveLength(0);
    expect(await frameErrors('ERR_INGEST_AUTH', true)).toBeGreaterThanOrEqual(3);
  });

  it('media before start and a wrong media format end the stream with typed codes', async () => {
    const early = await connect();
    early.send(twilioFrames.connected());
    early.sendChunk(speech.subarray(0, 160));
    expect(await early.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_STATE' });
    const alaw = await connect();
    alaw.send(twilioFrames.connected());
    alaw.send(twilioFrames.start(alaw.ids, alaw.nextSeq(), { key: KEY }, ['inbound'], { encoding: 'audio/x-alaw', sampleRate: 8000, channels: 1 }));
    expect(await alaw.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_FORMAT' });
    const big = await connect();
    big.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0', pad: 'x'.repeat(20_000) }));
    expect((await big.closed).code).toBe(1009);
  });

  it('real speech from a caller reaches a verdict on NATS; a challenge prompt is heard, paced, and its mark opens the response window; a malformed second call disturbs nothing', async () => {
    // Call A: real speech, real time, looping until the test ends it. The mark is echoed 1.5 s late.
    const a = await connect('', { markDelayMs: 1500 });
    a.sendConnectedAndStart({ key: KEY, FirstName: 'Jane' });
    a.startStreaming(speech);
    const roomA = `twilio-${a.ids.callSid}`;
    await until('call A streaming', () => service.rooms.get(roomA)?.peers.get('caller'), 10_000);

    // Call B, at the same time: a stream full of bad frames (each refused with its code, not fatal).
    const b = await connect('?key=' + KEY);
    b.sendConnectedAndStart({});
    await until('call B streaming', () => service.rooms.get(`twilio-${b.ids.callSid}`), 10_000);
    const before = { json: await frameErrors('ERR_BAD_JSON', false), payload: await frameErrors('ERR_INGEST_PAYLOAD', false), seq: await frameErrors('ERR_INGEST_SEQUENCE', false), frame: await frameErrors('ERR_INGEST_FRAME', false) };
    b.send('{"event":"media",');
    b.send({ ...twilioFrames.media(b.ids, b.nextSeq(), 1, 0, new Uint8Array(160)), media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '%%%not-base64%%%' } });
    b.send(twilioFrames.media(b.ids, b.nextSeq(), 1, 0, new Uint8Array(0)));
    b.send(twilioFrames.media(b.ids, 1, 2, 20, new Uint8Array(160)));
    b.send({ event: 'whatever' });
    b.ws.send(Buffer.from([1, 2, 3]), { binary: true });

    // A's verdict, from the pipeline through NATS.
    const verdict = await until('a verdict event of call A on NATS', () => events.find((e) => e.type === 'verdict' && e.roomId === roomA && e.peerId === 'caller'), 45_000);
    expect(verdict.callId).toMatch(/^c-/);
    expect(verdict.phone).toEqual({ platform: 'twilio', platformCallId: a.ids.callSid, tenant: 'acme' });
    // Telephone audio is judged (telephone calibration), not held at collecting as too narrow.
    const judged = await until('a verdict other than collecting', () => events.find((e) => e.type === 'verdict' && e.roomId === roomA && e.payload.state !== 'collecting'), 45_000);
    expect(judged.type === 'verdict' && judged.payload.quality.bandwidth).toBe('NB');
    expect(b.open).toBe(true);
    expect(await frameErrors('ERR_BAD_JSON', false)).toBe(before.json + 1);
    expect(await frameErrors('ERR_INGEST_PAYLOAD', false)).toBe(before.payload + 2);
    expect(await frameErrors('ERR_INGEST_SEQUENCE', false)).toBe(before.seq + 1);
    expect(await frameErrors('ERR_INGEST_FRAME', false)).toBe(before.frame + 2);

    // A challenge for the caller: the prompt comes back as paced 20 ms mu-law frames and a mark.
    let challengeId: string | undefined;
    try {
      challengeId = service.challenges!.request(roomA, 'caller', 'audio').challengeId;
    } catch (e) {
      // An automatic challenge may already be running; it is heard the same way.
      expect((e as { code?: string }).code).toBe('ERR_CHALLENGE_ACTIVE');
    }
    const issued = await until('challenge issued', () => challengeEvents().find((e) => e.roomId === roomA && e.payload.phase === 'issued' && (challengeId === undefined || e.payload.challengeId === challengeId)), 10_000);
    challengeId = issued.payload.challengeId;
    const echoed = await until('the prompt mark echoed', () => a.echoed[0], 30_000);
    const media = a.mediaReceived();
    expect(media.length).toBeGreaterThan(25);
    for (const m of media) expect(m.bytes.length).toBe(160);
    const spanMs = media.at(-1)!.at - media[0]!.at;
    // Real time, not a burst: n frames of 20 ms (a few sent ahead) take about (n - 4) * 20 ms.
    expect(spanMs).toBeGreaterThan((media.length - 4) * 20 * 0.8);
    const markMsg = a.received.find((r) => r.msg.event === 'mark');
    expect(markMsg!.at).toBeGreaterThanOrEqual(media.at(-1)!.at);
    expect(markMsg!.msg.mark!.name).toBe(echoed.name);

    // The response window opens at the echo, not when the last frame left: the response phase
    // comes no earlier than echo + expected duration + slack.
    const response = await until('challenge response phase', () => challengeEvents().find((e) => e.payload.challengeId === challengeId && e.payload.phase === 'response'), 40_000);
    const expectedMs = ((issued.payload.expectedDurationSec ?? 0) + 3) * 1000;
    expect(Date.parse(response.ts)).toBeGreaterThanOrEqual(echoed.at + expectedMs - 250);
    const outcome = await until('challenge outcome', () => challengeEvents().find((e) => e.payload.challengeId === challengeId && (e.payload.phase === 'outcome' || e.payload.phase === 'cancelled')), 30_000);
    expect(outcome.payload.reason).not.toBe('prompt could not be played');

    // Both calls kept flowing; B is still open, A's leg kept sending packets.
    const legA = service.twilio!.sessions().find((s) => s.roomId === roomA)!.leg!;
    const packets = legA.packets;
    await until('A still flowing', () => (legA.packets > packets + 20 ? true : undefined), 5000);
    expect(b.open).toBe(true);

    // Hang up: stop -> 1000, the call ends as a phone call, its room is gone.
    a.sendStop();
    expect(await a.closed).toEqual({ code: 1000, reason: 'stop' });
    b.sendStop();
    expect((await b.closed).code).toBe(1000);
    await until('room A closed', () => (service.rooms.get(roomA) ? undefined : true), 5000);
    const call = service.registry.calls().find((c) => c.roomId === roomA);
    expect(call).toMatchObject({ kind: 'phone', callId: verdict.callId });
    expect(call?.endedAt).toBeDefined();
    expect(service.twilio!.streamCount).toBe(0);
    // Nothing of the calls is left in the pipeline: no tapped stream.
    await until('taps closed', () => (service.pipeline!.health().streams === 0 ? true : undefined), 5000);
    const states = events.filter((e) => e.type === 'verdict' && e.roomId === roomA).map((e) => (e.type === 'verdict' ? `${e.payload.state}/${e.payload.quality.bandwidth ?? ''}/${e.payload.reason ?? ''}` : ''));
    process.stdout.write(`${JSON.stringify({ test: 'twilio-ingest-e2e', verdicts: states, promptFrames: media.length, promptSpanMs: spanMs, challenge: issued.payload.challengeType, outcome: outcome.payload.phase === 'outcome' ? outcome.payload.outcome : 'cancelled' })}\n`);
  }, 150_000);

  it('shutdown: an open stream is closed 1001 ERR_SHUTTING_DOWN and new streams are refused the same way', async () => {
    const c = await connect();
    c.sendConnectedAndStart({ key: KEY });
    c.startStreaming(speech);
    await until('call C streaming', () => service.rooms.get(`twilio-${c.ids.callSid}`)?.peers.get('caller'), 10_000);
    service.beginShutdown();
    expect(await c.closed).toEqual({ code: 1001, reason: 'ERR_SHUTTING_DOWN' });
    const late = await connect();
    expect(await late.closed).toEqual({ code: 1001, reason: 'ERR_SHUTTING_DOWN' });
    expect(service.twilio!.streamCount).toBe(0);
  });
});
