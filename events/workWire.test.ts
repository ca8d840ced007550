import { describe, expect, it } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { decodeWorkReply, decodeWorkRequest, encodeWorkReply, encodeWorkRequest, MAX_WORK_BODY_BYTES, pcmOf, pcmToS16, type WorkRequestHeader } from './workWire.js';

const audio: WorkRequestHeader = {
  v: 1,
  type: 'audio-window',
  stream: { roomId: 'r1', peerId: 'caller', producerId: 'p-1', kind: 'audio' },
  seq: 3,
  sampleRate: 16000,
  samples: 4,
  rtpStart: 0,
  rtpEnd: 11,
  wallStart: 1000,
  wallEnd: 1000.25,
  speechSeconds: 0.25,
  quality: { packetLoss: 0, concealed: 0, bitrate: 24000, bandwidth: 'WB' },
};
const pcm = new Uint8Array(Float32Array.from([0.5, -0.25, 1, 0]).buffer);

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return isDfdError(e) ? e.code : String(e);
  }
};

describe('work wire (service <-> analysis worker)', () => {
  it('round-trips a window: header as sent, body as bytes, aligned for Float32Array even inside a Buffer at an odd offset', () => {
    const bytes = encodeWorkRequest(audio, pcm);
    const inBuffer = Buffer.concat([Buffer.from([7]), Buffer.from(bytes)]).subarray(1);
    expect(inBuffer.byteOffset % 4).not.toBe(0);
    const { header, body } = decodeWorkRequest(inBuffer);
    expect(header).toEqual(audio);
    expect(Array.from(new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4))).toEqual([0.5, -0.25, 1, 0]);
  });

  it('carries int16 PCM (encoding s16): half the bytes, within one int16 step of the float samples, clipped at full scale', () => {
    const x = Float32Array.from([0.5, -0.25, 1, 0, -1, 1.5, -2, 1e-5, Number.NaN]);
    const s16 = pcmToS16(x);
    expect(s16.byteLength).toBe(2 * x.length);
    const { header, body } = decodeWorkRequest(encodeWorkRequest({ ...audio, samples: x.length, encoding: 's16' }, s16));
    const back = pcmOf(header.type === 'audio-window' ? header.encoding : undefined, body);
    const expected = [0.5, -0.25, 1, 0, -1, 1, -32768 / 32767, 0, 0];
    back.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(0.5 / 32767 + 1e-9));
    // The body must hold 2 bytes per sample for s16, 4 for f32 (or no encoding).
    expect(code(() => decodeWorkRequest(encodeWorkRequest({ ...audio, encoding: 's16' }, pcm)))).toBe('ERR_WORK_MESSAGE');
    expect(code(() => decodeWorkRequest(encodeWorkRequest({ ...audio, encoding: 'f32' }, pcm)))).toBeUndefined();
    expect(code(() => decodeWorkRequest(encodeWorkRequest({ ...audio, encoding: 'u8' } as unknown as WorkRequestHeader, pcm)))).toBe('ERR_WORK_MESSAGE');
  });

  it('refuses with ERR_WORK_MESSAGE: another magic or version, a bad length, bad JSON, a header off its schema, a body of the wrong size', () => {
    const good = encodeWorkRequest(audio, pcm);
    const other = good.slice();
    other[3] = 2;
    const longHeader = good.slice();
    new DataView(longHeader.buffer).setUint32(4, 1 << 30, false);
    const notJson = encodeWorkRequest(audio, pcm);
    notJson[8] = 0x7b + 1;
    for (const bad of [
      new Uint8Array([1, 2, 3]),
      other,
      longHeader,
      notJson,
      encodeWorkRequest({ ...audio, sampleRate: 1 }, pcm),
      encodeWorkRequest({ ...audio, stream: { ...audio.stream, roomId: 'a b' } }, pcm),
      encodeWorkRequest({ ...audio, extra: true } as unknown as WorkRequestHeader, pcm),
      encodeWorkRequest({ ...audio, quality: { ...audio.quality, codec: 'amr' } } as unknown as WorkRequestHeader, pcm),
      encodeWorkRequest(audio, pcm.subarray(0, 12)),
      encodeWorkRequest({ ...audio, samples: MAX_WORK_BODY_BYTES }, pcm),
    ])
      expect(code(() => decodeWorkRequest(bad))).toBe('ERR_WORK_MESSAGE');
  });

  it('replies: results or an error, validated; anything else is ERR_WORK_MESSAGE', () => {
    const ok = { v: 1 as const, results: [{ type: 'score' as const, detector: 'voice-antispoof', task: 'voice-antispoof', weight: 0.25, modelVersion: '0.2.0', pFake: 0.7, evidence: 2, queueMs: 1, inferenceMs: 2 }] };
    expect(decodeWorkReply(encodeWorkReply(ok))).toEqual(ok);
    expect(decodeWorkReply(encodeWorkReply({ v: 1, error: { code: 'ERR_WORKER_BUSY', message: 'busy' } }))).toMatchObject({ error: { code: 'ERR_WORKER_BUSY' } });
    for (const bad of ['{', '{"v":2,"results":[]}', JSON.stringify({ ...ok, results: [{ ...ok.results[0], pFake: 1.5 }] }), JSON.stringify({ v: 1, results: [{ type: 'vote', detector: 'x' }] })])
      expect(code(() => decodeWorkReply(new TextEncoder().encode(bad)))).toBe('ERR_WORK_MESSAGE');
  });
});
