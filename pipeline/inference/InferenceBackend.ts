/**
 * What the pipeline needs from an inference service. `InferencePool` implements it with
 * local worker threads; `cluster/RemoteInference.ts` with analysis workers over NATS
 * (`DFD_ANALYSIS=remote`), since windows and scores are plain serialisable messages
 * (pipeline/messages.ts, events/workWire.ts).
 */
import type { ScoreChannel } from '../verdict/TenantCalibration.js';
import type { LegCodec, ModelTask } from '../../detectors/registry/Manifest.js';
import type { AnalysisWindow, StreamRef, WindowScore } from '../messages.js';

export type DropReason =
  /** Evicted by fair thinning because the detector's queue was full. */
  | 'queue-full'
  /** Waited longer than maxQueueAgeMs. */
  | 'stale'
  /** The worker running it died. */
  | 'worker-crash'
  /** onnxruntime or preprocessing failed on the batch. */
  | 'inference-error'
  /** Shorter than the model's minSeconds, or malformed. */
  | 'bad-input'
  /** Audio a voice model must not judge: silent, clipped or non-finite (pipeline/inference/audioGate.ts). */
  | 'unjudgeable-audio'
  /** A face window the face models must not judge: several faces, face cut off, frozen or dark (pipeline/video/faceGate.ts). */
  | 'unjudgeable-video'
  /** No worker could open the model. */
  | 'model-unavailable'
  /** The pool closed with the window queued or running. */
  | 'closed'
  /** Remote analysis: no worker answered in time, after the retries (worker died, stalled or overloaded). */
  | 'remote-timeout'
  /** Remote analysis: no analysis worker is subscribed. */
  | 'no-workers';

/**
 * `dfd_windows_dropped_total`: every backend counts the windows it drops itself under this one
 * definition (the local pool; remote analysis for its own drops, a worker on its /metrics).
 */
export const WINDOWS_DROPPED_METRIC = { name: 'dfd_windows_dropped_total', help: 'Windows not scored, by detector and reason', labelNames: ['detector', 'reason'] as const };

/** Every DropReason, for checking one that arrived from elsewhere (a remote worker's reply). */
export const DROP_REASONS: readonly DropReason[] = ['queue-full', 'stale', 'worker-crash', 'inference-error', 'bad-input', 'unjudgeable-audio', 'unjudgeable-video', 'model-unavailable', 'closed', 'remote-timeout', 'no-workers'];

export interface DropEvent {
  stream: StreamRef;
  seq: number;
  detector: string;
  /** The detector's manifest task, when the backend knows it. */
  task?: ModelTask;
  /**
   * The version of the model that would have scored the window (the manifest's, where it was
   * dropped), so a verdict counts the drop on that version even across a model swap.
   */
  modelVersion: string;
  reason: DropReason;
}

/**
 * A window score with the detector's manifest task (e.g. `face-forgery`, `face-pad`) and the
 * manifest's verdict weight (0..1): how much verdicts and challenges may act on `pFake`.
 */
export interface DetectorScore extends WindowScore {
  task: ModelTask;
  weight: number;
  /** What the window came through (set by the pipeline as the score reaches its participant). */
  channel?: ScoreChannel;
  /** A gateway's leg judged as wideband audio (set with `channel`; AudioQuality.codec): 'g722' or 'sip-opus'. */
  codec?: LegCodec;
  /** Set when the participant's tenant has its own calibration for this detector and channel: `pFake` is that one's. */
  tenantCalibration?: { version: number; shippedPFake: number };
}

/** A speaker-embedding model's vector for one speech window (task speaker-embed): no pFake, no verdict weight. */
export interface SpeakerEmbedding {
  type: 'embedding';
  stream: StreamRef;
  seq: number;
  detector: string;
  modelVersion: string;
  /** L2-normalised. */
  vector: Float32Array;
  /** The audio channel of the window (telephone audio and noise-suppressed senders have their own thresholds). */
  channel: 'wideband' | 'telephone' | 'suppressed';
  wallEnd: number;
}

export interface DetectorInfo {
  id: string;
  version: string;
  task: ModelTask;
  kind: 'audio' | 'video';
}

export type InferenceBackendEvents = {
  score: [DetectorScore];
  embedding: [SpeakerEmbedding];
  dropped: [DropEvent];
};

export interface InferenceBackend {
  on<K extends keyof InferenceBackendEvents>(event: K, listener: (...args: InferenceBackendEvents[K]) => void): unknown;
  off<K extends keyof InferenceBackendEvents>(event: K, listener: (...args: InferenceBackendEvents[K]) => void): unknown;
  /** Resolves once the backend can run every detector it knows (or knows it cannot). */
  ready(): Promise<void>;
  /**
   * Never blocks. Takes ownership of the window's typed-array buffer (it may be
   * transferred to another thread). Returns whether at least one detector queued it.
   */
  submit(window: AnalysisWindow): boolean;
  detectors(): DetectorInfo[];
  close(): Promise<void>;
}
