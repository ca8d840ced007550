/**
 * The evaluation tools' media path for one clip, the service's own pieces in the service's
 * order: ffmpeg decode to 48 kHz mono (or sampled RGB frames for video), the transmission
 * channel (channel.ts: clean, Opus with or without loss and PLC, G.711), the service's
 * Resampler to the model rate, the service's analysis windows as the media worker's
 * AudioWindow messages, and scoring through a WorkerInference. Used by `npm run eval`
 * (cli.ts), the genuine-caller drift tool (drift.ts) and the face training crops.
 */
import { spawn } from 'node:child_process';
import { DfdError } from '../../kernel/errors.js';
import type { AudioSpec } from '../registry/Manifest.js';
import { Resampler } from '../../pipeline/audio/Resampler.js';
import type { AudioWindow, StreamRef } from '../../pipeline/messages.js';
import { applyChannel, channelQuality, channelSpec, CODEC_RATE, opusSpec, type Channel, type ChannelOutput, type ChannelSpec } from './channel.js';
import type { WorkerInference } from './WorkerInference.js';

/** Runs ffmpeg and collects stdout up to `maxBytes` (the rest is cut off). */
function ffmpegRead(args: string[], maxBytes: number, bin = 'ffmpeg'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let len = 0;
    let cut = false;
    p.stdout.on('data', (c: Buffer) => {
      if (cut) return;
      const take = Math.min(c.length, maxBytes - len);
      chunks.push(take === c.length ? c : c.subarray(0, take));
      len += take;
      if (len >= maxBytes) {
        cut = true;
        p.kill('SIGKILL');
      }
    });
    p.stderr.resume();
    p.on('error', (e) => reject(new DfdError('ERR_DECODE_FAILED', `${bin} could not start`, undefined, { cause: e })));
    p.on('close', (code) => {
      if (code !== 0 && !cut) reject(new DfdError('ERR_DECODE_FAILED', `${bin} failed`, { exitCode: code }));
      else resolve(Buffer.concat(chunks, len));
    });
  });
}

