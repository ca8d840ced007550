/**
 * Messages between the main thread (AnalysisPipeline) and a media worker thread.
 * RTP arrives in batches (one message per ~10 ms per worker), windows leave one by one
 * with their sample/crop buffers transferred, never copied.
 */
import type { AudioWindow, FaceWindow, StreamRef } from '../messages.js';
import type { AudioStreamProcessorStats } from '../audio/AudioStreamProcessor.js';
import type { AudioCodec } from '../audio/audioCodec.js';
import type { VideoStreamStats } from '../video/VideoStreamProcessor.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import type { InferencePoolOptions } from '../inference/InferencePool.js';
import type { WorkerModel } from '../inference/protocol.js';
import type { DetectorInfo, DetectorScore, DropEvent } from '../inference/InferenceBackend.js';

/** What a media worker needs to score its own windows (plain data: it travels as workerData). */
export interface ColocatedInferenceConfig {
  /** Every available detector model; each worker opens those of its kind. */
  models: WorkerModel[];
  pool: Partial<Pick<InferencePoolOptions, 'intraOpNumThreads' | 'interOpNumThreads' | 'executionProvider' | 'cpuModels' | 'queueCapacity' | 'maxBatchFrames' | 'faceForgeryFrames' | 'maxAudioBatch' | 'embeddingSlackMs' | 'embeddingThinFill' | 'cascadeYieldFill' | 'maxWaitMs' | 'maxQueueAgeMs' | 'lagWarnMs' | 'lagWarnIntervalMs'>>;
}

export interface OpenStream {
  type: 'open';
  tapId: string;
  stream: StreamRef;
  payloadType: number;
  clockRate: number;
  /** Audio codec (absent: Opus). */
  codec?: AudioCodec;
  /** Audio: the sender's noise suppressor ran (MediaSourceInfo.senderNoiseSuppression). */
  senderNoiseSuppression?: boolean;
  /** Audio: the stream is a gateway's leg (MediaSourceInfo.gatewayLeg). */
  gatewayLeg?: boolean;
}

/** How a stream's RTP is to be read: `MediaWorkerPool.open`'s options. */
export type StreamMedia = Pick<OpenStream, 'payloadType' | 'clockRate' | 'codec' | 'senderNoiseSuppression' | 'gatewayLeg'>;

export interface RtpBatch {
  type: 'rtp';
  /** Per packet: index into `tapIds`, arrival ms, end offset into `data`. */
  tapIds: string[];
  tapIndex: Uint16Array;
  arrivals: Float64Array;
  ends: Uint32Array;
  data: Uint8Array;
}

export interface CloseStream {
  type: 'close';
  tapId: string;
}

export interface Shutdown {
  type: 'shutdown';
}

export type ToMediaWorker = OpenStream | RtpBatch | CloseStream | Shutdown;

export interface WorkerReady {
  type: 'ready';
  faceAnalysis: boolean;
  /** Detectors this worker runs on its own windows (media-threads placement), usable ones only. */
  detectors?: DetectorInfo[];
  error?: string;
}

export interface StreamOpened {
  type: 'opened';
  tapId: string;
}

/**
 * A window the worker made. When the worker scores its own windows (media-threads placement)
 * this is what the verdict observes (quality, speech seconds, face frames): an audio window
 * keeps a copy of its samples (the challenge checkers read them), a face window comes without
 * its crops (`crops` empty); its scores follow as `score` messages.
 */
export interface WindowOut {
  type: 'window';
  window: AudioWindow | FaceWindow;
}

/** Scored in the worker (media-threads placement): a detector's calibrated score. */
export interface ScoreOut {
  type: 'score';
  score: DetectorScore;
}

/** Scored in the worker: a window a detector did not score, with the reason. */
export interface DropOut {
  type: 'dropped';
  drop: DropEvent;
}

export interface FaceObservationOut {
  type: 'face-observation';
  tapId: string;
  stream: StreamRef;
  observation: FaceObservation;
}

export interface KeyframeNeeded {
  type: 'keyframe-needed';
  tapId: string;
}

export interface StreamStats {
  type: 'stats';
  tapId: string;
  stream: StreamRef;
  /** Audio counters with the stream's codec and RTP clock rate (the unit of `concealedSamples`). */
  audio?: AudioStreamProcessorStats & { codec: AudioCodec; clockRate: number };
  video?: VideoStreamStats & { faceFramesAnalysed: number; faceFramesSkipped: number; faceSize: number };
}

/** The worker's own prom-client metrics (JSON), merged into /metrics by the main thread. */
export interface WorkerMetrics {
  type: 'metrics';
  metrics: unknown[];
}

/** One RTP batch processed (the main thread bounds how many are outstanding). */
export interface BatchDone {
  type: 'batch-done';
}

/** The worker released its models and is about to exit (after `shutdown`). */
export interface WorkerClosed {
  type: 'closed';
}

export type FromMediaWorker = WorkerReady | StreamOpened | WindowOut | ScoreOut | DropOut | FaceObservationOut | KeyframeNeeded | StreamStats | WorkerMetrics | BatchDone | WorkerClosed;
