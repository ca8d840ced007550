/**
 * Supervised ffmpeg child process that decodes complete VP8 frames (from `Vp8Depacketizer`)
 * into fixed-size RGB24 frames.
 *
 * Design: VP8 is depacketized in Node and written to ffmpeg's stdin as an IVF stream, rather
 * than sending RTP to ffmpeg through a mediasoup PlainTransport + SDP. One tap mechanism
 * (DirectTransport) serves audio and video; Node sees every packet, so it detects loss, gates
 * delta frames and requests keyframes itself; and the decoder never touches the network
 * (no ports, no SDP, nothing for a remote peer to reach). The cost is that every video RTP
 * packet crosses into Node (about 20 to 200 packets per second per stream), which is cheap
 * compared with decoding.
 *
 *   ffmpeg -copyts -f ivf -i pipe:0
 *          -vf select='mod(pts,2)',scale=W:H:force_original_aspect_ratio=decrease,pad=W:H:...
 *          -fps_mode passthrough -f rawvideo -pix_fmt rgb24 pipe:1
 *
 * Frame selection (the output rate limit) is decided here, not by ffmpeg's `fps` filter
 * (which fills stream pauses with duplicate frames): every frame is decoded, and frames to
 * output get an odd IVF pts (pts = 2 * rtpTime + selected, timebase 1/180000). Because VP8
 * has no frame reordering, the n-th RGB frame on stdout is the n-th selected frame, so its
 * metadata comes from a FIFO. ffmpeg runs with `-xerror`: a frame it cannot decode makes it
 * exit, and the restart (FIFO cleared, keyframe requested) keeps that mapping exact.
 *
 * Resolution changes: the output size is fixed (`outputWidth` x `outputHeight`), the picture
 * is scaled to fit and centred on black padding; ffmpeg reconfigures its filters itself when a
 * keyframe changes the input size.
 *
 * Backpressure: the media path never waits on the decoder. When more than `maxQueuedBytes`
 * are waiting in ffmpeg's stdin, the frame is dropped (counted) and, because the reference
 * chain is then broken, delta frames are dropped until the next keyframe, which is requested.
 *
 * Supervision: an unexpected exit, a spawn failure or a stall (selected frames with no output
 * for `stallTimeoutMs`) restarts ffmpeg after a bounded exponential backoff; each restart is
 * counted and followed by `keyframe-needed`. `close()` kills the child.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createLogger } from '../../kernel/log.js';
import { counter } from '../../kernel/metrics.js';
import { IvfWriter } from './IvfWriter.js';
import { KeyframeRequestLimiter } from './KeyframeRequestLimiter.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import type { KeyframeReason, Vp8Frame } from './Vp8Depacketizer.js';

const log = createLogger('video.decoder');
const mRestarts = counter({ name: 'dfd_video_decoder_restarts_total', help: 'ffmpeg VP8 decoder restarts', labelNames: ['reason'] as const });
const mDropped = counter({ name: 'dfd_video_decoder_frames_dropped_total', help: 'VP8 frames not sent to the decoder', labelNames: ['reason'] as const });
const mDecoded = counter({ name: 'dfd_video_frames_decoded_total', help: 'RGB frames produced by the VP8 decoder' });

export interface FfmpegVp8DecoderOptions {
  ffmpegPath: string;
  outputWidth: number;
  outputHeight: number;
  /** Maximum output frame rate (frames per second of stream time). */
  maxFps: number;
  /** Bytes allowed to wait in ffmpeg's stdin before frames are dropped. */
  maxQueuedBytes: number;
  /** First restart delay; doubles per consecutive failure up to `restartMaxDelayMs`. */
  restartBaseDelayMs: number;
  restartMaxDelayMs: number;
  /** Restart ffmpeg when a selected frame has produced no output for this long. */
  stallTimeoutMs: number;
  /** Decoder threads inside ffmpeg (1 keeps latency at one frame and CPU use predictable). */
  threads: number;
  keyframeRequestIntervalMs: number;
}

