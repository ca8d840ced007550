/**
 * Decode-path benchmark: VP8 RTP at 640x480 / 30 fps in, RGB frames at 5 fps out.
 *
 *   node --import tsx pipeline/video/bench.ts [--seconds 10] [--realtime] [--out 640x480] [--fps 5]
 *
 * Prints one JSON object. ffmpeg CPU comes from /proc/<pid>/stat (utime + stime) read just
 * before close; Node CPU (RTP parsing, depacketizing, IVF, reading RGB) from process.cpuUsage().
 * `--realtime` paces packets at 30 fps and reports decode latency (packet arrival to RGB frame).
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { encodeVp8, packetizeVp8, waitFor } from './testing/vp8Fixtures.js';
import { VideoStreamProcessor } from './VideoStreamProcessor.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    realtime: { type: 'boolean', default: false },
    out: { type: 'string', default: '640x480' },
    fps: { type: 'string', default: '5' },
  },
});
const seconds = Number(values.seconds);
const [outW, outH] = values.out.split('x').map(Number) as [number, number];
const maxFps = Number(values.fps);
const inFps = 30;

function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function pct(a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

const ivf = encodeVp8({ width: 640, height: 480, fps: inFps, seconds, gop: 60, bitrate: '800k' });
const packets = packetizeVp8(ivf);
const p = new VideoStreamProcessor({ payloadType: 96, decoder: { outputWidth: outW, outputHeight: outH, maxFps } });
const latencies: number[] = [];
let decoded = 0;
p.on('frame', (f) => {
  decoded++;
  latencies.push(f.decodedAtMs - f.arrivalMs);
});
await waitFor(() => p.decoderPid !== undefined, 5000, 'ffmpeg');
const pid = p.decoderPid!;
const expected = Math.floor(seconds * maxFps);
const cpu0 = process.cpuUsage();
const ff0 = procCpuMs(pid);
const t0 = performance.now();
if (values.realtime) {
  let i = 0;
  for (let fr = 0; fr < ivf.frames.length; fr++) {
    const now = Date.now();
    while (i < packets.length && packets[i]!.frame === fr) p.push(packets[i++]!.bytes, now);
    const next = t0 + ((fr + 1) * 1000) / inFps;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
} else {
  const now = Date.now();
  for (const x of packets) p.push(x.bytes, now);
}
await waitFor(() => decoded >= expected, 120_000, 'decoded frames');
const wallMs = performance.now() - t0;
const ffMs = procCpuMs(pid) - ff0;
const cpu = process.cpuUsage(cpu0);
const nodeMs = (cpu.user + cpu.system) / 1000;
const s = p.stats();
p.close();

console.log(
  JSON.stringify(
    {
      bench: 'video-decode-path',
      mode: values.realtime ? 'realtime' : 'burst',
      input: { width: 640, height: 480, fps: inFps, seconds, frames: ivf.frames.length, packets: packets.length, codec: 'VP8 libvpx realtime 800k' },
      output: { width: outW, height: outH, maxFps, frames: s.framesDecoded },
      ffmpegCpuMs: Math.round(ffMs),
      ffmpegCpuMsPerInputFrame: +(ffMs / ivf.frames.length).toFixed(2),
      ffmpegCpuMsPerOutputFrame: +(ffMs / s.framesDecoded).toFixed(2),
      ffmpegCoreShareAtRealtime: +(ffMs / (seconds * 1000)).toFixed(3),
      nodeCpuMs: Math.round(nodeMs),
      nodeCpuMsPerPacket: +(nodeMs / packets.length).toFixed(3),
      wallMs: Math.round(wallMs),
      wallMsPerInputFrame: +(wallMs / ivf.frames.length).toFixed(2),
      latencyMs: values.realtime ? { p50: pct(latencies, 50), p95: pct(latencies, 95), max: Math.max(...latencies) } : undefined,
      stats: s,
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg1: +os.loadavg()[0]!.toFixed(2) },
    },
    null,
    2,
  ),
);
