/**
 * A media worker thread: hosts the audio and video stream processors of the taps assigned
 * to it. Everything CPU-heavy between an RTP packet and an analysis window happens here
 * (Opus decode, resampling, Silero VAD, VP8 depacketizing, ffmpeg supervision, face
 * detection and alignment), never on the thread that carries signalling and media.
 *
 *   main --open/rtp/close--> MediaWorker --window/face-observation/keyframe-needed/stats--> main
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AudioStreamProcessor } from '../audio/AudioStreamProcessor.js';
import { SileroVadModel } from '../audio/SileroVad.js';
import { VideoStreamProcessor } from '../video/VideoStreamProcessor.js';
import type { DecodedVideoFrame } from '../video/FfmpegVp8Decoder.js';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { RegionVisibility } from '../../detectors/face/RegionVisibility.js';
import { largestFace, toFaceObservation } from '../../detectors/face/observe.js';
import type { FaceWindow, StreamRef } from '../messages.js';
import type { FromMediaWorker, ToMediaWorker, OpenStream } from './protocol.js';
import { setLogLevel, createLogger, type LogLevel } from '../../kernel/log.js';
import { registry } from '../../kernel/metrics.js';

export interface MediaWorkerConfig {
  /** Which streams this worker hosts: audio workers load the VAD, video workers the face models. */
  kind: 'audio' | 'video';
  logLevel: LogLevel;
  windowSeconds: number;
  hopSeconds: number;
  minSpeechSeconds: number;
  /** Early first window of a speech segment, seconds (0 = none): SpeechWindower's firstWindowSeconds. */
  firstWindowSeconds: number;
  videoFps: number;
  faceWindowFrames: number;
  cropSize: number;
  statsIntervalMs: number;
  faceAnalysis: boolean;
}

const cfg = workerData as MediaWorkerConfig;
setLogLevel(cfg.logLevel);
const log = createLogger('pipeline.media-worker');
const port = parentPort!;

