/**
 * Options of `ChallengeManager` (one call's challenge-response) and their defaults: call
 * shape (audio-only, high risk), the policy, baseline and analysis settings it passes on,
 * response windows, spike threshold, memory bounds and the prompt player. Also read by
 * evidence/verdictSettings.ts (the settings recorded in evidence bundles) and the eval tools.
 */
import type { ChallengeSpec } from './catalogue.js';
import type { ChallengeTimeouts } from './Challenge.js';
import type { ChallengePolicyOptions } from './ChallengePolicy.js';
import type { AnalyseOptions, AudioAnalysis } from './dsp/analyse.js';
import type { AnalysisJob } from './dsp/AnalysisWorker.js';
import type { BaselineTrackerOptions } from './SpeakerBaseline.js';

export interface ChallengeManagerOptions {
  callId: string;
  /** No video on this call: audio challenges only. */
  audioOnly: boolean;
  /** Random spot checks are allowed (high-risk call). */
  highRisk: boolean;
  /**
   * High-risk calls: every this many ms, each participant heard in that time and not being
   * challenged gets a spot check with probability `policy.spotCheckProbability`; 0 = never
   * (`maybeSpotCheck` still works when called).
   */
  spotCheckEveryMs: number;
  policy: Partial<ChallengePolicyOptions>;
  baseline: Partial<BaselineTrackerOptions>;
  analyse: Partial<AnalyseOptions>;
  /**
   * Runs the audio measurement pass (16 kHz mono). Default: in this thread (about 0.05-0.1 s
   * of CPU per second of audio); pass `AnalysisWorker.analyse` to keep it off the event loop
   * (it serves challenge responses before baseline chunks: `job`).
   */
  analyser: ((samples: Float32Array, options: Partial<AnalyseOptions>, job: AnalysisJob) => AudioAnalysis | Promise<AudioAnalysis>) | undefined;
  /** Deadlines of the non-terminal states, ms (awaiting-response adds the spec's duration). */
  timeouts: Partial<Omit<ChallengeTimeouts, 'awaitingResponseMs'>>;
  /** Response window = expected duration + this, s. */
  responseSlackSec: number;
  /** Extra wait after the response window for audio still in the pipeline, ms. */
  lateInputGraceMs: number;
  /** A detector pFake at or above this during the response is a spike. */
  spikeThreshold: number;
  /** How long a passed challenge counts as verification, ms. */
  verifiedForMs: number;
  /** Audio collected per response at most, s (bounds memory). */
  maxResponseSec: number;
  /** Face observations kept per response at most. */
  maxFaceObservations: number;
  /** Recent face observations (face found) kept between challenges for the resting pose. */
  poseBaselineFrames: number;
  /** Fewer than this before a challenge: the video checkers judge pose against the camera. */
  minPoseBaselineFrames: number;
  /** Normal speech analysed per baseline update, s. */
  baselineChunkSec: number;
  /** Once the baseline is ready, analyse only every n-th chunk (CPU). */
  baselineRefreshEvery: number;
  /** Plays the spoken prompt to the participant; resolves when done (wire a PromptInjector here). */
  playPrompt: ((peerId: string, spec: ChallengeSpec) => Promise<void>) | undefined;
  now: () => number;
}

export const defaultChallengeManagerOptions: Omit<ChallengeManagerOptions, 'callId'> = {
  audioOnly: false,
  highRisk: false,
  spotCheckEveryMs: 60_000,
  policy: {},
  baseline: {},
  analyse: {},
  analyser: undefined,
  timeouts: {},
  responseSlackSec: 3,
  lateInputGraceMs: 1000,
  spikeThreshold: 0.8,
  verifiedForMs: 10 * 60_000,
  maxResponseSec: 30,
  maxFaceObservations: 900,
  poseBaselineFrames: 25,
  minPoseBaselineFrames: 5,
  baselineChunkSec: 4,
  baselineRefreshEvery: 5,
  playPrompt: undefined,
  now: () => Date.now(),
};