export const defaultFfmpegVp8DecoderOptions: FfmpegVp8DecoderOptions = {
  ffmpegPath: 'ffmpeg',
  outputWidth: 640,
  outputHeight: 480,
  maxFps: 5,
  maxQueuedBytes: 2 * 1024 * 1024,
  restartBaseDelayMs: 200,
  restartMaxDelayMs: 5000,
  stallTimeoutMs: 5000,
  threads: 1,
  keyframeRequestIntervalMs: 1000,
};

export interface DecodedVideoFrame {
  width: number;
  height: number;
  /** RGB24, row-major, width * height * 3 bytes; owned by the listener. */
  rgb: Uint8Array;
  /** Stream time of the source frame in ms (unwrapped RTP timestamp / 90). */
  ptsMs: number;
  /** Caller-clock ms when the source frame's last packet arrived. */
  arrivalMs: number;
  /** Date.now() when the decoded frame was read. */
  decodedAtMs: number;
  /** Size of the encoded picture (from the last keyframe) before scaling and padding. */
  sourceWidth: number;
  sourceHeight: number;
}

export type DecoderExitReason = 'exit' | 'spawn-error' | 'stall';

export interface FfmpegVp8DecoderEvents {
  frame: [DecodedVideoFrame];
  'keyframe-needed': [{ reason: KeyframeReason }];
  restart: [{ reason: DecoderExitReason; exitCode: number | null; signal: string | null; restarts: number; delayMs: number }];
}

export interface FfmpegVp8DecoderStats {
  state: 'running' | 'backoff' | 'closed';
  pid: number | undefined;
  framesIn: number;
  framesSelected: number;
  framesDecoded: number;
  droppedAwaitingKeyframe: number;
  droppedOverload: number;
  droppedDecoderDown: number;
  restarts: number;
  queuedBytes: number;
  /** Delta frames are being dropped until the next keyframe. */
  awaitingKeyframe: boolean;
}

interface Pending {
  ptsMs: number;
  arrivalMs: number;
  submittedAt: number;
  sourceWidth: number;
  sourceHeight: number;
}