/** Any ffmpeg-readable file -> mono float32 at 48 kHz, at most `maxSeconds`. */
export async function decodeAudio48k(file: string, maxSeconds: number): Promise<Float32Array> {
  const buf = await ffmpegRead(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-vn', '-ac', '1', '-ar', String(CODEC_RATE), '-f', 'f32le', '-'], Math.round(maxSeconds * CODEC_RATE) * 4);
  const n = buf.length >>> 2;
  if (n === 0) throw new DfdError('ERR_DECODE_FAILED', 'no audio samples');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** The service's band-limited resampler, one shot (from the 48 kHz codec rate unless told). */
export function resampleTo(x: Float32Array, rate: number, fromRate = CODEC_RATE): Float32Array {
  if (rate === fromRate) return x;
  const r = new Resampler({ inRate: fromRate, outRate: rate });
  const a = r.process(x);
  const b = r.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Cuts a clip into analysis windows (copies); `starts` are their first samples. */
export function audioWindowsOf(x: Float32Array, rate: number, spec: AudioSpec, windowSeconds: number, hopSeconds: number): { windows: Float32Array[]; starts: number[]; padded: boolean } {
  const w = Math.round(windowSeconds * rate);
  const h = Math.max(1, Math.round(hopSeconds * rate));
  const min = Math.ceil(spec.minSeconds * rate);
  if (x.length < min) {
    const y = new Float32Array(min);
    for (let i = 0; i < min; i++) y[i] = x[i % x.length]!;
    return { windows: [y], starts: [0], padded: true };
  }
  if (x.length <= w) return { windows: [x.slice()], starts: [0], padded: false };
  const starts: number[] = [];
  for (let s = 0; s + w <= x.length; s += h) starts.push(s);
  if (starts[starts.length - 1]! + w < x.length) starts.push(x.length - w);
  return { windows: starts.map((s) => x.slice(s, s + w)), starts, padded: false };
}

/** The channel a run uses: `--channel`, else `--opus <bitrate>`, else clean. Both: ERR_CONFIG. */
export function resolveChannel(o: { channel?: Channel | undefined; opusBitrate?: number | undefined }): ChannelSpec {
  if (o.channel !== undefined && o.opusBitrate !== undefined) throw new DfdError('ERR_CONFIG', '--channel and --opus cannot be combined (--channel opus24 is --opus 24000)');
  if (o.channel !== undefined) return channelSpec(o.channel);
  if (o.opusBitrate !== undefined) {
    if (!(Number.isInteger(o.opusBitrate) && o.opusBitrate >= 6000 && o.opusBitrate <= 510000)) throw new DfdError('ERR_CONFIG', '--opus must be a bitrate between 6000 and 510000 bit/s');
    return opusSpec(o.opusBitrate);
  }
  return channelSpec('clean');
}

/** A 48 kHz clip through the channel, then the service's Resampler to the model rate. */
export function throughChannel(x48: Float32Array, spec: ChannelSpec, modelRate: number, lossSeed: number): { samples: Float32Array; channel: ChannelOutput } {
  const channel = applyChannel(x48, spec, lossSeed);
  return { samples: resampleTo(channel.samples, modelRate, channel.sampleRate), channel };
}

/**
 * Wraps cut windows (at `rate`, starting at the given samples of the channel output) as the
 * AudioWindow messages the media worker sends: whole windows count as speech (no VAD), the
 * quality is what the service would measure on the channel's packets (channelQuality: with the
 * channel family, `sender` as AudioStreamProcessor's senderNoiseSuppression).
 */
export function audioWindowMessages(windows: readonly Float32Array[], starts: readonly number[], rate: number, channel: ChannelOutput, stream: StreamRef, wallAt: (endSeconds: number) => number, sender: { noiseSuppression?: boolean; gatewayLeg?: boolean } = {}): AudioWindow[] {
  return windows.map((samples, seq) => {
    const t0 = starts[seq]! / rate;
    const t1 = t0 + samples.length / rate;
    return {
      type: 'audio-window',
      stream,
      seq,
      sampleRate: rate,
      samples,
      rtpStart: Math.round(t0 * CODEC_RATE),
      rtpEnd: Math.round(t1 * CODEC_RATE) - 1,
      wallStart: wallAt(t0),
      wallEnd: wallAt(t1),
      speechSeconds: samples.length / rate,
      quality: channelQuality(channel, t0, t1, sender),
    };
  });
}

/**
 * Scores audio windows through the worker, one job per distinct length; the logits come back
 * in the windows' order. Transfers the windows' buffers.
 */
export async function scoreAudioWindows(inf: WorkerInference, msgs: readonly AudioWindow[]): Promise<{ logits: number[]; inferenceMs: number }> {
  const logits = new Array<number>(msgs.length);
  let inferenceMs = 0;
  for (const len of [...new Set(msgs.map((m) => m.samples.length))]) {
    const idx = msgs.flatMap((m, i) => (m.samples.length === len ? [i] : []));
    const r = await inf.run(idx.map((i) => msgs[i]!));
    idx.forEach((i, k) => {
      logits[i] = r.logits[k]!;
    });
    inferenceMs += r.inferenceMs;
  }
  return { logits, inferenceMs };
}

/** An embedding model's vectors for windows (task speaker-embed), one per window in order; undefined where non-finite. */
export async function embedAudioWindows(inf: WorkerInference, msgs: readonly AudioWindow[]): Promise<{ vectors: (Float32Array | undefined)[]; inferenceMs: number }> {
  const vectors = new Array<Float32Array | undefined>(msgs.length);
  let inferenceMs = 0;
  for (const len of [...new Set(msgs.map((m) => m.samples.length))]) {
    const idx = msgs.flatMap((m, i) => (m.samples.length === len ? [i] : []));
    const r = await inf.run(idx.map((i) => msgs[i]!));
    const dim = r.dim ?? 0;
    if (!r.vectors || dim <= 0) throw new DfdError('ERR_INFERENCE_FAILED', 'the model answered no embedding vectors', { id: inf.model.id });
    idx.forEach((i, k) => {
      const v = r.vectors!.slice(k * dim, (k + 1) * dim);
      vectors[i] = v.length === dim && v.every(Number.isFinite) ? v : undefined;
    });
    inferenceMs += r.inferenceMs;
  }
  return { vectors, inferenceMs };
}

export interface VideoFrames {
  width: number;
  height: number;
  frames: Uint8Array[];
}

async function probeSize(file: string): Promise<{ width: number; height: number }> {
  const out = (await ffmpegRead(['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], 4096, 'ffprobe')).toString('utf8');
  const [w, h] = out.trim().split('\n')[0]!.split(',').map(Number);
  if (!w || !h || !Number.isFinite(w) || !Number.isFinite(h)) throw new DfdError('ERR_DECODE_FAILED', 'no video stream');
  return { width: w, height: h };
}

export async function sampleFrames(file: string, fps: number, maxFrames: number, maxWidth: number): Promise<VideoFrames> {
  const src = await probeSize(file);
  const width = Math.min(maxWidth, src.width - (src.width % 2));
  const height = Math.max(16, 2 * Math.round((src.height * width) / src.width / 2));
  const size = width * height * 3;
  const buf = await ffmpegRead(
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-an', '-vf', `fps=${fps},scale=${width}:${height}`, '-frames:v', String(maxFrames), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    size * maxFrames,
  );
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= buf.length; off += size) frames.push(new Uint8Array(buf.buffer, buf.byteOffset + off, size));
  if (frames.length === 0) throw new DfdError('ERR_DECODE_FAILED', 'no video frames');
  return { width, height, frames };
}

/** The channel part of the audio chain, for the report. */
export function chainText(ch: ChannelSpec): string {
  if (ch.codec === 'none') return '';
  if (ch.codec === 'g711') return 'Resampler -> 8 kHz -> G.711 mu-law encode/decode -> Resampler -> 16 kHz -> ';
  if (ch.codec === 'amr-g711') return 'Resampler -> 8 kHz -> AMR-NB 12.2 kb/s encode/decode (sox, opencore) -> G.711 mu-law encode/decode -> Resampler -> 16 kHz -> ';
  if (ch.codec === 'g722') return 'Resampler -> 16 kHz -> G.722 64 kb/s encode/decode (pipeline/audio/G722.ts, 20 ms packets) -> ';
  if (ch.codec === 'amrwb-g722') return 'Resampler -> 16 kHz -> AMR-WB 12.65 kb/s encode/decode (libvo-amrwbenc, sox/opencore) -> G.722 64 kb/s encode/decode (pipeline/audio/G722.ts, 20 ms packets) -> ';
  if (ch.codec === 'amrwb-g711') return 'Resampler -> 16 kHz -> AMR-WB 12.65 kb/s encode/decode (libvo-amrwbenc, sox/opencore) -> Resampler -> 8 kHz -> G.711 mu-law encode/decode -> Resampler -> 16 kHz -> ';
  const loss = ch.lossRate > 0 ? `, ${ch.lossRate * 100} % of 20 ms packets lost (seeded), concealed by OpusDecoder.conceal (libopus PLC)` : '';
  return `Opus ${ch.bitrate} bit/s (libopus encode, 20 ms frames, OpusDecoder${loss}) -> `;
}
