/**
 * End to end: phone calls over Genesys AudioHook (protocol version 2) into the real service
 * (real HTTP server and WebSocket endpoint, mediasoup worker, media and inference worker
 * threads, embedded nats-server). A test client speaking AudioHook's wire format streams real
 * speech (a LibriVox reader, converted by sox to 8 kHz mu-law) as stereo PCMU (caller on the
 * external channel, a silent agent line on the internal one) in real time. Checked: refusals
 * at the upgrade (key, session id); open/opened negotiation; ping/pong; a verdict event for
 * the caller on NATS; a challenge addressed to the agent (AudioHook cannot play audio) whose
 * response window opens after the agent had time to relay it; a session breaking the
 * sequence ends with `disconnect` and a typed close while the other call keeps flowing;
 * close/closed. Detectors are the small test graphs (plumbing, not accuracy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from '../helpers/service.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { Service } from '../../src/Service.js';
import type { ChallengeEvent, DfdEvent } from '../../events/schema.js';
import { untilValue } from '../helpers/until.js';
import { ingestFrameErrors } from '../../ingest/testing/frameErrors.js';
import { AudioHookTestClient } from '../../ingest/testing/AudioHookTestClient.js';
import { phoneSpeechMuLaw } from '../../ingest/testing/phoneSpeech.js';

const KEY = 'acme-audiohook-key-0123456789';

const until = untilValue;
const frameErrors = (code: string, fatal: boolean): Promise<number> => ingestFrameErrors('audiohook', code, fatal);

describe('Genesys AudioHook ingest (real service, real NATS, real speech)', () => {
  let service: Service;
  let modelsDir: string;
  let url: string;
  let speech: Buffer;
  const events: DfdEvent[] = [];
  const clients: AudioHookTestClient[] = [];
  const challengeEvents = (): ChallengeEvent[] => events.filter((e): e is ChallengeEvent => e.type === 'challenge');

  beforeAll(async () => {
    speech = phoneSpeechMuLaw();
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, ingestKeys: [`acme=${KEY}`] }, { events: true, analysis: true });
    service.bus!.subscribe({}, (e) => {
      events.push(e);
    });
    url = `ws://127.0.0.1:${service.port}/v1/ingest/audiohook`;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await service?.close();
    removeDir(modelsDir);
  });

  const connect = async (options: Parameters<typeof AudioHookTestClient.connect>[1] = {}): Promise<AudioHookTestClient> => {
    const c = await AudioHookTestClient.connect(url, { apiKey: KEY, ...options });
    clients.push(c);
    return c;
  };

  it('the upgrade is refused before any WebSocket exists: wrong or missing key 401, bad session id 400', async () => {
    const before = await frameErrors('ERR_INGEST_AUTH', true);
    await expect(AudioHookTestClient.connect(url, { apiKey: 'not-the-key-at-all-000' })).rejects.toThrow(/401/);
    await expect(AudioHookTestClient.connect(url, { apiKey: undefined })).rejects.toThrow(/401/);
    await expect(AudioHookTestClient.connect(url, { apiKey: KEY, sessionId: 'session-1' })).rejects.toThrow(/400/);
    expect(await frameErrors('ERR_INGEST_AUTH', true)).toBe(before + 2);
    expect(service.rooms.list().filter((r) => r.id.startsWith('audiohook-'))).toHaveLength(0);
  });

  it('media that is not PCMU 8 kHz with the caller channel is refused with disconnect and a typed close', async () => {
    const c = await connect({ media: [{ type: 'audio', format: 'L16', channels: ['external'], rate: 16000 }] });
    c.sendOpen();
    const d = await c.next('disconnect');
    expect(d.parameters).toMatchObject({ reason: 'error', info: 'ERR_INGEST_FORMAT' });
    expect(d.clientseq).toBe(1);
    expect(await c.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_FORMAT' });
  });

  it('real speech reaches a verdict on NATS; a challenge goes to the agent; a broken session disturbs nothing; close/closed ends the call', async () => {
    // Call A: open, negotiated stereo, real speech on the external channel in real time.
    const a = await connect();
    a.sendOpen();
    const opened = await a.next('opened');
    expect(opened).toMatchObject({ version: '2', id: a.options.sessionId, seq: 1, clientseq: 1 });
    expect(opened.parameters['media']).toEqual([{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }]);
    const roomA = `audiohook-${a.options.conversationId}`;
    expect(service.rooms.get(roomA)?.peers.get('caller')).toBeDefined();
    a.startStreaming(speech);
    a.send(a.message('ping', { rtt: 'PT0.02S' }));
    expect((await a.next('pong')).clientseq).toBe(2);

    // Call B at the same time: opens, then sends a frame of the wrong size (dropped, counted)
    // and a message out of sequence (fatal for B alone).
    const b = await connect({ media: [{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }] });
    b.sendOpen();
    await b.next('opened');
    const badSize = await frameErrors('ERR_INGEST_PAYLOAD', false);
    b.ws.send(Buffer.alloc(801), { binary: true }); // odd length: not whole stereo samples
    // Frames on one socket are handled in order: the odd frame is counted before the ping ends B.
    b.send(b.message('ping', {}, 7));
    const d = await b.next('disconnect');
    expect(d.parameters).toMatchObject({ reason: 'error', info: 'ERR_INGEST_SEQUENCE' });
    expect(await b.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_SEQUENCE' });
    expect(await frameErrors('ERR_INGEST_PAYLOAD', false)).toBe(badSize + 1);
    await until('room B closed', () => (service.rooms.get(`audiohook-${b.options.conversationId}`) ? undefined : true), 5000);

    // A's verdict, from the pipeline through NATS: judged, narrowband.
    const verdict = await until('a verdict event of call A on NATS', () => events.find((e) => e.type === 'verdict' && e.roomId === roomA && e.peerId === 'caller'), 45_000);
    expect(verdict.callId).toMatch(/^c-/);
    // Every event of the call names the platform, its own call id and the tenant.
    expect(verdict.phone).toEqual({ platform: 'audiohook', platformCallId: a.options.conversationId, tenant: 'acme' });
    const judged = await until('a verdict other than collecting', () => events.find((e) => e.type === 'verdict' && e.roomId === roomA && e.payload.state !== 'collecting'), 45_000);
    expect(judged.type === 'verdict' && judged.payload.quality.bandwidth).toBe('NB');
    expect(a.open).toBe(true);

    // A challenge for the caller is addressed to the agent; its response window opens only
    // after the agent had time to relay it (prompt duration + relay time).
    let challengeId: string | undefined;
    try {
      challengeId = service.challenges!.request(roomA, 'caller', 'audio').challengeId;
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_CHALLENGE_ACTIVE');
    }
    const issued = await until('challenge issued', () => challengeEvents().find((e) => e.roomId === roomA && e.payload.phase === 'issued' && (challengeId === undefined || e.payload.challengeId === challengeId)), 10_000);
    challengeId = issued.payload.challengeId;
    expect(issued.payload.deliveredTo).toBe('agent');
    expect(issued.payload.promptText).toBeTruthy();
    const response = await until('challenge response phase', () => challengeEvents().find((e) => e.payload.challengeId === challengeId && e.payload.phase === 'response'), 60_000);
    expect(Date.parse(response.ts) - Date.parse(issued.ts)).toBeGreaterThanOrEqual(3000);
    const outcome = await until('challenge outcome', () => challengeEvents().find((e) => e.payload.challengeId === challengeId && (e.payload.phase === 'outcome' || e.payload.phase === 'cancelled')), 40_000);
    expect(outcome.payload.reason).not.toBe('prompt could not be played');

    // Paused audio is not analysed; resumed continues the same call.
    a.send(a.message('paused', {}));
    await until('session paused', () => (service.audiohook!.sessions().find((s) => s.roomId === roomA)?.state === 'paused' ? true : undefined), 5000);
    a.send(a.message('resumed', { start: `PT${(a.positionMs / 1000).toFixed(3)}S`, discarded: 'PT0S' }));
    await until('session active', () => (service.audiohook!.sessions().find((s) => s.roomId === roomA)?.state === 'active' ? true : undefined), 5000);

    // close -> closed, the call ends as a phone call, its room is gone.
    await a.closeSession();
    expect((await a.closed).code).toBe(1000);
    await until('room A closed', () => (service.rooms.get(roomA) ? undefined : true), 5000);
    const call = service.registry.calls().find((c) => c.roomId === roomA);
    expect(call).toMatchObject({ kind: 'phone', callId: verdict.callId, phone: { platform: 'audiohook', platformCallId: a.options.conversationId } });
    expect(events.filter((e) => e.roomId === roomA).every((e) => e.phone?.platform === 'audiohook')).toBe(true);
    expect(call?.endedAt).toBeDefined();
    expect(service.audiohook!.streamCount).toBe(0);
    const states = events.filter((e) => e.type === 'verdict' && e.roomId === roomA).map((e) => (e.type === 'verdict' ? `${e.payload.state}/${e.payload.quality.bandwidth ?? ''}` : ''));
    process.stdout.write(`${JSON.stringify({ test: 'audiohook-ingest-e2e', verdicts: states, challenge: issued.payload.challengeType, deliveredTo: issued.payload.deliveredTo, outcome: outcome.payload.phase === 'outcome' ? outcome.payload.outcome : 'cancelled' })}\n`);
  }, 180_000);

  it('shutdown: an open session gets disconnect and 1001 ERR_SHUTTING_DOWN; new ones are refused with 503', async () => {
    const c = await connect();
    c.sendOpen();
    await c.next('opened');
    c.startStreaming(speech);
    service.beginShutdown();
    expect((await c.next('disconnect')).parameters).toMatchObject({ reason: 'error', info: 'ERR_SHUTTING_DOWN' });
    expect(await c.closed).toEqual({ code: 1001, reason: 'ERR_SHUTTING_DOWN' });
    await expect(AudioHookTestClient.connect(url, { apiKey: KEY })).rejects.toThrow(/503/);
    expect(service.audiohook!.streamCount).toBe(0);
  });
});
