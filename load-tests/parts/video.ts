/**
 * Analysed video frames per second per core, from measured CPU per analysed frame:
 * VP8 decode (ffmpeg CPU for 640x480 30 fps input, 5 fps RGB output, per output frame;
 * Node RTP/IVF work per frame) + face detection (times the share of frames that run the detector:
 * the face track lets the mesh follow the face in between, measured by the face bench on a moving
 * face) + landmarks + alignment per frame +
 * face-forgery inference per crop (times the share of frames it scores: DFD_FACE_FORGERY_FRAMES of
 * DFD_FACE_WINDOW_FRAMES) + every presentation-attack (face-pad) model per crop.
 * Uses the stage benches' numbers (run here when the `stages` part did not run). Model costs
 * are session timings on the model's input tensor: the resize from the 256x256 crop is not in them.
 */
import type { BenchRun, DetectorTiming } from './stages.js';
import { scoredFrameCount } from '../../pipeline/inference/frameSubsample.js';

export interface VideoResult {
  perFrameCpuMs: { decode: number; nodeRtp: number; faceDetect: number; landmarks: number; align: number; faceForgery: number | null; presentationAttack: number; total: number };
  /** Share of analysed frames that run the face detector (1 without a face track). */
  detectorShare: number;
  /** Share of analysed frames the face-forgery model scores (faceForgeryFrames / faceWindowFrames; 1 when it scores every frame). */
  forgeryShare: number;
  analysedFramesPerSecondPerCore: number;
  /** Streams one core carries at the configured analysis rate. */
  streamsPerCoreAtFps: { fps: number; streams: number };
  inputs: string;
}

interface VideoBenchJson {
  ffmpegCpuMsPerOutputFrame: number;
  nodeCpuMs: number;
  output: { frames: number };
}
interface FaceBenchJson {
  detectMsPerFrame: { mean: number };
  landmarksMsPerFace: { mean: number };
  alignMsPerFace: { mean: number };
  /** Measured on a moving face with the service's redetect interval (absent in older results: 1). */
  detectorShare?: number;
  redetectEvery?: number;
}

/**
 * `forgery`: how many frames of each face window the face-forgery model scores (`frames`: 0 or at
 * least `window` is every frame), as the service is configured (DFD_FACE_FORGERY_FRAMES,
 * DFD_FACE_WINDOW_FRAMES).
 */
export function videoFromStages(videoDecode: BenchRun | undefined, face: BenchRun | undefined, detectors: DetectorTiming[], fps: number, forgery: { frames: number; window: number } = { frames: 0, window: 1 }): VideoResult | { error: string } {
  if (!videoDecode?.ok || !face?.ok) return { error: `missing stage results: ${videoDecode?.error ?? ''} ${face?.error ?? ''}`.trim() };
  const v = videoDecode.result as VideoBenchJson;
  const f = face.result as FaceBenchJson;
  const ff = detectors.filter((d) => d.detector.startsWith('face-forgery') || d.detector.startsWith('test-face')).filter((d) => d.threads === 1);
  // Face windows are micro-batched across streams: take the cheapest batch per crop.
  const perCrop = ff.length ? Math.min(...ff.map((d) => d.msPerWindow.p50)) : null;
  const forgeryShare = scoredFrameCount(forgery.window, forgery.frames) / forgery.window;
  // Every face-pad model sees every crop: sum their cheapest per-crop cost.
  const padIds = [...new Set(detectors.filter((d) => d.task === 'face-pad' && d.threads === 1).map((d) => d.detector))];
  const pad = padIds.reduce((sum, id) => sum + Math.min(...detectors.filter((d) => d.detector === id && d.threads === 1).map((d) => d.msPerWindow.p50)), 0);
  const parts = {
    decode: +v.ffmpegCpuMsPerOutputFrame.toFixed(2),
    nodeRtp: +(v.nodeCpuMs / Math.max(1, v.output.frames)).toFixed(2),
    faceDetect: +(f.detectMsPerFrame.mean * (f.detectorShare ?? 1)).toFixed(2),
    landmarks: +f.landmarksMsPerFace.mean.toFixed(2),
    align: +f.alignMsPerFace.mean.toFixed(2),
    faceForgery: perCrop === null ? null : +(perCrop * forgeryShare).toFixed(2),
    presentationAttack: +pad.toFixed(2),
  };
  const total = parts.decode + parts.nodeRtp + parts.faceDetect + parts.landmarks + parts.align + (parts.faceForgery ?? 0) + parts.presentationAttack;
  const perCore = 1000 / total;
  return {
    perFrameCpuMs: { ...parts, total: +total.toFixed(2) },
    detectorShare: f.detectorShare ?? 1,
    forgeryShare,
    analysedFramesPerSecondPerCore: +perCore.toFixed(1),
    streamsPerCoreAtFps: { fps, streams: +(perCore / fps).toFixed(1) },
    inputs: `pipeline/video/bench.ts (VP8 640x480 30 fps -> RGB 5 fps), detectors/face/bench.ts (640x480, 1 ORT thread; detector on ${f.redetectEvery ? `1 frame in ${f.redetectEvery}` : 'every frame'}), face-forgery (${forgeryShare < 1 ? `${forgery.frames} of each ${forgery.window}-frame window` : 'every frame'}) and face-pad session timings (1 thread, best batch)`,
  };
}
