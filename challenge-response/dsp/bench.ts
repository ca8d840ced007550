/**
 * Challenge-response analysis benchmark (the speaker baseline's cost): CPU ms per second of
 * 16 kHz speech for the full measurement pass (`analyseAudio`) and its parts, run on 4 s
 * chunks as the baseline analyses them, for one stream and per stream with 8 streams on the one
 * analysis thread. Prints one JSON object.
 *
 *   node --import tsx challenge-response/dsp/bench.ts [seconds=20]
 *
 * Input: the real speech fixture (LibriVox reader and Asterisk's Allison, test/fixtures/build.ts)
 * when it is built, else the espeak-ng fixture. CPU time is process.cpuUsage() (user + system),
 * the median of several passes over all chunks.
 */
import fs from 'node:fs';
import { ensureFixtures, fixtures, voiceFixtures } from '../../test/fixtures/build.js';
import { analyseAudio, defaultAnalyseOptions } from './analyse.js';
import { frameLevels } from './level.js';
import { spectralShape } from './spectrum.js';
import { parseWav, resample } from './wav.js';
import { yinTrack } from './yin.js';
import { yinTrackReference } from './testing/yinReference.js';

const SR = 16000;
const CHUNK = 4 * SR;

function cpuMs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? Number.NaN;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 20);
  await ensureFixtures();
  const source = fs.existsSync(voiceFixtures.realSpeechWav) ? voiceFixtures.realSpeechWav : fixtures.speechWav;
  const clip = parseWav(fs.readFileSync(source));
  const speech = resample(clip.samples, clip.sampleRate, SR);
  const audio = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < audio.length; i += speech.length) audio.set(speech.subarray(0, Math.min(speech.length, audio.length - i)), i);
  const chunks: Float32Array[] = [];
  for (let i = 0; i + CHUNK <= audio.length; i += CHUNK) chunks.push(audio.slice(i, i + CHUNK));
  const audioSeconds = (chunks.length * CHUNK) / SR;
  const o = defaultAnalyseOptions;
  const yinOpts = { sampleRate: o.sampleRate, hop: o.hop, window: o.frameLength, minF0: o.minF0, maxF0: o.maxF0, maxAperiodicity: o.maxAperiodicity, silenceDbfs: o.silenceDbfs };
  const starts = chunks.map((c) => {
    const out: number[] = [];
    frameLevels(c, o.frameLength, o.hop).forEach((lv, i) => {
      if (lv > o.silenceDbfs) out.push(i * o.hop);
    });
    return out;
  });
  const stages: Record<string, () => void> = {
    analyse: () => chunks.forEach((c) => analyseAudio(c)),
    yin: () => chunks.forEach((c) => yinTrack(c, yinOpts)),
    yinReference: () => chunks.forEach((c) => yinTrackReference(c, yinOpts)),
    spectralShape: () => chunks.forEach((c, i) => spectralShape(c, starts[i]!, { sampleRate: SR, fftSize: 512 })),
  };
  // Eight streams on the one analysis thread, chunks interleaved (each stream starts elsewhere in the speech).
  const STREAMS = 8;
  const multi: Float32Array[] = [];
  for (let k = 0; k < chunks.length; k++) for (let s = 0; s < STREAMS; s++) multi.push(chunks[(k + s) % chunks.length]!);
  stages['analysePerStreamWith8Streams'] = () => multi.forEach((c) => analyseAudio(c));
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(stages)) {
    fn(); // warm-up (JIT)
    const runs = Array.from({ length: 5 }, () => cpuMs(fn));
    out[name] = +(median(runs) / audioSeconds / (name === 'analysePerStreamWith8Streams' ? STREAMS : 1)).toFixed(3);
  }
  // Same f0 track? (frames voiced in one and not the other, largest f0 difference in Hz).
  let voicingMismatch = 0;
  let maxF0DiffHz = 0;
  for (const c of chunks) {
    const a = yinTrackReference(c, yinOpts).f0;
    const b = yinTrack(c, yinOpts).f0;
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) voicingMismatch++;
      else if (!Number.isNaN(a[i]!)) maxF0DiffHz = Math.max(maxF0DiffHz, Math.abs(a[i]! - b[i]!));
    }
  }
  console.log(
    JSON.stringify({
      input: source.replace(/^.*\//, ''),
      audioSeconds,
      chunkSeconds: CHUNK / SR,
      cpuMsPerAudioSecond: out,
      yinSpeedup: +((out['yinReference'] ?? 0) / (out['yin'] ?? 1)).toFixed(2),
      yinVsReference: { voicingMismatch, maxF0DiffHz: +maxF0DiffHz.toExponential(2) },
      node: process.version,
    }),
  );
}

await main();
