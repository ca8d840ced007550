/**
 * A window's way to a remote analysis worker and back into a window there (workRequestOf on the
 * service, the wire, windowOf on the worker): what the worker's verdict weight and calibration
 * depend on (the window's channel, and a G.722 leg's mark) arrives as sent.
 */
import { describe, expect, it } from 'vitest';
import { decodeWorkRequest, encodeWorkRequest } from '../events/workWire.js';
import type { AudioWindow } from '../pipeline/messages.js';
import { windowOf } from './AnalysisWorkerNode.js';
import { workRequestOf } from './RemoteInference.js';

const base: AudioWindow = {
  type: 'audio-window',
  stream: { roomId: 'r1', peerId: 'caller', producerId: 'p-1', kind: 'audio' },
  seq: 7,
  sampleRate: 16000,
  samples: Float32Array.from({ length: 320 }, (_, i) => Math.sin(i / 5) * 0.25),
  rtpStart: 0,
  rtpEnd: 959,
  wallStart: 1000,
  wallEnd: 1020,
  speechSeconds: 0.02,
  quality: { packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'WB' },
};

function roundTrip(w: AudioWindow): AudioWindow {
  const { header, body } = workRequestOf(w);
  const back = decodeWorkRequest(encodeWorkRequest(header, body));
  const out = windowOf(back.header, back.body);
  if (out.type !== 'audio-window') throw new Error('audio expected');
  return out;
}

describe('work request of an audio window (service -> analysis worker)', () => {
  it("keeps a G.722 leg's mark and the channel family; the samples within one int16 step", () => {
    const g722 = roundTrip({ ...base, quality: { ...base.quality, codec: 'g722' } });
    expect(g722.quality).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'WB', codec: 'g722' });
    expect(g722.samples).toHaveLength(320);
    g722.samples.forEach((v, i) => expect(Math.abs(v - base.samples[i]!)).toBeLessThanOrEqual(1 / 32767));
    // a gateway's Opus leg's mark travels too (the worker weighs its score with verdict.weightSipOpus)
    expect(roundTrip({ ...base, quality: { ...base.quality, codec: 'sip-opus' } }).quality.codec).toBe('sip-opus');
    const phone = roundTrip({ ...base, quality: { ...base.quality, bandwidth: 'NB', channel: 'telephone' } });
    expect(phone.quality).toEqual({ packetLoss: 0, concealed: 0, bitrate: 64000, bandwidth: 'NB', channel: 'telephone' });
    // an unmarked window stays unmarked
    expect(roundTrip(base).quality).toEqual(base.quality);
  });
});