const post = (msg: FromMediaWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

interface AudioEntry {
  kind: 'audio';
  stream: StreamRef;
  proc: AudioStreamProcessor;
}

interface VideoEntry {
  kind: 'video';
  stream: StreamRef;
  proc: VideoStreamProcessor;
  busy: boolean;
  analysed: number;
  skipped: number;
  seq: number;
  crops: Uint8Array[];
  faceSizes: number[];
  windowStart: number;
  lastFaceSize: number;
  /** Per-region face visibility against this stream's own reference (occlusion challenges). */
  visibility: RegionVisibility;
}

type Entry = AudioEntry | VideoEntry;

const entries = new Map<string, Entry>();
let vad: SileroVadModel | undefined;
let faces: FaceAnalyzer | undefined;
/** Face analyses running now (all streams, closed ones included). */
let faceBusy = 0;

async function init(): Promise<void> {
  if (cfg.kind === 'audio') vad = await SileroVadModel.load();
  let error: string | undefined;
  if (cfg.faceAnalysis) {
    try {
      faces = await FaceAnalyzer.create({});
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      log.error('face analysis unavailable', { error: e });
    }
  }
  post({ type: 'ready', faceAnalysis: faces !== undefined, ...(error ? { error } : {}) });
}

function open(m: OpenStream): void {
  if (entries.has(m.tapId)) return;
  if (m.stream.kind === 'audio') {
    if (!vad) throw new Error('audio stream sent to a video worker');
    const proc = new AudioStreamProcessor(m.stream, vad, {
      codec: m.codec ?? 'opus',
      payloadType: m.payloadType,
      clockRate: m.clockRate,
      windower: { windowSeconds: cfg.windowSeconds, hopSeconds: cfg.hopSeconds, minSpeechSeconds: cfg.minSpeechSeconds, firstWindowSeconds: cfg.firstWindowSeconds },
    });
    proc.on('window', (w) => post({ type: 'window', window: w }, [w.samples.buffer as ArrayBuffer]));
    entries.set(m.tapId, { kind: 'audio', stream: m.stream, proc });
  } else {
    const proc = new VideoStreamProcessor({ payloadType: m.payloadType, decoder: { maxFps: cfg.videoFps } });
    const entry: VideoEntry = { kind: 'video', stream: m.stream, proc, busy: false, analysed: 0, skipped: 0, seq: 0, crops: [], faceSizes: [], windowStart: 0, lastFaceSize: 0, visibility: new RegionVisibility() };
    proc.on('keyframe-needed', () => post({ type: 'keyframe-needed', tapId: m.tapId }));
    proc.on('frame', (f) => void onFrame(m.tapId, entry, f));
    entries.set(m.tapId, entry);
  }
  post({ type: 'opened', tapId: m.tapId });
}

/** Face analysis is serial per stream; frames that arrive while it is busy are skipped (counted). */
async function onFrame(tapId: string, e: VideoEntry, f: DecodedVideoFrame): Promise<void> {
  if (!faces || shuttingDown) return;
  if (e.busy) {
    e.skipped++;
    return;
  }
  e.busy = true;
  faceBusy++;
  try {
    const analysis = await faces.analyze({ width: f.width, height: f.height, rgb: f.rgb });
    e.analysed++;
    const face = largestFace(analysis.faces);
    const now = Date.now();
    post({
      type: 'face-observation',
      tapId,
      stream: e.stream,
      observation: toFaceObservation(face, now, face ? e.visibility.update(face, f) : {}),
    });
    if (!face) return;
    e.lastFaceSize = Math.min(face.box.width, face.box.height);
    if (e.crops.length === 0) e.windowStart = f.arrivalMs;
    e.crops.push(face.crop);
    e.faceSizes.push(e.lastFaceSize);
    if (e.crops.length >= cfg.faceWindowFrames) emitFaceWindow(e, f.arrivalMs);
  } catch (err) {
    log.warn('face analysis failed', { error: err });
  } finally {
    e.busy = false;
    faceBusy--;
  }
}

function emitFaceWindow(e: VideoEntry, wallEnd: number): void {
  const n = e.crops.length;
  const size = cfg.cropSize * cfg.cropSize * 3;
  const crops = new Uint8Array(n * size);
  e.crops.forEach((c, i) => crops.set(c.subarray(0, size), i * size));
  const st = e.proc.stats();
  const window: FaceWindow = {
    type: 'face-window',
    stream: e.stream,
    seq: e.seq++,
    width: cfg.cropSize,
    height: cfg.cropSize,
    crops,
    frames: n,
    wallStart: e.windowStart,
    wallEnd,
    quality: {
      frameRate: st.frameRate,
      faceSize: e.faceSizes.reduce((a, b) => a + b, 0) / n,
      packetLoss: st.packets + st.lost > 0 ? st.lost / (st.packets + st.lost) : 0,
    },
  };
  e.crops = [];
  e.faceSizes = [];
  post({ type: 'window', window }, [crops.buffer]);
}

function close(tapId: string): void {
  const e = entries.get(tapId);
  if (!e) return;
  entries.delete(tapId);
  e.proc.close();
}

function onRtp(m: Extract<ToMediaWorker, { type: 'rtp' }>): void {
  let start = 0;
  for (let i = 0; i < m.ends.length; i++) {
    const end = m.ends[i]!;
    const e = entries.get(m.tapIds[m.tapIndex[i]!]!);
    // Each packet gets its own copy: the audio path holds payload views while reordering.
    if (e) e.proc.push(m.data.slice(start, end), m.arrivals[i]!);
    start = end;
  }
}

let shuttingDown = false;

/**
 * Graceful exit: the thread must never be terminated while onnxruntime or libopus is inside
 * a native call (that aborts the whole process), so it closes its streams, waits for the
 * model runs in flight, releases the sessions, and only then exits on its own.
 */
async function shutdown(): Promise<void> {
  shuttingDown = true;
  for (const id of [...entries.keys()]) close(id);
  const deadline = Date.now() + 5000;
  while (faceBusy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await vad?.close();
  await faces?.close();
  post({ type: 'closed' });
  port.close();
  process.exit(0);
}

port.on('message', (m: ToMediaWorker) => {
  if (shuttingDown) return;
  switch (m.type) {
    case 'open':
      open(m);
      break;
    case 'rtp':
      onRtp(m);
      post({ type: 'batch-done' });
      break;
    case 'close':
      close(m.tapId);
      break;
    case 'shutdown':
      void shutdown();
      break;
  }
});

// Reorder buffers release held packets on time even when no new packet arrives.
setInterval(() => {
  const now = Date.now();
  for (const e of entries.values()) if (e.kind === 'audio') e.proc.poll(now);
}, 20).unref();

setInterval(() => {
  for (const [tapId, e] of entries) {
    if (e.kind === 'audio') post({ type: 'stats', tapId, stream: e.stream, audio: { ...e.proc.stats(), codec: e.proc.options.codec, clockRate: e.proc.options.clockRate } });
    else post({ type: 'stats', tapId, stream: e.stream, video: { ...e.proc.stats(), faceFramesAnalysed: e.analysed, faceFramesSkipped: e.skipped, faceSize: e.lastFaceSize } });
  }
  void registry.getMetricsAsJSON().then((metrics) => post({ type: 'metrics', metrics }));
}, cfg.statsIntervalMs).unref();

init().catch((e: unknown) => {
  post({ type: 'ready', faceAnalysis: false, error: e instanceof Error ? e.message : String(e) });
});
