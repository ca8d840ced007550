/**
 * End-to-end runs of the evaluation tool on fixtures made here (espeak-ng speech, sox
 * tones and noise, an mp3, a corrupt file; two short face videos made with ffmpeg from
 * @vladmandic/face-api's sample1.jpg) with the real test ONNX graphs of
 * detectors/testing/testModels.ts, plus a preprocessing parity check against an
 * independent float64 reference.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { buildTestModels, sha256Hex, voiceLogitJs, voiceManifest, voiceModelBytes, writeModel, type BuiltModel } from '../testing/testModels.js';
import { ModelRegistry } from '../registry/ModelRegistry.js';
import { preprocessAudio } from '../../pipeline/inference/preprocess.js';
import type { AudioWindow } from '../../pipeline/messages.js';
import { defaultEvalOptions, parseCliArgs, runEval, type EvalOptions, type EvalReport } from './cli.js';
import { loadConfig } from '../../src/config.js';
import { benchModel } from './benchModel.js';
import { audioWindowsOf, decodeAudio48k, resampleTo } from './clipMedia.js';
import { WorkerInference } from './WorkerInference.js';
import { readPng } from './plots.js';

let dir: string;
let models: { voice: BuiltModel; face: BuiltModel };
const SAMPLE = path.resolve('node_modules/@vladmandic/face-api/demo/sample1.jpg');

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore', cwd: dir });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-eval-'));
  models = buildTestModels(path.join(dir, 'models'));
  fs.mkdirSync(path.join(dir, 'a'));
  fs.mkdirSync(path.join(dir, 'v'));
  sh('espeak-ng', ['-w', 'a/b1.wav', 'the quick brown fox jumps over the lazy dog']);
  sh('espeak-ng', ['-s', '130', '-v', 'en-us', '-w', 'a/b2.wav', 'please call me back this afternoon']);
  sh('sox', ['-n', '-r', '22050', 'a/s1.flac', 'synth', '2.5', 'sine', '220', 'vol', '0.5']);
  sh('sox', ['-n', '-r', '44100', 'a/s2.wav', 'synth', '0.3', 'pinknoise', 'vol', '0.3']); // shorter than minSeconds
  sh('ffmpeg', ['-loglevel', 'error', '-i', 'a/b1.wav', 'a/s3.mp3']);
  fs.writeFileSync(path.join(dir, 'a', 'corrupt.wav'), 'RIFF....WAVEfmt garbage');
  fs.writeFileSync(
    path.join(dir, 'audio.tsv'),
    ['path\tlabel\tgenerator\tsource', 'a/b1.wav\tbonafide\t-\tx1', 'a/b2.wav\tbonafide\t-\tx2', 'a/s1.flac\tspoof\ttone\tx3', 'a/s2.wav\tspoof\tnoise\tx4', 'a/s3.mp3\tspoof\tmp3\tx5', 'a/corrupt.wav\tspoof\tnoise\tx6', 'a/missing.wav\tbonafide\t-\tx7'].join('\n') + '\n',
  );
  const still = ['-loglevel', 'error', '-loop', '1', '-i', SAMPLE, '-t', '1.2', '-r', '10'];
  // One face (the photo's right-hand one) with the camera panning, as a webcam moves; and the same view frozen.
  const pan = 'crop=640:480:1230+60*t:60+20*t';
  sh('ffmpeg', [...still, '-vf', `${pan},format=yuv420p`, '-c:v', 'libx264', '-preset', 'ultrafast', 'v/real.mp4']);
  sh('ffmpeg', [...still, '-vf', `${pan},hue=h=60:s=1.6,format=yuv420p`, '-c:v', 'libx264', '-preset', 'ultrafast', 'v/fake.mp4']);
  sh('ffmpeg', [...still, '-vf', 'crop=640:480:1230:60,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', 'v/frozen.mp4']);
  sh('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=160x120:d=0.6', '-r', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', 'v/noface.mp4']);
  fs.writeFileSync(path.join(dir, 'video.tsv'), ['path\tlabel\tgenerator', 'v/real.mp4\treal\t-', 'v/fake.mp4\tfake\thue', 'v/noface.mp4\tfake\tnone', 'v/frozen.mp4\treal\t-'].join('\n') + '\n');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function checkShape(r: EvalReport): void {
  expect(r.tool).toBe('dfd-eval');
  expect(r.dcf).toMatchObject({ cMiss: 1, cFa: 10, pSpoof: 0.05 });
  expect(r.thresholds[0]).toMatchObject({ value: 0.6 });
  if ('error' in r.overall) throw new Error(r.overall.error);
  for (const k of ['eer', 'auroc', 'minDcf', 'cllr', 'minCllr'] as const) expect(Number.isFinite(r.overall[k])).toBe(true);
  expect(r.overall.actDcf.map((a) => a.threshold)).toEqual(r.thresholds.map((t) => t.value));
  for (const c of r.clips) {
    expect(Number.isFinite(c.logit)).toBe(true);
    expect(c.pFake).toBeGreaterThan(0);
    expect(c.pFake).toBeLessThan(1);
    expect(c.windows).toBeGreaterThanOrEqual(1);
  }
  const onDisk = JSON.parse(fs.readFileSync(r.files.json, 'utf8')) as EvalReport;
  expect(onDisk.counts).toEqual(r.counts);
  for (const f of [r.files.roc, r.files.det]) {
    expect(f).not.toBeNull();
    const png = readPng(fs.readFileSync(f!));
    expect(png.width).toBeGreaterThan(100);
    expect(png.rows.length).toBe(png.height * (1 + png.width * 3));
  }
}

describe('npm run eval (audio)', () => {
  it('scores every readable clip through the worker, lists the unreadable ones and writes JSON + PNGs', async () => {
    const r = await runEval({ tsv: path.join(dir, 'audio.tsv'), model: models.voice.dir, outDir: path.join(dir, 'out'), progress: false });
    checkShape(r);
    expect(r.kind).toBe('audio');
    expect(r.counts).toEqual({ listed: 7, scored: 5, failed: 2 });
    expect(r.clips.map((c) => c.path).sort()).toEqual(['a/b1.wav', 'a/b2.wav', 'a/s1.flac', 'a/s2.wav', 'a/s3.mp3']);
    expect(r.failures).toEqual([
      { path: 'a/corrupt.wav', line: 7, code: 'ERR_DECODE_FAILED' },
      { path: 'a/missing.wav', line: 8, code: 'ERR_DECODE_FAILED' },
    ]);
    expect(r.clips.find((c) => c.path === 'a/s2.wav')).toMatchObject({ padded: true, windows: 1 });
    expect(r.clips.find((c) => c.path === 'a/s1.flac')).toMatchObject({ padded: false, windows: 2 }); // 2.5 s: 0-2 and 0.5-2.5
    // generator has 4 levels (kept), source names each clip (kept too: 7 levels <= 50)
    expect(Object.keys(r.breakdowns).sort()).toEqual(['generator', 'source']);
    expect(r.files.json.endsWith('eval-test-voice.json')).toBe(true);
    // calibration: z = a * logit + b with the manifest's a = 1.5, b = -0.25
    for (const c of r.clips) expect(c.z).toBeCloseTo(1.5 * c.logit - 0.25, 9);
  });

  it('runs the real Opus path and changes the scores', async () => {
    const plain = await runEval({ tsv: path.join(dir, 'audio.tsv'), model: models.voice.dir, outDir: path.join(dir, 'out'), progress: false });
    const coded = await runEval({ tsv: path.join(dir, 'audio.tsv'), model: models.voice.dir, outDir: path.join(dir, 'out'), opusBitrate: 12000, progress: false });
    checkShape(coded);
    expect(coded.files.json.endsWith('eval-test-voice-opus12000.json')).toBe(true);
    expect(coded.counts.scored).toBe(5);
    const diff = coded.clips.map((c, i) => Math.abs(c.logit - plain.clips[i]!.logit));
    expect(Math.max(...diff)).toBeGreaterThan(1e-4);
  });

  it('rejects a bad list with ERR_EVAL_TSV and a model of the wrong task with ERR_CONFIG', async () => {
    const bad = path.join(dir, 'bad.tsv');
    fs.writeFileSync(bad, 'path\tlabel\na/b1.wav\tgenuine\n');
    await expect(runEval({ tsv: bad, model: models.voice.dir, outDir: path.join(dir, 'out'), progress: false })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_EVAL_TSV');
    await expect(runEval({ tsv: path.join(dir, 'nope.tsv'), progress: false })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_EVAL_TSV');
    await expect(runEval({ tsv: path.join(dir, 'audio.tsv'), model: models.face.dir, outDir: path.join(dir, 'out'), progress: false })).rejects.toSatisfy(
      (e) => isDfdError(e) && e.code === 'ERR_CONFIG',
    );
  });

  it('parses the command line', () => {
    expect(parseCliArgs(['list.tsv', '--model', 'm', '--opus', '24000', '--out', 'o', '--quiet'])).toEqual({ tsv: 'list.tsv', model: 'm', opusBitrate: 24000, outDir: 'o', progress: false });
    expect(parseCliArgs(['l.tsv', '--window', '4', '--hop', '2'])).toMatchObject({ windowSeconds: 4, hopSeconds: 2, progress: true });
    expect(parseCliArgs(['l.tsv', '--forgery-frames', '0'])).toMatchObject({ faceForgeryFrames: 0 });
    expect(() => parseCliArgs(['l.tsv', '--forgery-frames', '-1'])).toThrow(/forgery-frames/);
    expect(() => parseCliArgs([])).toThrow();
    expect(() => parseCliArgs(['l.tsv', '--window', '0'])).toThrow();
    expect(() => parseCliArgs(['a.tsv', '--opus', 'fast'])).toThrow();
  });
});

describe('npm run eval --channel', () => {
  const run = (extra: Partial<EvalOptions>): Promise<EvalReport> =>
    runEval({ tsv: path.join(dir, 'audio.tsv'), model: models.voice.dir, outDir: path.join(dir, 'out-ch'), progress: false, ...extra });

  it('clean is the plain chain, named in the file and the report', async () => {
    const plain = await run({});
    const clean = await run({ channel: 'clean' });
    expect(clean.files.json.endsWith('eval-test-voice-clean.json')).toBe(true);
    expect(clean.channel).toMatchObject({ name: 'clean', codec: 'none', packets: 0, lostPackets: 0, calibration: { channel: 'wideband', a: 1.5, b: -0.25 } });
    expect(clean.clips.map((c) => c.logit)).toEqual(plain.clips.map((c) => c.logit));
    expect(plain.channel?.name).toBe('clean');
    expect(plain.files.json.endsWith('eval-test-voice.json')).toBe(true);
  });

  it('opus24 equals --opus 24000; opus12loss loses round(5 %) of each clip\'s packets after the first and changes the scores', async () => {
    const legacy = await run({ opusBitrate: 24000 });
    const o24 = await run({ channel: 'opus24' });
    const loss = await run({ channel: 'opus12loss' });
    for (const r of [o24, loss]) checkShape(r);
    expect(o24.files.json.endsWith('eval-test-voice-opus24.json')).toBe(true);
    expect(loss.files.json.endsWith('eval-test-voice-opus12loss.json')).toBe(true);
    expect(legacy.channel).toMatchObject({ name: 'opus24000', lostPackets: 0 });
    expect(o24.clips.map((c) => c.logit)).toEqual(legacy.clips.map((c) => c.logit));
    // Per clip: ceil(48 kHz samples / 960) packets, round(0.05 * (packets - 1)) of them lost.
    let expected = 0;
    let packets = 0;
    for (const c of loss.clips) {
      const n = Math.ceil((await decodeAudio48k(path.join(dir, c.path), 120)).length / 960);
      packets += n;
      expected += Math.round(0.05 * (n - 1));
    }
    expect(loss.channel).toMatchObject({ name: 'opus12loss', codec: 'opus', bitrate: 12000, lossRate: 0.05, lossSeed: 1, packets, lostPackets: expected });
    expect(loss.channel!.concealedSeconds).toBeCloseTo(expected * 0.02, 9);
    expect(expected).toBeGreaterThan(0);
    const diff = loss.clips.map((c, i) => Math.abs(c.logit - o24.clips[i]!.logit));
    expect(Math.max(...diff)).toBeGreaterThan(1e-4);
    expect(String(loss.settings['audioChain'])).toContain('OpusDecoder.conceal');
  });

  it('g711 scores with calibration.telephone when the manifest has one, else with the main calibration', async () => {
    const bytes = voiceModelBytes();
    const base = voiceManifest(sha256Hex(bytes), 'test-voice-tel');
    const tel = writeModel(path.join(dir, 'models'), { ...base, calibration: { ...base.calibration, telephone: { a: -0.5, b: 2, fittedOn: 'test' } } }, bytes);
    const withTel = await run({ channel: 'g711', model: tel.dir });
    const without = await run({ channel: 'g711' });
    checkShape(withTel);
    expect(withTel.files.json.endsWith('eval-test-voice-tel-g711.json')).toBe(true);
    expect(withTel.channel).toMatchObject({ name: 'g711', codec: 'g711', bitrate: 64000, calibration: { channel: 'telephone', a: -0.5, b: 2 } });
    for (const c of withTel.clips) expect(c.z).toBeCloseTo(-0.5 * c.logit + 2, 9);
    expect(without.channel?.calibration).toMatchObject({ channel: 'telephone', a: 1.5, b: -0.25 });
    for (const c of without.clips) expect(c.z).toBeCloseTo(1.5 * c.logit - 0.25, 9);
    // Same model bytes, same chain: the logits agree, only the calibration differs.
    expect(withTel.clips.map((c) => c.logit)).toEqual(without.clips.map((c) => c.logit));
    // The wideband channels keep the main calibration on the same manifest.
    const wide = await run({ channel: 'clean', model: tel.dir });
    for (const c of wide.clips) expect(c.z).toBeCloseTo(1.5 * c.logit - 0.25, 9);
  });

  it('--channel with --opus is ERR_CONFIG before anything runs', async () => {
    await expect(run({ channel: 'g711', opusBitrate: 24000 })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
    await expect(run({ channel: 'pstn' as 'g711' })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
  });
});

describe('npm run eval (video)', () => {
  it('finds faces with FaceAnalyzer, scores 5-frame windows, lists a video without a face and sets a frozen one aside as the service would', async () => {
    const r = await runEval({ tsv: path.join(dir, 'video.tsv'), model: models.face.dir, outDir: path.join(dir, 'out'), progress: false });
    checkShape(r);
    expect(r.kind).toBe('video');
    expect(r.counts).toEqual({ listed: 4, scored: 2, failed: 2 });
    expect(r.failures).toEqual([
      { path: 'v/noface.mp4', line: 4, code: 'NO_FACE' },
      { path: 'v/frozen.mp4', line: 5, code: 'UNJUDGEABLE_VIDEO', abstained: { frozen: expect.any(Number) } },
    ]);
    // the failure says why: every window was set aside as frozen
    expect(r.failures[1]!.abstained!.frozen).toBeGreaterThanOrEqual(1);
    expect(r.channel).toBeNull();
    for (const c of r.clips) {
      expect(c.framesSampled).toBe(6); // 1.2 s at 5 fps
      expect(c.facesFound).toBe(6);
      expect(c.windows).toBe(2); // 5 + 1 frames
      expect(c.abstained).toBeUndefined();
    }
    // the face-less clip's frames are analysed too (ffmpeg's fps filter gives it 3 or 4)
    expect(r.timing.frames).toBeGreaterThanOrEqual(6 + 6 + 3 + 6);
    // the face-forgery model scores the service's share of each window's frames, rotating (DFD_FACE_FORGERY_FRAMES)
    expect(defaultEvalOptions.faceForgeryFrames).toBe(loadConfig({}).faceForgeryFrames);
    expect(r.settings).toMatchObject({ faceForgeryFrames: 2 });
    expect(String(r.settings['videoChain'])).toContain('2 frames of each window scored');
    const all = await runEval({ tsv: path.join(dir, 'video.tsv'), model: models.face.dir, outDir: path.join(dir, 'out-all'), progress: false, faceForgeryFrames: 0 });
    expect(String(all.settings['videoChain'])).toContain('every frame scored');
    expect(all.clips.map((c) => c.path)).toEqual(r.clips.map((c) => c.path));
    // window 1 (5 frames) scores frames 0-1 of 5 with 2, all five with 0; window 2 (1 frame) is the same either way
    expect(all.clips.some((c, i) => Math.abs(c.logit - r.clips[i]!.logit) > 1e-6)).toBe(true);
  });
});

describe('--bench', () => {
  it('runs service-sized windows of either kind through the worker and reports per-window cost', async () => {
    const v = await benchModel(models.voice.dir, path.join(dir, 'models'), 4);
    expect(v).toMatchObject({ model: 'test-voice', window: '2 s audio at 16000 Hz', iterations: 4 });
    const f = await benchModel('test-face', path.join(dir, 'models'), 2);
    expect(f).toMatchObject({ model: 'test-face', window: '5 face crops 256x256', iterations: 2 });
    for (const r of [v, f]) {
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.p90Ms).toBeGreaterThanOrEqual(r.medianMs);
    }
    expect(parseCliArgs(['--bench', '20', '--model', 'voice-antispoof'])).toMatchObject({ bench: 20, model: 'voice-antispoof' });
  });

  it('times the shipped speaker-embedding model too (a model that answers vectors, not scores)', async () => {
    const shipped = path.resolve(import.meta.dirname, '..', 'models');
    const r = await benchModel('speaker-embed', shipped, 2);
    expect(r).toMatchObject({ model: 'speaker-embed', window: '2 s audio at 16000 Hz', iterations: 2 });
    expect(r.medianMs).toBeGreaterThan(0);
    // A model the worker does not run on windows is refused with a typed error.
    await expect(benchModel('face-detect', shipped, 1)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });
});

describe('preprocessing parity', () => {
  it('preprocess.ts matches an independent float64 reference within 1e-6, and the worker logit matches the graph formula', async () => {
    const spec = models.voice.manifest.audio!;
    const x48 = await decodeAudio48k(path.join(dir, 'a', 'b1.wav'), 60);
    const x = resampleTo(x48, spec.sampleRate);
    const { windows } = audioWindowsOf(x, spec.sampleRate, spec, 2, 1);
    const w = windows[0]!;
    // Reference: mean removal, RMS to -26 dBFS, gain capped at 100, clip to [-1, 1], in float64.
    const n = w.length;
    let mu = 0;
    for (const v of w) mu += v;
    mu /= n;
    let ss = 0;
    for (const v of w) ss += (v - mu) ** 2;
    const gain = Math.min(100, 10 ** (-26 / 20) / Math.sqrt(ss / n));
    const ref = Array.from(w, (v) => Math.max(-1, Math.min(1, (v - mu) * gain)));
    const ts = preprocessAudio(w, spec.sampleRate, spec);
    let maxDiff = 0;
    for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(ts[i]! - ref[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    // The resampled 16 kHz signal keeps the clip's duration.
    expect(Math.abs(x.length / spec.sampleRate - x48.length / 48000)).toBeLessThan(0.01);

    const registry = new ModelRegistry({ dir: path.join(dir, 'models') });
    await registry.load();
    const inf = await WorkerInference.open(registry.get('test-voice'));
    try {
      const win: AudioWindow = {
        type: 'audio-window',
        stream: { roomId: 'r', peerId: 'p', producerId: 'x', kind: 'audio' },
        seq: 0,
        sampleRate: spec.sampleRate,
        samples: w.slice(),
        rtpStart: 0,
        rtpEnd: 0,
        wallStart: 0,
        wallEnd: 0,
        speechSeconds: 2,
        quality: { packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'none' },
      };
      const r = await inf.run([win]);
      expect(r.logits[0]!).toBeCloseTo(voiceLogitJs(Float32Array.from(ref)), 4);
    } finally {
      await inf.close();
    }
  });
});
