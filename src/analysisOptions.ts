/**
 * How the config maps to the options of the analysis side of the service: the thread
 * priority of every analysis thread (media and inference workers, the challenge-response
 * analysis worker), the analysis pipeline's options (media windows, inference workers,
 * verdict settings) and challenge-response's (verification time, policy limits). `Service`
 * starts both with these when analysis (and challenges) are on.
 */
import type { ThreadPriority } from '../kernel/threadPriority.js';
import type { AnalysisPipelineOptions } from '../pipeline/AnalysisPipeline.js';
import type { InferencePoolOptions } from '../pipeline/inference/InferencePool.js';
import type { ChallengeServiceOptions } from '../challenge-response/ChallengeService.js';
import type { Config } from './config.js';

/** DFD_ANALYSIS_NICE / _SCHED / _CPUS: shared by every analysis thread. */
export function analysisPriority(c: Config): ThreadPriority {
  return { nice: c.analysisNice, policy: c.analysisSched, cpus: c.analysisCpus };
}

/**
 * DFD_OFFPATH_NICE: the priority of the threads off the score path (speaker embeddings, the second voice stage,
 * challenge-response's analysis), `offPathNice` below the media workers'.
 */
export function offPathPriority(c: Config, priority: ThreadPriority): ThreadPriority {
  return { ...priority, nice: Math.min(19, priority.nice + c.offPathNice) };
}

/** The inference pool's options: the service's own pool and a remote analysis worker's (`npm run worker`). */
export function inferencePoolOptions(c: Config, priority: ThreadPriority): Partial<InferencePoolOptions> {
  return { workers: c.inferenceWorkers, threadPriority: priority, executionProvider: c.ortExecutionProvider, cpuModels: c.ortCpuModels, intraOpNumThreads: c.ortThreads, queueCapacity: c.inferenceQueue, maxAudioBatch: c.inferenceAudioBatch, maxBatchFrames: c.inferenceFaceBatch, lagWarnMs: c.lagWarnMs, faceForgeryFrames: c.faceForgeryFrames };
}

export function pipelineOptions(c: Config, priority: ThreadPriority): Partial<AnalysisPipelineOptions> {
  return {
    modelsDir: c.modelsDir,
    media: {
      audioWorkers: c.audioWorkers,
      videoWorkers: c.videoWorkers,
      windowSeconds: c.audioWindowSec,
      hopSeconds: c.audioHopSec,
      minSpeechSeconds: c.minSpeechSec,
      threadPriority: priority,
      firstWindowSeconds: c.audioFirstWindowSec,
      videoFps: c.videoFps,
      faceWindowFrames: c.faceWindowFrames,
      faceRedetectEvery: c.faceRedetectEvery,
      faceAnalysis: c.faceAnalysis,
      faceContinuity: c.faceContinuity,
      logLevel: c.logLevel,
    },
    inferencePlacement: c.inferencePlacement === 'media' ? 'media-threads' : 'inference-threads',
    // With the score detectors in the media workers, the inference threads hold only off-path work.
    inference: inferencePoolOptions(c, c.inferencePlacement === 'media' ? offPathPriority(c, priority) : priority),
    verdict: { pad: { mode: c.padMode, minPFake: c.padMinPFake, maxPFake: c.padMaxPFake }, machine: { takeoverHoldMs: c.takeoverHoldMs }, detectorFusion: c.detectorFusion },
    speakerContinuity: c.speakerContinuity,
    cascadeEvery: c.voiceCascadeEvery,
    defaultTenant: c.defaultTenant,
  };
}

export function challengeServiceOptions(c: Config, priority: ThreadPriority): Partial<ChallengeServiceOptions> {
  return {
    manager: {
      verifiedForMs: c.challengeVerifiedForMs,
      highRisk: c.challengeHighRisk,
      spotCheckEveryMs: c.challengeSpotCheckMs,
      policy: { cooldownMs: c.challengeCooldownMs, maxPerCall: c.challengeMaxPerCall, spotCheckProbability: c.challengeSpotCheck },
    },
    analysis: { threadPriority: offPathPriority(c, priority) },
    leanPFake: c.challengeLeanP,
    leanPFakeTelephone: c.challengeLeanPTelephone,
    leanPFakeG722: c.challengeLeanPG722,
    leanPFakeSipOpus: c.challengeLeanPSipOpus,
  };
}
