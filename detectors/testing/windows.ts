/**
 * Builders of AudioWindow / FaceWindow messages for tests and benchmarks. Deterministic
 * (seeded) signals so expected scores can be computed in JS.
 */
import type { AudioWindow, FaceWindow, StreamRef } from '../../pipeline/messages.js';

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function streamRef(peer: string, kind: 'audio' | 'video' = 'audio', room = 'room-1'): StreamRef {
  return { roomId: room, peerId: peer, producerId: `${peer}-${kind}`, kind };
}

/** A tone plus seeded noise: `seconds` of mono float32 at `sampleRate`. */
export function audioWindow(opts: { stream?: StreamRef; seq?: number; seconds?: number; sampleRate?: number; seed?: number; wallEnd?: number } = {}): AudioWindow {
  const sampleRate = opts.sampleRate ?? 16000;
  const n = Math.round((opts.seconds ?? 1) * sampleRate);
  const rnd = seededRandom(opts.seed ?? 1);
  const freq = 120 + (opts.seed ?? 1) * 37;
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * freq * i) / sampleRate) + 0.05 * (rnd() * 2 - 1);
  const wallEnd = opts.wallEnd ?? Date.now();
  return {
    type: 'audio-window',
    stream: opts.stream ?? streamRef('alice'),
    seq: opts.seq ?? 0,
    sampleRate,
    samples,
    rtpStart: 0,
    rtpEnd: Math.round((n * 48000) / sampleRate),
    wallStart: wallEnd - (n / sampleRate) * 1000,
    wallEnd,
    speechSeconds: n / sampleRate,
    quality: { packetLoss: 0, concealed: 0, bitrate: 32000, bandwidth: 'WB' },
  };
}

/** `frames` seeded-noise RGB crops of `size` x `size`. */
export function faceWindow(opts: { stream?: StreamRef; seq?: number; frames?: number; size?: number; seed?: number; wallEnd?: number } = {}): FaceWindow {
  const size = opts.size ?? 256;
  const frames = opts.frames ?? 2;
  const rnd = seededRandom(opts.seed ?? 7);
  const crops = new Uint8Array(frames * size * size * 3);
  // Per-channel bias so channels differ and the model's weights matter.
  for (let i = 0; i < crops.length; i++) crops[i] = Math.min(255, Math.floor(rnd() * 200) + (i % 3) * 25);
  const wallEnd = opts.wallEnd ?? Date.now();
  return {
    type: 'face-window',
    stream: opts.stream ?? streamRef('alice', 'video'),
    seq: opts.seq ?? 0,
    width: size,
    height: size,
    crops,
    frames,
    wallStart: wallEnd - (frames / 15) * 1000,
    wallEnd,
    quality: { frameRate: 15, faceSize: size, packetLoss: 0 },
  };
}