export class FfmpegVp8Decoder extends TypedEmitter<FfmpegVp8DecoderEvents> {
  readonly #o: FfmpegVp8DecoderOptions;
  readonly #frameBytes: number;
  readonly #limiter: KeyframeRequestLimiter;
  #child: ChildProcessWithoutNullStreams | null = null;
  #state: 'running' | 'backoff' | 'closed' = 'backoff';
  #writer: IvfWriter | null = null;
  #needKeyframe = true;
  #pending: Pending[] = [];
  #out: Uint8Array;
  #outFill = 0;
  #timer: NodeJS.Timeout | null = null;
  #consecutiveFailures = 0;
  #lastPts = -1;
  #baseTs: number | null = null;
  #nextDueMs: number | null = null;
  #sourceWidth = 0;
  #sourceHeight = 0;
  #stderrTail = '';
  readonly #s = {
    framesIn: 0,
    framesSelected: 0,
    framesDecoded: 0,
    droppedAwaitingKeyframe: 0,
    droppedOverload: 0,
    droppedDecoderDown: 0,
    restarts: 0,
  };

  constructor(options: Partial<FfmpegVp8DecoderOptions> = {}) {
    super();
    this.#o = { ...defaultFfmpegVp8DecoderOptions, ...options };
    this.#frameBytes = this.#o.outputWidth * this.#o.outputHeight * 3;
    this.#out = new Uint8Array(this.#frameBytes);
    this.#limiter = new KeyframeRequestLimiter(this.#o.keyframeRequestIntervalMs);
    this.#spawn();
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  stats(): FfmpegVp8DecoderStats {
    return {
      ...this.#s,
      state: this.#state,
      pid: this.pid,
      queuedBytes: this.#child?.stdin.writableLength ?? 0,
      awaitingKeyframe: this.#needKeyframe,
    };
  }

  /**
   * Submits one complete VP8 frame. Returns true when it was written to the decoder.
   * Never blocks and never throws.
   */
  decode(frame: Vp8Frame): boolean {
    if (this.#state === 'closed') return false;
    this.#s.framesIn++;
    if (frame.keyframe && frame.width > 0) {
      this.#sourceWidth = frame.width;
      this.#sourceHeight = frame.height;
    }
    const child = this.#child;
    if (this.#state !== 'running' || child === null || child.pid === undefined) {
      this.#drop('decoder-down');
      return false;
    }
    this.#checkStall();
    if (this.#state !== 'running') {
      this.#drop('decoder-down');
      return false;
    }
    if (this.#needKeyframe && !frame.keyframe) {
      this.#drop('awaiting-keyframe');
      this.#requestKeyframe('awaiting-keyframe');
      return false;
    }
    const queued = child.stdin.writableLength;
    if (queued + frame.data.length + 44 > this.#o.maxQueuedBytes) {
      this.#drop('overload');
      this.#needKeyframe = true;
      this.#requestKeyframe('decoder-overload');
      return false;
    }
    this.#needKeyframe = false;
    const ptsMs = frame.timestamp / 90;
    const selected = frame.showFrame && this.#select(ptsMs);
    // Timebase 1/180000 (twice the RTP clock); the low bit marks frames to output.
    this.#baseTs ??= frame.timestamp;
    const sel = selected ? 1 : 0;
    let pts = Math.max(0, frame.timestamp - this.#baseTs) * 2 + sel;
    if (pts <= this.#lastPts) pts = this.#lastPts + 1;
    if ((pts & 1) !== sel) pts++;
    this.#lastPts = pts;
    this.#writer ??= new IvfWriter({
      width: frame.width || this.#sourceWidth,
      height: frame.height || this.#sourceHeight,
      timebaseDen: 180_000,
      timebaseNum: 1,
    });
    if (selected) {
      this.#s.framesSelected++;
      this.#pending.push({
        ptsMs,
        arrivalMs: frame.arrivalMs,
        submittedAt: Date.now(),
        sourceWidth: this.#sourceWidth,
        sourceHeight: this.#sourceHeight,
      });
    }
    child.stdin.write(this.#writer.frame(frame.data, pts));
    return true;
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const child = this.#child;
    this.#child = null;
    if (child) {
      child.stdin.destroy();
      child.kill('SIGKILL');
    }
    this.#pending = [];
  }

  #select(ptsMs: number): boolean {
    const interval = 1000 / this.#o.maxFps;
    const due = this.#nextDueMs;
    if (due === null || ptsMs < due - 2 * interval) {
      // First frame, or the timestamps went backwards: start the cadence here.
      this.#nextDueMs = ptsMs + interval;
      return true;
    }
    if (ptsMs < due - Math.min(5, interval / 4)) return false;
    // Keep a regular cadence; after a pause restart it from this frame.
    this.#nextDueMs = ptsMs - due > interval ? ptsMs + interval : due + interval;
    return true;
  }

  #drop(reason: 'decoder-down' | 'awaiting-keyframe' | 'overload'): void {
    if (reason === 'decoder-down') this.#s.droppedDecoderDown++;
    else if (reason === 'awaiting-keyframe') this.#s.droppedAwaitingKeyframe++;
    else this.#s.droppedOverload++;
    mDropped.inc({ reason });
  }

  #requestKeyframe(reason: KeyframeReason): void {
    if (this.#limiter.tryAcquire(Date.now())) this.safeEmit('keyframe-needed', { reason });
  }

  #checkStall(): void {
    const oldest = this.#pending[0];
    if (oldest !== undefined && Date.now() - oldest.submittedAt > this.#o.stallTimeoutMs && this.#child) {
      this.#gone(this.#child, 'stall', null, null);
    }
  }

  #spawn(): void {
    if (this.#state === 'closed') return;
    const o = this.#o;
    const W = o.outputWidth;
    const H = o.outputHeight;
    const vf =
      `select='mod(pts\\,2)',scale=${W}:${H}:force_original_aspect_ratio=decrease,` +
      `pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1`;
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-xerror', '-copyts',
      '-threads', String(o.threads), '-probesize', '32', '-analyzeduration', '0',
      '-f', 'ivf', '-i', 'pipe:0',
      '-vf', vf, '-fps_mode', 'passthrough', '-threads', String(o.threads),
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
    ];
    let child: ChildProcessWithoutNullStreams;
    try {
      // Its own process group: a signal to the service's group (Ctrl-C, `kill -- -PGID`) must not
      // kill decoders mid-call and trigger restarts while the service shuts down in order. It
      // still cannot outlive the service: stdin closes with the service and ffmpeg exits at EOF.
      child = spawn(o.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      log.error('ffmpeg spawn failed', { error: err });
      this.#child = null;
      this.#scheduleRestart('spawn-error', null, null);
      return;
    }
    this.#child = child;
    this.#state = 'running';
    this.#writer = null;
    this.#needKeyframe = true;
    this.#pending = [];
    this.#outFill = 0;
    this.#lastPts = -1;
    this.#baseTs = null;
    this.#nextDueMs = null;
    this.#stderrTail = '';
    child.stdin.on('error', () => {
      /* EPIPE when ffmpeg exits; handled by the exit handler. */
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.#child === child) this.#onStdout(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      this.#stderrTail = (this.#stderrTail + s).slice(-1024);
    });
    child.on('error', (err) => {
      log.warn('ffmpeg process error', { error: err });
      this.#gone(child, 'spawn-error', null, null);
    });
    child.on('exit', (code, signal) => this.#gone(child, 'exit', code, signal));
  }

  #onStdout(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.#frameBytes - this.#outFill, chunk.length - off);
      this.#out.set(chunk.subarray(off, off + n), this.#outFill);
      this.#outFill += n;
      off += n;
      if (this.#outFill === this.#frameBytes) {
        const rgb = this.#out;
        this.#out = new Uint8Array(this.#frameBytes);
        this.#outFill = 0;
        const meta = this.#pending.shift();
        this.#consecutiveFailures = 0;
        this.#s.framesDecoded++;
        mDecoded.inc();
        this.safeEmit('frame', {
          width: this.#o.outputWidth,
          height: this.#o.outputHeight,
          rgb,
          ptsMs: meta?.ptsMs ?? Number.NaN,
          arrivalMs: meta?.arrivalMs ?? Number.NaN,
          decodedAtMs: Date.now(),
          sourceWidth: meta?.sourceWidth ?? this.#sourceWidth,
          sourceHeight: meta?.sourceHeight ?? this.#sourceHeight,
        });
      }
    }
  }

  /** The child exited, failed to spawn or stalled: kill it if needed and schedule a restart. */
  #gone(child: ChildProcessWithoutNullStreams, reason: DecoderExitReason, code: number | null, signal: string | null): void {
    if (this.#child !== child || this.#state === 'closed') return;
    this.#child = null;
    child.stdin.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    log.warn('ffmpeg decoder stopped', { reason, code, signal, stderr: this.#stderrTail.slice(-300) });
    this.#scheduleRestart(reason, code, signal);
  }

  #scheduleRestart(reason: DecoderExitReason, code: number | null, signal: string | null): void {
    this.#state = 'backoff';
    this.#pending = [];
    this.#outFill = 0;
    this.#needKeyframe = true;
    this.#s.restarts++;
    mRestarts.inc({ reason });
    const delayMs = Math.min(this.#o.restartMaxDelayMs, this.#o.restartBaseDelayMs * 2 ** this.#consecutiveFailures);
    this.#consecutiveFailures = Math.min(this.#consecutiveFailures + 1, 30);
    this.safeEmit('restart', { reason, exitCode: code, signal, restarts: this.#s.restarts, delayMs });
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#spawn();
      if (this.#state === 'running') {
        this.#limiter.reset();
        this.#requestKeyframe('decoder-restart');
      }
    }, delayMs);
    this.#timer.unref();
  }
}
