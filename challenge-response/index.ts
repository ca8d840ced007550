/**
 * Public entry point of the challenge-response module. Read in this order:
 * catalogue (what is asked) -> ChallengePolicy (when, whom, what) -> Challenge (lifecycle)
 * -> ChallengeManager (one call: inputs, baseline, evaluation; its options and the outcomes
 * it reports in ChallengeManagerOptions / ChallengeOutcome) -> checkers/ and
 * dsp/ (how compliance is measured) -> prompt/ (how the prompt reaches the caller).
 */
export { catalogue, catalogueEntry, phrases, unusualWords, randomMelody } from './catalogue.js';
export type { CatalogueEntry, ChallengeSpec, Modality, SpokenPrompt } from './catalogue.js';
export { Challenge, canTransition, isTerminal, defaultChallengeTimeouts } from './Challenge.js';
export type { ActiveState, ChallengeState, ChallengeTimeouts, ChallengeTrigger, OutcomeState, StateChange, TerminalState } from './Challenge.js';
export { ChallengePolicy, defaultChallengePolicyOptions } from './ChallengePolicy.js';
export type { ChallengePolicyOptions, ParticipantProfile } from './ChallengePolicy.js';
export { ChallengeManager } from './ChallengeManager.js';
export type { AudioChunk, ChallengeManagerEvents, DetectorScore } from './ChallengeManager.js';
export { defaultChallengeManagerOptions } from './ChallengeManagerOptions.js';
export type { ChallengeManagerOptions } from './ChallengeManagerOptions.js';
export { evidenceOf } from './ChallengeOutcome.js';
export type { ChallengeEvent, ChallengeOutcome, Evidence, OperatorDecision } from './ChallengeOutcome.js';
export { BaselineTracker, populationBaseline } from './SpeakerBaseline.js';
export type { SpeakerBaseline } from './SpeakerBaseline.js';
export { analyseAudio, defaultAnalyseOptions } from './dsp/analyse.js';
export type { AudioAnalysis, AudioMeasurements } from './dsp/analyse.js';
export { estimatePose, defaultPoseEstimatorOptions } from '../detectors/face/FaceObservation.js';
export type { FaceObservation, FaceRegion, PoseLandmarks } from '../detectors/face/FaceObservation.js';
export type { CheckOutcome, CheckResult, ChallengeParams } from './checkers/types.js';
export { PromptInjector, defaultPromptInjectorOptions } from './prompt/PromptInjector.js';
export type { PromptEnded, PromptInjectorEvents, PromptInjectorOptions, PromptStarted } from './prompt/PromptInjector.js';
export { OpusRtpPacketizer, readRtpHeader } from './prompt/OpusRtpPacketizer.js';
export { synthesizePrompt, synthesizeMelody, defaultPromptAudioOptions } from './prompt/PromptAudio.js';
export type { PromptAudioOptions } from './prompt/PromptAudio.js';
export { promptPlayer } from './prompt/promptPlayer.js';
export { AnalysisWorker, defaultAnalysisWorkerOptions } from './dsp/AnalysisWorker.js';
export type { AnalysisWorkerOptions } from './dsp/AnalysisWorker.js';
