import { describe, expect, it } from 'vitest';
import { PipelineEventPublisher } from './PipelineEventPublisher.js';
import { parseEvent, type DfdEvent } from '../events/schema.js';
import type { Verdict } from '../pipeline/verdict/ParticipantVerdict.js';
import type { StreamStats } from '../pipeline/media/protocol.js';
import type { DetectorScore } from '../pipeline/inference/InferenceBackend.js';

function setup(now: { t: number }) {
  const published: DfdEvent[] = [];
  const notified: { roomId: string; method: string; data: Record<string, unknown> }[] = [];
  const pub = new PipelineEventPublisher(
    {
      publish: (e) => published.push(e),
      base: (roomId, peerId) => ({ roomId, peerId, displayName: 'Caller', callId: 'c-1', phone: { platform: 'sip', tenant: 'acme' } }),
      notifyRoom: (roomId, method, data) => notified.push({ roomId, method, data }),
    },
    { now: () => now.t },
  );
  return { pub, published, notified };
}

const verdict: Verdict = {
  roomId: 'r1',
  peerId: 'caller',
  state: 'suspicious',
  pFake: 0.7,
  confidence: 0.6,
  evidence: { speechSeconds: 6.5, faceFrames: 3.4 },
  quality: { packetLoss: 0.01, concealed: 0, bitrate: 32000, bandwidth: 'NB', frameRate: 0, faceSize: 0 },
  dropped: { windows: 1, fraction: 0.05 },
  reason: 'voice',
  models: [{ id: 'voice-antispoof', version: '0.2.0', windows: 6 }, { id: 'voice-whisper', version: '0.1.0', windows: 1 }],
  updatedAt: 0,
};

describe('PipelineEventPublisher (pipeline domain events -> bus events)', () => {
  it('publishes a schema-valid verdict event with the envelope, and tells the room', () => {
    const { pub, published, notified } = setup({ t: 0 });
    pub.verdict(verdict);
    expect(published).toHaveLength(1);
    const e = parseEvent(Buffer.from(JSON.stringify(published[0])), 1 << 16);
    expect(e).toMatchObject({ type: 'verdict', roomId: 'r1', peerId: 'caller', callId: 'c-1', phone: { platform: 'sip', tenant: 'acme' } });
    // which detectors ran, and on how many windows each (a cascade stage sees one in N, fewer under load)
    expect(e.models).toEqual([{ id: 'voice-antispoof', version: '0.2.0', windows: 6 }, { id: 'voice-whisper', version: '0.1.0', windows: 1 }]);
    expect(e.type === 'verdict' && e.payload).toMatchObject({ state: 'suspicious', evidence: { speechSeconds: 6.5, faceFrames: 3 }, quality: { bandwidth: 'NB' }, dropped: { windows: 1 }, reason: 'voice' });
    expect(notified).toEqual([{ roomId: 'r1', method: 'verdict', data: expect.objectContaining({ peerId: 'caller', state: 'suspicious', reason: 'voice' }) }]);
    // An unknown bandwidth is left out rather than sent as something the schema refuses.
    pub.verdict({ ...verdict, quality: { ...verdict.quality, bandwidth: '?' } });
    expect(published[1]!.type === 'verdict' && 'bandwidth' in published[1]!.payload.quality).toBe(false);
  });

  it('maps a detector score to a score event', () => {
    const { pub, published } = setup({ t: 0 });
    const s = { stream: { roomId: 'r1', peerId: 'caller', producerId: 'p', kind: 'audio' }, detector: 'voice-antispoof', modelVersion: '0.2.0', pFake: 0.4, evidence: 2, seq: 7, queueMs: 3, inferenceMs: 1.5, weight: 0.25 } as unknown as DetectorScore;
    pub.score(s);
    expect(published[0]).toMatchObject({ type: 'score', models: [{ id: 'voice-antispoof', version: '0.2.0' }], payload: { detector: 'voice-antispoof', pFake: 0.4, windowSeq: 7, weight: 0.25 } });
  });

  it('sends at most one quality event per stream per interval, and forgets a closed stream', () => {
    const now = { t: 1000 };
    const { pub, published } = setup(now);
    const stats = (tapId: string): StreamStats =>
      ({ type: 'stats', tapId, stream: { roomId: 'r1', peerId: 'caller', producerId: 'p', kind: 'audio' }, audio: { packets: 95, lost: 5, concealedSamples: 800, codec: 'pcmu', clockRate: 8000 } }) as unknown as StreamStats;
    pub.stats(stats('a'));
    pub.stats(stats('a'));
    pub.stats(stats('b'));
    expect(published.map((e) => e.type)).toEqual(['quality', 'quality']);
    expect(published[0]!.type === 'quality' && published[0]!.payload.packetLoss).toBeCloseTo(0.05);
    now.t += 5000;
    pub.stats(stats('a'));
    expect(published).toHaveLength(3);
    pub.forgetStream('a');
    pub.stats(stats('a'));
    expect(published).toHaveLength(4);
  });

  it('maps a declared-voice match change to schema-valid declared events (a switch between voices is an end and a start)', () => {
    const { pub, published } = setup({ t: 0 });
    pub.declared({ roomId: 'r1', peerId: 'p1', voice: { id: 'dv-00000000000a', label: 'Bank IVR' }, previous: undefined, cosine: 0.81 });
    pub.declared({ roomId: 'r1', peerId: 'p1', voice: { id: 'dv-00000000000b', label: 'TTS user' }, previous: { id: 'dv-00000000000a', label: 'Bank IVR' }, cosine: 0.77 });
    pub.declared({ roomId: 'r1', peerId: 'p1', voice: undefined, previous: { id: 'dv-00000000000b', label: 'TTS user' }, cosine: 0.2 });
    const events = published.map((e) => parseEvent(Buffer.from(JSON.stringify(e)), 1 << 16));
    expect(events.map((e) => (e.type === 'declared' ? [e.payload.voiceId, e.payload.matched] : e.type))).toEqual([
      ['dv-00000000000a', true],
      ['dv-00000000000a', false],
      ['dv-00000000000b', true],
      ['dv-00000000000b', false],
    ]);
    expect(events[0]).toMatchObject({ roomId: 'r1', peerId: 'p1', type: 'declared', payload: { label: 'Bank IVR', cosine: 0.81 } });
  });
});
