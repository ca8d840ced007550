/**
 * Audio path benchmark: CPU microseconds spent per second of audio, per stage and for the
 * whole AudioStreamProcessor. Prints one JSON object.
 *
 * Stages: `decode16k` is what the processor runs (libopus straight to 16 kHz); `decode` (48 kHz)
 * plus `resample` (48 -> 16 kHz) is the path it replaced, kept for comparison; `concealUsPerCall`
 * is one libopus PLC call at 16 kHz (a lost packet or a DTX gap).
 *
 *   node --import tsx pipeline/audio/bench.ts [seconds=60]
 *
 * CPU time is process.cpuUsage() (user + system) around each stage, so it is meaningful
 * even on a busy machine; wall time is printed too.
 */
import { ensureFixtures, fixtures } from '../../test/fixtures/build.js';
import type { AudioWindow } from '../messages.js';
import { AudioStreamProcessor } from './AudioStreamProcessor.js';
import { OpusDecoder } from './OpusDecoder.js';
import { Resampler } from './Resampler.js';
import { SileroVadModel, VAD_FRAME } from './SileroVad.js';
import { encodeOpus, packetise, readWav } from '../testing/audioSupport.js';

function cpuUs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return d.user + d.system;
}

async function cpuUsAsync(fn: () => Promise<void>): Promise<{ cpu: number; wall: number }> {
  const t = process.cpuUsage();
  const w = performance.now();
  await fn();
  const d = process.cpuUsage(t);
  return { cpu: d.user + d.system, wall: performance.now() - w };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 60);
  await ensureFixtures();
  const speech = readWav(fixtures.speechWav).samples;
  // Loop the speech fixture to the requested length.
  const audio = new Float32Array(Math.round(seconds * 48000));
  for (let i = 0; i < audio.length; i += speech.length) audio.set(speech.subarray(0, Math.min(speech.length, audio.length - i)), i);
  const payloads = encodeOpus(audio, 32000);
  const audioSeconds = (payloads.length * 960) / 48000;

  // Decode.
  const dec = new OpusDecoder();
  const pcm48 = new Float32Array(payloads.length * 960);
  const decodeUs = cpuUs(() => payloads.forEach((p, i) => pcm48.set(dec.decode(p), i * 960)));

  // Decode straight to 16 kHz (the processor's path).
  const dec16 = new OpusDecoder({ sampleRate: 16000 });
  const decode16Us = cpuUs(() => payloads.forEach((p) => dec16.decode(p)));
  const PLC_CALLS = 200;
  const concealUs = cpuUs(() => {
    for (let i = 0; i < PLC_CALLS; i++) dec16.conceal(320);
  });

  // Resample in 20 ms chunks.
  const rs = new Resampler();
  const pcm16 = new Float32Array(Math.ceil(pcm48.length / 3));
  let o = 0;
  const resampleUs = cpuUs(() => {
    for (let i = 0; i < pcm48.length; i += 960) {
      const y = rs.process(pcm48.subarray(i, i + 960));
      pcm16.set(y, o);
      o += y.length;
    }
  });

  // VAD in batches of 8 frames.
  const model = await SileroVadModel.load();
  const vs = model.createStream();
  const frames = Math.floor(o / VAD_FRAME);
  const probs = new Float32Array(8);
  const vad = await cpuUsAsync(async () => {
    for (let f = 0; f + 8 <= frames; f += 8) await vs.processFrames(pcm16.subarray(f * VAD_FRAME, (f + 8) * VAD_FRAME), probs);
  });

  // Whole processor, fed like a worker: VAD catches up every 0.5 s of packets.
  const packets = packetise(payloads, { firstSeq: 60000 });
  const proc = new AudioStreamProcessor({ roomId: 'bench', peerId: 'bench', producerId: 'bench', kind: 'audio' }, model);
  const windows: AudioWindow[] = [];
  proc.on('window', (w) => windows.push(w));
  const whole = await cpuUsAsync(async () => {
    for (const [i, p] of packets.entries()) {
      proc.push(p.bytes, p.sendMs);
      if (i % 25 === 24) await proc.whenIdle();
    }
    await proc.flush();
  });
  const st = proc.stats();
  proc.close();

  // Eight processors in one thread, fed in lockstep: their VAD calls share batched runs.
  const STREAMS = 8;
  const multi = Array.from({ length: STREAMS }, (_, k) => new AudioStreamProcessor({ roomId: 'bench', peerId: `p${k}`, producerId: `b${k}`, kind: 'audio' }, model));
  const multiPackets = packets.slice(0, Math.min(packets.length, 1500));
  const runsBefore = model.batchStats.runs;
  const framesBefore = model.batchStats.frames;
  const many = await cpuUsAsync(async () => {
    for (const [i, p] of multiPackets.entries()) {
      for (const m of multi) m.push(p.bytes, p.sendMs);
      if (i % 25 === 24) await Promise.all(multi.map((m) => m.whenIdle()));
    }
    await Promise.all(multi.map((m) => m.flush()));
  });
  const meanBatch = (model.batchStats.frames - framesBefore) / Math.max(1, model.batchStats.runs - runsBefore);
  for (const m of multi) m.close();
  await model.close();

  const per = (us: number): number => Math.round(us / audioSeconds);
  console.log(
    JSON.stringify({
      audioSeconds,
      cpuUsPerAudioSecond: {
        decode16k: per(decode16Us),
        decode: per(decodeUs),
        resample: per(resampleUs),
        vad: per(vad.cpu),
        processor: per(whole.cpu),
        processorPerStreamWith8Streams: Math.round(many.cpu / ((multiPackets.length * 960) / 48000) / STREAMS),
      },
      concealUsPerCall: Math.round(concealUs / PLC_CALLS),
      meanVadBatchWith8Streams: +meanBatch.toFixed(2),
      vadMsPerFrame: +(vad.cpu / 1000 / Math.floor(frames / 8) / 8).toFixed(3),
      processorRealtimeFactor: +(whole.wall / 1000 / audioSeconds).toFixed(4),
      windows: windows.length,
      vadFrames: st.vadFrames,
      node: process.version,
    }),
  );
}

await main();
