/**
 * Test helpers for the video path, reusable by other folders' tests:
 * - `encodeVp8`: encodes a short clip (ffmpeg lavfi test source or a still image) to VP8 IVF
 *   with libvpx in realtime mode, the way a browser would (keyframe every `gop` frames);
 * - `packetizeVp8`: splits the frames into RTP packets per RFC 7741 (15-bit picture id,
 *   S bit on the first packet, marker on the last);
 * - `writeRtp`: builds one RTP packet (with ../../rtp/RtpPacket.ts).
 * Everything runs the real ffmpeg binary; nothing here is a stand-in for production code.
 */
import { execFileSync } from 'node:child_process';
import { serializeRtpPacket } from '../../rtp/RtpPacket.js';
import { parseIvf, type IvfFile } from '../IvfWriter.js';
import { parseVp8PayloadHeader } from '../Vp8Descriptor.js';
import type { Vp8Frame } from '../Vp8Depacketizer.js';

export interface EncodeVp8Options {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  /** Keyframe interval in frames. */
  gop: number;
  /** Still image to loop instead of the lavfi `testsrc` pattern. */
  image?: string;
  bitrate: string;
}

export const defaultEncodeVp8Options: EncodeVp8Options = {
  width: 640,
  height: 480,
  fps: 30,
  seconds: 3,
  gop: 30,
  bitrate: '600k',
};

export function encodeVp8(options: Partial<EncodeVp8Options> = {}): IvfFile {
  const o = { ...defaultEncodeVp8Options, ...options };
  const input =
    o.image !== undefined
      ? ['-loop', '1', '-framerate', String(o.fps), '-i', o.image]
      : ['-f', 'lavfi', '-i', `testsrc=size=${o.width}x${o.height}:rate=${o.fps}`];
  const vf = `scale=${o.width}:${o.height},format=yuv420p`;
  const out = execFileSync(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', ...input, '-t', String(o.seconds), '-vf', vf, '-r', String(o.fps),
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', String(o.gop), '-keyint_min', String(o.gop),
      '-b:v', o.bitrate, '-auto-alt-ref', '0', '-lag-in-frames', '0', '-f', 'ivf', 'pipe:1',
    ],
    { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ivf = parseIvf(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  if (ivf === null) throw new Error('ffmpeg did not produce IVF');
  return ivf;
}

export interface RtpFields {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payload: Uint8Array;
}

export function writeRtp(f: RtpFields): Uint8Array {
  const b = serializeRtpPacket(f);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface TestRtpPacket extends RtpFields {
  bytes: Uint8Array;
  /** Index of the IVF frame this packet carries. */
  frame: number;
  keyframe: boolean;
}

export interface PacketizeOptions {
  payloadType: number;
  ssrc: number;
  firstSequence: number;
  firstTimestamp: number;
  firstPictureId: number;
  maxPayload: number;
}

export const defaultPacketizeOptions: PacketizeOptions = {
  payloadType: 96,
  ssrc: 0x1234abcd,
  firstSequence: 1000,
  firstTimestamp: 90_000,
  firstPictureId: 100,
  maxPayload: 1100,
};

/** RFC 7741 packetization of IVF frames (frame pts in the IVF timebase). */
export function packetizeVp8(ivf: IvfFile, options: Partial<PacketizeOptions> = {}): TestRtpPacket[] {
  const o = { ...defaultPacketizeOptions, ...options };
  const { timebaseNum, timebaseDen } = ivf.header;
  const out: TestRtpPacket[] = [];
  let seq = o.firstSequence;
  ivf.frames.forEach((fr, i) => {
    const ts = (o.firstTimestamp + Math.round((fr.pts * 90_000 * timebaseNum) / timebaseDen)) >>> 0;
    const pictureId = (o.firstPictureId + i) & 0x7fff;
    const keyframe = fr.data.length > 0 && (fr.data[0]! & 1) === 0;
    const chunk = o.maxPayload - 4;
    for (let off = 0; off < fr.data.length; off += chunk) {
      const part = fr.data.subarray(off, Math.min(fr.data.length, off + chunk));
      const payload = new Uint8Array(4 + part.length);
      payload[0] = 0x80 | (off === 0 ? 0x10 : 0); // X, S, PID=0
      payload[1] = 0x80; // I
      payload[2] = 0x80 | (pictureId >> 8); // M + 15-bit picture id
      payload[3] = pictureId & 0xff;
      payload.set(part, 4);
      const marker = off + chunk >= fr.data.length;
      const fields: RtpFields = { payloadType: o.payloadType, sequenceNumber: seq & 0xffff, timestamp: ts, ssrc: o.ssrc, marker, payload };
      out.push({ ...fields, bytes: writeRtp(fields), frame: i, keyframe });
      seq++;
    }
  });
  return out;
}

/** The IVF frames as `Vp8Frame`s (what the depacketizer would emit), for decoder tests. */
export function ivfToVp8Frames(ivf: IvfFile, firstTimestamp = 0): Vp8Frame[] {
  const { timebaseNum, timebaseDen } = ivf.header;
  return ivf.frames.map((f, i) => {
    const h = parseVp8PayloadHeader(f.data);
    return {
      timestamp: firstTimestamp + Math.round((f.pts * 90_000 * timebaseNum) / timebaseDen),
      keyframe: h?.keyframe ?? false,
      showFrame: h?.showFrame ?? false,
      width: h?.width ?? 0,
      height: h?.height ?? 0,
      data: f.data,
      packets: 1,
      firstSeq: i,
      lastSeq: i,
      pictureId: i & 0x7fff,
      arrivalMs: Date.now(),
    };
  });
}

/** Resolves when `cond()` is true; rejects after `timeoutMs` (a bound, not a timing check). */
export async function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A still image rendered by ffmpeg at the decoder's output geometry (scale to fit, centred on black). */
export function referenceRgb(image: string, srcWidth: number, srcHeight: number, outWidth: number, outHeight: number): Uint8Array {
  const vf =
    `scale=${srcWidth}:${srcHeight},scale=${outWidth}:${outHeight}:force_original_aspect_ratio=decrease,` +
    `pad=${outWidth}:${outHeight}:(ow-iw)/2:(oh-ih)/2:color=black`;
  const out = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', image, '-vf', vf, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
