import { describe, expect, it } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { configTable, loadConfig, settings } from './config.js';

function configError(env: Record<string, string>): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (e) {
    return isDfdError(e) ? e.code : `not a DfdError: ${String(e)}`;
  }
}

describe('config', () => {
  it('parses every documented default', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.audioFirstWindowSec).toBe(1);
    expect(c.analysisNice).toBe(10);
    expect(c.sfuNice).toBe(0);
    expect(c).toMatchObject({ sfuSched: 'fifo', sfuRtPriority: 10 });
    expect(c.ortExecutionProvider).toBe('cpu');
    expect(configTable().split('\n')).toHaveLength(2 + Object.keys(settings).length);
  });

  it('reads the analysis priority, SFU priority, execution provider and first window from the environment', () => {
    const c = loadConfig({ DFD_ANALYSIS_NICE: '15', DFD_SFU_NICE: '-5', DFD_ORT_EP: 'webgpu', DFD_AUDIO_FIRST_WINDOW_SEC: '0' });
    expect(c).toMatchObject({ analysisNice: 15, sfuNice: -5, ortExecutionProvider: 'webgpu', audioFirstWindowSec: 0 });
  });

  it.each([
    ['DFD_ANALYSIS_NICE', '-1'],
    ['DFD_ANALYSIS_NICE', '20'],
    ['DFD_ANALYSIS_NICE', 'low'],
    ['DFD_SFU_NICE', '-21'],
    ['DFD_ORT_EP', 'cuda'],
    ['DFD_AUDIO_FIRST_WINDOW_SEC', '-0.5'],
  ])('%s=%s is ERR_CONFIG', (name, value) => {
    expect(configError({ [name]: value })).toBe('ERR_CONFIG');
  });

  it('reads CPU lists for the analysis threads and the mediasoup workers', () => {
    expect(loadConfig({}).analysisCpus).toEqual([]);
    expect(loadConfig({ DFD_ANALYSIS_CPUS: '0,2-3', DFD_SFU_CPUS: ' 1 ' })).toMatchObject({ analysisCpus: [0, 2, 3], sfuCpus: [1] });
    for (const bad of ['3-1', 'a', '1;2', '-1']) expect(configError({ DFD_ANALYSIS_CPUS: bad })).toBe('ERR_CONFIG');
  });

  it('reads the models kept on the CPU under a GPU provider (default the speaker model; "none": none)', () => {
    expect(loadConfig({}).ortCpuModels).toEqual(['speaker-embed']);
    expect(loadConfig({ DFD_ORT_CPU_MODELS: ' speaker-embed , voice-whisper ' }).ortCpuModels).toEqual(['speaker-embed', 'voice-whisper']);
    expect(loadConfig({ DFD_ORT_CPU_MODELS: 'none' }).ortCpuModels).toEqual([]);
    for (const bad of ['Speaker', 'a/b', '../x', 'x y']) expect(configError({ DFD_ORT_CPU_MODELS: bad })).toBe('ERR_CONFIG');
  });

  it('reads the inference batch sizes (8 each by default) and refuses sizes outside 1-256', () => {
    expect(loadConfig({})).toMatchObject({ inferenceAudioBatch: 8, inferenceFaceBatch: 8 });
    expect(loadConfig({ DFD_INFERENCE_AUDIO_BATCH: '32', DFD_INFERENCE_FACE_BATCH: '32' })).toMatchObject({ inferenceAudioBatch: 32, inferenceFaceBatch: 32 });
    for (const bad of ['0', '257', '8.5', 'x']) expect(configError({ DFD_INFERENCE_AUDIO_BATCH: bad })).toBe('ERR_CONFIG');
  });

  it('a first window longer than the analysis window is ERR_CONFIG', () => {
    expect(configError({ DFD_AUDIO_FIRST_WINDOW_SEC: '3', DFD_AUDIO_WINDOW_SEC: '2' })).toBe('ERR_CONFIG');
    expect(configError({ DFD_AUDIO_FIRST_WINDOW_SEC: '2', DFD_AUDIO_WINDOW_SEC: '2' })).toBeUndefined();
  });

  it('DFD_JETSTREAM_REPLICAS: 1 by default; above 1 needs NATS_URL (a cluster); 1..5', () => {
    expect(loadConfig({}).jetstreamReplicas).toBe(1);
    expect(loadConfig({ DFD_JETSTREAM_REPLICAS: '3', NATS_URL: 'nats://a:4222,nats://b:4222,nats://c:4222' })).toMatchObject({ jetstreamReplicas: 3, natsUrl: ['nats://a:4222', 'nats://b:4222', 'nats://c:4222'] });
    for (const bad of [{ DFD_JETSTREAM_REPLICAS: '3' }, { DFD_JETSTREAM_REPLICAS: '0', NATS_URL: 'nats://a:4222' }, { DFD_JETSTREAM_REPLICAS: '6', NATS_URL: 'nats://a:4222' }] as Record<string, string>[]) expect(configError(bad)).toBe('ERR_CONFIG');
  });

  it('DFD_ANALYSIS: local (default), remote, off; true/false read as local/off; remote needs NATS_URL', () => {
    expect(loadConfig({}).analysis).toBe('local');
    expect(loadConfig({ DFD_ANALYSIS: 'true' }).analysis).toBe('local');
    expect(loadConfig({ DFD_ANALYSIS: 'false' }).analysis).toBe('off');
    expect(loadConfig({ DFD_ANALYSIS: 'off' }).analysis).toBe('off');
    expect(loadConfig({ DFD_ANALYSIS: 'remote', NATS_URL: 'nats://10.0.0.5:4222' })).toMatchObject({ analysis: 'remote', natsUrl: ['nats://10.0.0.5:4222'], remoteTimeoutMs: 2000 });
    expect(configError({ DFD_ANALYSIS: 'remote' })).toBe('ERR_CONFIG');
    expect(configError({ DFD_ANALYSIS: 'elsewhere' })).toBe('ERR_CONFIG');
  });
});
