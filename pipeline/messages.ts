/**
 * Plain, serializable messages that flow from the media taps to the detectors and back.
 * They cross thread (and later process or NATS) boundaries, so they hold only
 * primitives, plain objects and typed arrays.
 */
import type { CalibrationChannel, LegCodec } from '../detectors/registry/Manifest.js';

export type MediaKind = 'audio' | 'video';

/** Identifies one tapped track of one participant. */
export interface StreamRef {
  roomId: string;
  peerId: string;
  /** mediasoup producer id. */
  producerId: string;
  kind: MediaKind;
}

/** Input quality measured while the window was collected. */
export interface AudioQuality {
  /** Fraction of expected packets that never arrived, 0..1. */
  packetLoss: number;
  /** Fraction of samples produced by packet-loss concealment, 0..1. */
  concealed: number;
  /** Mean Opus bitrate in bit/s over the window, from payload sizes. */
  bitrate: number;
  /** Opus audio bandwidth from the TOC byte: 'NB' | 'MB' | 'WB' | 'SWB' | 'FB' ('NB' for G.711). */
  bandwidth: string;
  /**
   * The channel the audio came through (detectors/registry/Manifest.ts CalibrationChannel):
   * 'telephone' for G.711 8 kHz phone legs, 'suppressed' for wideband audio from a sender
   * whose noise suppressor ran (a browser's default), absent (wideband) otherwise. Detectors
   * calibrate these windows with their `calibration.telephone` or `calibration.suppressed`.
   */
  channel?: CalibrationChannel;
  /**
   * A gateway's leg judged as wideband audio (Manifest.ts LegCodec): 'g722' for a G.722 leg's
   * windows (an HD-voice SIP caller), 'sip-opus' for a gateway's Opus leg (SIP or plain RTP); their
   * verdict weight is the manifests' `verdict.weightG722` / `verdict.weightSipOpus` where they have
   * one (`verdictWeightFor`). Absent otherwise (browser audio, phone legs).
   */
  codec?: LegCodec;
}

/** Why a face window is not judged (pipeline/video/faceGate.ts). */
export type FaceWindowIssue = 'several-faces' | 'face-at-edge' | 'frozen' | 'dark';

export interface VideoQuality {
  /** Decoded frames per second over the window. */
  frameRate: number;
  /** Mean face box size in pixels (shorter side), 0 when no face. */
  faceSize: number;
  packetLoss: number;
  /** Set when the window must not be judged: the face detectors abstain on it. */
  issue?: FaceWindowIssue;
}

/** A speech-gated window of mono PCM for the voice detectors. */
export interface AudioWindow {
  type: 'audio-window';
  stream: StreamRef;
  /** Monotonic per-stream sequence number of the window. */
  seq: number;
  sampleRate: number;
  samples: Float32Array;
  /** RTP timestamps (48 kHz clock, unwrapped) of the first and last sample. */
  rtpStart: number;
  rtpEnd: number;
  /** Wall-clock ms (Date.now()) when the first and last sample arrived. */
  wallStart: number;
  wallEnd: number;
  /** Seconds of VAD-positive speech inside the window. */
  speechSeconds: number;
  quality: AudioQuality;
}

/** A window of aligned face crops (RGB, HWC, uint8) for the face detectors. */
export interface FaceWindow {
  type: 'face-window';
  stream: StreamRef;
  seq: number;
  width: number;
  height: number;
  /** Concatenated RGB crops, frames * height * width * 3 bytes. */
  crops: Uint8Array;
  frames: number;
  wallStart: number;
  wallEnd: number;
  quality: VideoQuality;
  /**
   * Who the face is: the L2-normalised descriptor of the window's middle crop (detectors/face/
   * FaceDescriber.ts, model face-embed), when face continuity is on. The verdict tracks it.
   */
  descriptor?: Float32Array;
}

export type AnalysisWindow = AudioWindow | FaceWindow;

/** One key per stream (room, peer, producer), for maps and fair queues. */
export function streamKey(s: StreamRef): string {
  return `${s.roomId}\u0000${s.peerId}\u0000${s.producerId}`;
}

/** One detector's output for one window. */
export interface WindowScore {
  type: 'score';
  stream: StreamRef;
  seq: number;
  /** Detector id from the model manifest, e.g. "voice-antispoof". */
  detector: string;
  modelVersion: string;
  /** Calibrated probability that the window is fake, 0..1. */
  pFake: number;
  /** Seconds of evidence the window carried (speech seconds or frames / fps). */
  evidence: number;
  wallEnd: number;
  /** Timings in ms. */
  queueMs: number;
  inferenceMs: number;
}
