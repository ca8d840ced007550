/**
 * A camera the test controls: sends a VP8 clip (IVF, one frame per 1/fps s) as RTP over UDP
 * to plain-RTP ingests of the SFU (sfu/Room.ts `createRtpIngest`), looping it, paced by the
 * frame clock from one start time. Because the test knows when frame 0 left, it knows what
 * the "camera" shows at any wall-clock time (`clipTimeAt`), unlike a browser's fake camera
 * whose loop phase is unknown.
 *
 * Packets are made by pipeline/video/testing/vp8Fixtures.ts `packetizeVp8` (RFC 7741, 15-bit
 * picture id); each loop continues the sequence numbers, RTP timestamps and picture ids.
 * Keyframe requests (RTCP PLI) are not answered: the clip itself has a keyframe every gop.
 */
import dgram from 'node:dgram';
import type { IvfFile } from '../../pipeline/video/IvfWriter.js';
import { packetizeVp8, type TestRtpPacket } from '../../pipeline/video/testing/vp8Fixtures.js';
import { DfdError } from '../../kernel/errors.js';

export interface Vp8ClipTarget {
  ip: string;
  port: number;
  ssrc: number;
  payloadType: number;
}

interface TargetState extends Vp8ClipTarget {
  /** Packets of the loop being sent and the loop's number. */
  loop: number;
  packets: TestRtpPacket[];
  sent: number;
}

export class Vp8ClipSender {
  readonly #ivf: IvfFile;
  readonly #fps: number;
  readonly #socket = dgram.createSocket('udp4');
  readonly #targets: TargetState[] = [];
  #packetsPerLoop = 0;
  #startMs = 0;
  /** Frames sent so far (all loops), the same for every target. */
  #frames = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ivf: IvfFile, fps: number) {
    if (ivf.frames.length === 0) throw new DfdError('ERR_BAD_REQUEST', 'empty clip');
    if (!(fps > 0)) throw new DfdError('ERR_BAD_REQUEST', 'fps must be positive', { fps });
    this.#ivf = ivf;
    this.#fps = fps;
  }

  add(target: Vp8ClipTarget): void {
    if (this.#timer !== undefined) throw new DfdError('ERR_BAD_REQUEST', 'add targets before start()');
    const t: TargetState = { ...target, loop: 0, packets: [], sent: 0 };
    t.packets = this.#packetize(t, 0);
    this.#packetsPerLoop = t.packets.length;
    this.#targets.push(t);
  }

  /** Starts sending; returns the wall-clock time (ms) frame 0 is sent at. */
  start(): number {
    if (this.#timer !== undefined || this.#closed) return this.#startMs;
    this.#startMs = Date.now();
    const tick = (): void => {
      if (this.#closed) return;
      const due = Math.floor(((Date.now() - this.#startMs) * this.#fps) / 1000) + 1;
      while (this.#frames < due) this.#sendFrame();
      const next = this.#startMs + (this.#frames * 1000) / this.#fps;
      this.#timer = setTimeout(tick, Math.max(1, next - Date.now()));
    };
    tick();
    return this.#startMs;
  }

  /** Seconds into the clip's loop and the loop number at wall-clock `ms`. */
  clipTimeAt(ms: number): { loop: number; sec: number } {
    const total = (this.#ivf.frames.length * 1000) / this.#fps;
    const e = Math.max(0, ms - this.#startMs);
    return { loop: Math.floor(e / total), sec: (e % total) / 1000 };
  }

  get framesSent(): number {
    return this.#frames;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#socket.close();
  }

  #packetize(t: Vp8ClipTarget, loop: number): TestRtpPacket[] {
    const n = this.#ivf.frames.length;
    return packetizeVp8(this.#ivf, {
      ssrc: t.ssrc,
      payloadType: t.payloadType,
      firstSequence: (1000 + loop * this.#packetsPerLoop) & 0xffff,
      firstTimestamp: (90_000 + Math.round((loop * n * 90_000) / this.#fps)) >>> 0,
      firstPictureId: (100 + loop * n) & 0x7fff,
    });
  }

  #sendFrame(): void {
    const n = this.#ivf.frames.length;
    const loop = Math.floor(this.#frames / n);
    const index = this.#frames % n;
    for (const t of this.#targets) {
      if (t.loop !== loop) {
        t.packets = this.#packetize(t, loop);
        t.loop = loop;
      }
      for (const p of t.packets) {
        if (p.frame !== index) continue;
        this.#socket.send(p.bytes, t.port, t.ip);
        t.sent++;
      }
    }
    this.#frames++;
  }
}
