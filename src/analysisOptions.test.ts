import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { analysisPriority, challengeServiceOptions, pipelineOptions } from './analysisOptions.js';

describe('pipelineOptions (config -> analysis pipeline)', () => {
  it('hands the inference settings a GPU machine changes to the pool: provider, models kept on the CPU, batch sizes', () => {
    const c = loadConfig({ DFD_ORT_EP: 'webgpu', DFD_ORT_CPU_MODELS: 'speaker-embed,voice-whisper', DFD_INFERENCE_AUDIO_BATCH: '32', DFD_INFERENCE_FACE_BATCH: '16' });
    expect(pipelineOptions(c, analysisPriority(c)).inference).toMatchObject({
      executionProvider: 'webgpu',
      cpuModels: ['speaker-embed', 'voice-whisper'],
      maxAudioBatch: 32,
      maxBatchFrames: 16,
    });
    const d = loadConfig({});
    expect(pipelineOptions(d, analysisPriority(d)).inference).toMatchObject({ executionProvider: 'cpu', cpuModels: ['speaker-embed'], maxAudioBatch: 8, maxBatchFrames: 8 });
  });
});

describe('DFD_OFFPATH_NICE (threads off the score path)', () => {
  it('lowers the inference threads (speaker embeddings, second stage) and challenge analysis below the media workers', () => {
    const c = loadConfig({ DFD_OFFPATH_NICE: '5' });
    const p = pipelineOptions(c, analysisPriority(c));
    expect(p.media?.threadPriority).toMatchObject({ nice: 10 });
    expect(p.inference?.threadPriority).toMatchObject({ nice: 15 });
    expect(challengeServiceOptions(c, analysisPriority(c)).analysis?.threadPriority).toMatchObject({ nice: 15 });
    // every detector on the inference threads (the old placement): they hold the score path, so they keep its priority
    const t = loadConfig({ DFD_OFFPATH_NICE: '5', DFD_INFERENCE_PLACEMENT: 'threads' });
    expect(pipelineOptions(t, analysisPriority(t)).inference?.threadPriority).toMatchObject({ nice: 10 });
    // capped at 19; 5 by default (docs/performance.md); 0 gives every analysis thread one priority; out of range is a config error
    const capped = loadConfig({ DFD_ANALYSIS_NICE: '17', DFD_OFFPATH_NICE: '5' });
    expect(pipelineOptions(capped, analysisPriority(capped)).inference?.threadPriority).toMatchObject({ nice: 19 });
    const d = loadConfig({});
    expect(pipelineOptions(d, analysisPriority(d)).inference?.threadPriority).toMatchObject({ nice: 15 });
    const same = loadConfig({ DFD_OFFPATH_NICE: '0' });
    expect(pipelineOptions(same, analysisPriority(same)).inference?.threadPriority).toMatchObject({ nice: 10 });
    expect(() => loadConfig({ DFD_OFFPATH_NICE: '20' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('challengeServiceOptions (config -> every room\'s ChallengeManager)', () => {
  it('hands the high-risk spot-check settings to the manager and its policy; off by default', () => {
    const c = loadConfig({ DFD_CHALLENGE_HIGH_RISK: 'true', DFD_CHALLENGE_SPOTCHECK_P: '0.1', DFD_CHALLENGE_SPOTCHECK_MS: '30000' });
    expect(challengeServiceOptions(c, analysisPriority(c)).manager).toMatchObject({ highRisk: true, spotCheckEveryMs: 30_000, policy: { spotCheckProbability: 0.1 } });
    const d = loadConfig({});
    expect(challengeServiceOptions(d, analysisPriority(d)).manager).toMatchObject({ highRisk: false, spotCheckEveryMs: 60_000, policy: { spotCheckProbability: 0.02 } });
    expect(() => loadConfig({ DFD_CHALLENGE_SPOTCHECK_MS: '10' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    // the weak-evidence threshold goes to the challenge service itself
    expect(challengeServiceOptions(loadConfig({ DFD_CHALLENGE_LEAN_P: '0.57' }), analysisPriority(c)).leanPFake).toBe(0.57);
    // the default is the threshold lean_threshold.py chose on held-out calls (voice README)
    expect(challengeServiceOptions(d, analysisPriority(d)).leanPFake).toBe(0.55);
    expect(() => loadConfig({ DFD_CHALLENGE_LEAN_P: '1.5' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    // phone legs have their own, chosen by the same rule on phone-leg calls, mobile ones included (voice README)
    expect(challengeServiceOptions(loadConfig({ DFD_CHALLENGE_LEAN_P_TELEPHONE: '0.6' }), analysisPriority(c))).toMatchObject({ leanPFake: 0.55, leanPFakeTelephone: 0.6 });
    expect(challengeServiceOptions(d, analysisPriority(d)).leanPFakeTelephone).toBe(0.56);
    expect(() => loadConfig({ DFD_CHALLENGE_LEAN_P_TELEPHONE: '-0.1' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    // and G.722 legs theirs, by the same rule on calls through G.722 at their own weights (voice README)
    expect(challengeServiceOptions(d, analysisPriority(d)).leanPFakeG722).toBe(0.58);
    expect(challengeServiceOptions(loadConfig({ DFD_CHALLENGE_LEAN_P_G722: '0.6' }), analysisPriority(c))).toMatchObject({ leanPFake: 0.55, leanPFakeTelephone: 0.56, leanPFakeG722: 0.6 });
    expect(() => loadConfig({ DFD_CHALLENGE_LEAN_P_G722: '1.01' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    // and a gateway's Opus legs theirs, by the same rule on calls through Opus 24 judged as such a leg (voice README)
    expect(challengeServiceOptions(d, analysisPriority(d)).leanPFakeSipOpus).toBe(0.56);
    expect(challengeServiceOptions(loadConfig({ DFD_CHALLENGE_LEAN_P_SIP_OPUS: '0.6' }), analysisPriority(c))).toMatchObject({ leanPFake: 0.55, leanPFakeG722: 0.58, leanPFakeSipOpus: 0.6 });
    expect(() => loadConfig({ DFD_CHALLENGE_LEAN_P_SIP_OPUS: 'x' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});
