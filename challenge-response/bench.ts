/**
 * Challenge-response benchmark: prints JSON.
 *   nice -n 10 node --import tsx challenge-response/bench.ts
 * - analyse: CPU ms per second of 16 kHz audio for the full measurement pass.
 * - prompt: espeak-ng synthesis latency for a typical prompt.
 * - pacing: inter-arrival jitter of prompt RTP at a DirectTransport consumer (real worker).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseAudio } from './dsp/analyse.js';
import { synthesizePrompt } from './prompt/PromptAudio.js';
import { PromptInjector } from './prompt/PromptInjector.js';
import { espeak } from './testing/signals.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env['MEDIASOUP_WORKER_BIN'] ??= path.join(repo, '.deps/mediasoup-worker/mediasoup-worker');

const q = (v: number[], p: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] ?? Number.NaN;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

const clip = espeak('The orange boat drifted slowly past the harbour wall while the gulls circled overhead');
const runs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  analyseAudio(clip);
  runs.push(performance.now() - t0);
}
const audioSec = clip.length / 16000;

const synth: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  await synthesizePrompt({ text: 'Please whisper this phrase. The orange boat drifted slowly past the harbour wall.' });
  synth.push(performance.now() - t0);
}

const mediasoup = await import('mediasoup');
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
const injector = await PromptInjector.create(router, 'bench');
const recv = await router.createDirectTransport({ maxMessageSize: 262144 });
const consumer = await recv.consume({ producerId: injector.producerId, rtpCapabilities: router.rtpCapabilities });
const arrivals: number[] = [];
consumer.on('rtp', () => arrivals.push(performance.now()));
const t0 = performance.now();
await injector.play(new Int16Array(48000 * 5));
const wall = performance.now() - t0;
await new Promise((res) => setTimeout(res, 100));
const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? t));
const drift = arrivals.map((t, i) => t - (arrivals[0] ?? t) - i * 20);
worker.close();

console.log(
  JSON.stringify({
    analyse: { audioSec: r2(audioSec), msPerAudioSecMedian: r2(q(runs, 0.5) / audioSec), realTimeFactor: r2(q(runs, 0.5) / 1000 / audioSec) },
    prompt: { synthMsMedian: r2(q(synth, 0.5)) },
    pacing: {
      packets: arrivals.length,
      expected: 250,
      playWallMs: r2(wall),
      gapMsP50: r2(q(gaps, 0.5)),
      gapMsP99: r2(q(gaps, 0.99)),
      gapMsMax: r2(Math.max(...gaps)),
      driftMsMaxAbs: r2(Math.max(...drift.map(Math.abs))),
    },
  }),
);
