/**
 * Checks the committed speaker-embedding model (a port of resemblyzer's pretrained GE2E encoder,
 * detectors/training/speaker/): manifest schema and file hash, tensor names and shapes, unit-length
 * output, and on real recordings of two real people (Debian's LibriVox reader and asterisk's
 * "Allison") that windows of one person are closer to each other than to the other person's.
 * The measured detection and false-alarm rates are in detectors/training/speaker/README.md.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../registry/Manifest.js';
import { loadSpeaker, missingRealSpeech, realSpeakerSources } from '../../../challenge-response/testing/realSpeech.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const WINDOW = 25600;
const manifest = parseManifest(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')));

/** 1.6 s windows every 0.8 s over the loud parts (at least -50 dBFS RMS, as the model's recipe skips). */
function windows(x: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let s = 0; s + WINDOW <= x.length; s += WINDOW / 2) {
    const w = x.subarray(s, s + WINDOW);
    let e = 0;
    for (const v of w) e += v * v;
    if (10 * Math.log10(e / WINDOW + 1e-12) >= -50) out.push(Float32Array.from(w));
  }
  return out;
}

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

describe('speaker-embed model', () => {
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(path.join(dir, manifest.file));
  });

  afterAll(async () => {
    await session?.release();
  });

  const embed = async (ws: Float32Array[]): Promise<Float32Array[]> => {
    const data = new Float32Array(ws.length * WINDOW);
    ws.forEach((w, i) => data.set(w, i * WINDOW));
    const r = await session.run({ waveform: new ort.Tensor('float32', data, [ws.length, WINDOW]) });
    const e = r['embedding']!.data as Float32Array;
    return ws.map((_, i) => e.slice(i * 256, (i + 1) * 256));
  };

  it('manifest matches the contract (task, audio, takeover rule) and the file hash', () => {
    expect(manifest).toMatchObject({ id: 'speaker-embed', task: 'speaker-embed', inputs: [{ name: 'waveform', shape: ['batch', WINDOW] }], outputs: [{ name: 'embedding', shape: ['batch', 256] }] });
    expect(manifest.audio).toMatchObject({ sampleRate: 16000, minSeconds: 1.6, maxSeconds: 1.6, normalize: 'none' });
    expect(manifest.takeover).toMatchObject({ K: 6, M: 2 });
    expect(manifest.takeover!.T).toBeGreaterThan(0);
    expect(createHash('sha256').update(fs.readFileSync(path.join(dir, manifest.file))).digest('hex')).toBe(manifest.sha256);
    expect(fs.existsSync(path.join(dir, 'LICENSE-resemblyzer'))).toBe(true);
  });

  it('gives unit-length embeddings; one person is closer to themself than to another person, on real recordings', async () => {
    const missing = missingRealSpeech();
    if (missing.length > 0) throw new Error(missing.join('; '));
    const [reader, allison] = realSpeakerSources.map((s) => loadSpeaker(s).baseline.flatMap(windows));
    expect(reader!.length).toBeGreaterThanOrEqual(8);
    expect(allison!.length).toBeGreaterThanOrEqual(8);
    const r = await embed(reader!);
    const a = await embed(allison!);
    for (const v of [...r, ...a]) expect(Math.abs(Math.sqrt(dot(v, v)) - 1)).toBeLessThan(1e-3);
    // The enrolment profile of each person (normalised mean of the first K windows), as the service builds it.
    const K = manifest.takeover!.K;
    const profile = (vs: Float32Array[]): Float32Array => {
      const m = new Float32Array(256);
      for (const v of vs.slice(0, K)) for (let i = 0; i < 256; i++) m[i]! += v[i]!;
      const n = Math.sqrt(dot(m, m));
      return m.map((x) => x / n);
    };
    const T = manifest.takeover!.T;
    const same = r.slice(K).map((v) => dot(v, profile(r)));
    const other = a.map((v) => dot(v, profile(r)));
    const sameA = a.slice(K).map((v) => dot(v, profile(a)));
    const otherA = r.map((v) => dot(v, profile(a)));
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    process.stdout.write(`${JSON.stringify({ test: 'speaker-embed', T, readerSame: mean(same), readerVsAllison: mean(other), allisonSame: mean(sameA), allisonVsReader: mean(otherA) })}\n`);
    expect(mean(same)).toBeGreaterThan(T);
    expect(mean(sameA)).toBeGreaterThan(T);
    expect(Math.max(...other)).toBeLessThan(T);
    expect(Math.max(...otherA)).toBeLessThan(T);
  });
});
