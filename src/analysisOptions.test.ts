import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { analysisPriority, pipelineOptions } from './analysisOptions.js';

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
