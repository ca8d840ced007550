/**
 * The settings that shaped a call's verdicts and challenges, as plain JSON for an evidence
 * bundle: the verdict machine's thresholds, evidence decay, fusion weights, input-quality
 * gates, presentation-attack gate, analysis windows and challenge policy. Defaults of each
 * module merged with what the service was configured with (src/config.ts, passed in).
 */
import { defaultVerdictMachineOptions } from '../pipeline/verdict/VerdictMachine.js';
import { defaultEvidenceAccumulatorOptions } from '../pipeline/verdict/EvidenceAccumulator.js';
import { defaultPadOptions, defaultParticipantVerdictOptions, defaultQualityThresholds, type ParticipantVerdictOptions } from '../pipeline/verdict/ParticipantVerdict.js';
import { defaultChallengePolicyOptions } from '../challenge-response/ChallengePolicy.js';
import { defaultChallengeManagerOptions } from '../challenge-response/ChallengeManagerOptions.js';
import { defaultFaceContinuityOptions, defaultVoiceContinuityOptions } from '../pipeline/verdict/IdentityContinuity.js';

/** The configuration values (src/config.ts names) that reach verdicts and challenges. */
export interface VerdictConfig {
  analysis: boolean;
  audioWindowSec: number;
  audioHopSec: number;
  minSpeechSec: number;
  videoFps: number;
  faceWindowFrames: number;
  faceAnalysis: boolean;
  padMode: 'raise' | 'report';
  padMinPFake: number;
  padMaxPFake: number;
  challenges: boolean;
  challengeCooldownMs: number;
  challengeMaxPerCall: number;
  challengeSpotCheck: number;
  challengeVerifiedForMs: number;
  /** Absent in bundles of services older than the speaker-continuity check. */
  speakerContinuity?: boolean;
  /** Absent in bundles of services older than the face-continuity check. */
  faceContinuity?: boolean;
  takeoverHoldMs?: number;
}

export interface VerdictSettingsInput {
  config: VerdictConfig;
  /** The verdict options the running pipeline uses; absent: derived from `config` as the pipeline would. */
  verdict?: Partial<ParticipantVerdictOptions> | undefined;
}

export function verdictSettings(input: VerdictSettingsInput): Record<string, unknown> {
  const c = input.config;
  const v: Partial<ParticipantVerdictOptions> = input.verdict ?? {
    pad: { mode: c.padMode, minPFake: c.padMinPFake, maxPFake: c.padMaxPFake },
    quality: { ...defaultQualityThresholds, minFrameRate: c.videoFps * 0.6 },
    ...(c.takeoverHoldMs !== undefined ? { machine: { takeoverHoldMs: c.takeoverHoldMs } } : {}),
  };
  const d = defaultParticipantVerdictOptions;
  const pad = { ...defaultPadOptions, ...v.pad };
  const quality = { ...defaultQualityThresholds, ...v.quality };
  return {
    source: 'effective settings of the exporting service at export time',
    verdict: {
      machine: { ...defaultVerdictMachineOptions, ...v.machine },
      accumulator: { ...defaultEvidenceAccumulatorOptions, ...v.accumulator },
      fusion: {
        audioWeight: v.audioWeight ?? d.audioWeight,
        videoWeight: v.videoWeight ?? d.videoWeight,
        confidenceEvidence: v.confidenceEvidence ?? d.confidenceEvidence,
        confidenceDelta: v.confidenceDelta ?? d.confidenceDelta,
        verifiedConfidence: v.verifiedConfidence ?? d.verifiedConfidence,
        ignoredDropReasons: [...(v.ignoredDropReasons ?? d.ignoredDropReasons)],
        detectorWeights: 'per model: models[].verdictWeight',
      },
      quality: { ...quality, poorBandwidths: [...quality.poorBandwidths] },
      presentationAttack: { ...pad, tasks: [...pad.tasks] },
      speakerContinuity: { enabled: c.speakerContinuity ?? false, ...defaultVoiceContinuityOptions, ...v.speaker },
      faceContinuity: { enabled: (c.faceContinuity ?? false) && c.faceAnalysis, ...defaultFaceContinuityOptions, ...v.face },
    },
    analysis: {
      enabled: c.analysis,
      audioWindowSec: c.audioWindowSec,
      audioHopSec: c.audioHopSec,
      minSpeechSec: c.minSpeechSec,
      videoFps: c.videoFps,
      faceWindowFrames: c.faceWindowFrames,
      faceAnalysis: c.faceAnalysis,
    },
    challenges: {
      enabled: c.challenges && c.analysis,
      cooldownMs: c.challengeCooldownMs,
      maxPerCall: c.challengeMaxPerCall,
      maxPerParticipant: defaultChallengePolicyOptions.maxPerParticipant,
      spotCheckProbability: c.challengeSpotCheck,
      verifiedForMs: c.challengeVerifiedForMs,
      spikeThreshold: defaultChallengeManagerOptions.spikeThreshold,
      responseSlackSec: defaultChallengeManagerOptions.responseSlackSec,
    },
  };
}
