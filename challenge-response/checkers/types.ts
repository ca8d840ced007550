/** What every checker returns, audio or video. */
import type { AudioAnalysis } from '../dsp/analyse.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import type { MelodyNote } from '../dsp/melody.js';
import type { SpeakerBaseline } from '../SpeakerBaseline.js';

export type CheckResult = 'pass' | 'fail' | 'unclear';

export interface CheckOutcome {
  result: CheckResult;
  /** Plain numbers measured for this decision (serializable, shown to the operator). */
  measurements: Record<string, number>;
  /** Static, human-readable reason. No personal data. */
  reason: string;
}

/** Randomised parameters of one issued challenge. */
export interface ChallengeParams {
  phrase?: string;
  words?: string[];
  /** Expected syllables of the phrase (for the rate and word checks). */
  syllables?: number;
  melody?: MelodyNote[];
  side?: 'left' | 'right';
}

export interface AudioCheckInput {
  analysis: AudioAnalysis;
  baseline: SpeakerBaseline;
  params: ChallengeParams;
}

/** The caller's resting head pose before the challenge (medians), when the call has shown one. */
export interface PoseBaseline {
  yawDeg: number;
  pitchDeg: number;
  /** Face observations behind the medians. */
  frames: number;
}

export interface VideoCheckInput {
  observations: readonly FaceObservation[];
  params: ChallengeParams;
  /** Pose angles are judged relative to this; without it, relative to the first frames of the response. */
  poseBaseline?: PoseBaseline;
}

export type AudioChecker = (input: AudioCheckInput) => CheckOutcome;
export type VideoChecker = (input: VideoCheckInput) => CheckOutcome;
