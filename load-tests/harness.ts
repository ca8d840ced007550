/**
 * What the benchmark parts share: an in-process Service, the detector models it runs,
 * speech streams published through RTP ingest, and counters read from the pipeline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, repoRoot, type Config } from '../src/config.js';
import { Service, type ServiceOptions } from '../src/Service.js';
import { setLogLevel } from '../kernel/log.js';
import { sleep } from './stats.js';
import { registry } from '../kernel/metrics.js';
import { Peer } from '../sfu/Peer.js';
import { buildTestModels } from '../detectors/testing/testModels.js';
import type { RtpTarget } from './RtpLoadSender.js';
import type { AgentClient } from './AgentClient.js';
import { ExecutionProviders, type ExecutionProvider } from '../pipeline/inference/protocol.js';
import { SchedulingPolicies, type SchedulingPolicy } from '../kernel/threadPriority.js';

/** Settings the benchmark runs the service with (2-core defaults; see docs/performance.md). */
export interface BenchServiceSettings {
  audioWorkers: number;
  inferenceWorkers: number;
  /** DFD_INFERENCE_PLACEMENT: score detectors in the media workers, or every detector on the inference threads. */
  inferencePlacement: 'media' | 'threads';
  ortThreads: number;
  audioHopSec: number;
  audioWindowSec: number;
  mediasoupWorkers: number;
  /** Challenge-response on (the shipped default) or off. */
  challenges: boolean;
  /** Nice value of the mediasoup worker processes (DFD_SFU_NICE; negative needs root). */
  sfuNice: number;
  /** Scheduling policy of the mediasoup worker processes (DFD_SFU_SCHED: normal, or real-time fifo/rr; needs root). */
  sfuSched: 'normal' | 'fifo' | 'rr';
  /** Nice value of the analysis threads (DFD_ANALYSIS_NICE; 0 = same priority as forwarding). */
  analysisNice: number;
  /** Added to analysisNice for the threads off the score path (DFD_OFFPATH_NICE). */
  offPathNice: number;
  /** Scheduling policy of the analysis threads (DFD_ANALYSIS_SCHED). */
  analysisSched: SchedulingPolicy;
  /** CPUs of the analysis threads and of the mediasoup workers (DFD_ANALYSIS_CPUS, DFD_SFU_CPUS; empty: any). */
  analysisCpus: number[];
  sfuCpus: number[];
  /** onnxruntime execution provider of the detectors (DFD_ORT_EP). */
  executionProvider: ExecutionProvider;
  /** Second voice stage: undefined, its manifest's one window in N; 0, off; N (DFD_VOICE_CASCADE_EVERY). */
  voiceCascadeEvery: number | undefined;
}

export const defaultBenchServiceSettings: BenchServiceSettings = {
  // The service's defaults: one audio worker per core (DFD_AUDIO_WORKERS=0), score detectors in the media workers.
  audioWorkers: 0,
  inferenceWorkers: 1,
  inferencePlacement: 'media',
  ortThreads: 1,
  audioHopSec: 1,
  audioWindowSec: 2,
  mediasoupWorkers: 1,
  challenges: true,
  sfuNice: 0,
  sfuSched: 'fifo',
  analysisNice: 10,
  offPathNice: 5,
  analysisSched: 'normal',
  analysisCpus: [],
  sfuCpus: [],
  executionProvider: 'cpu',
  voiceCascadeEvery: undefined,
};

/** `--ep` of the bench: cpu (default) or webgpu; anything else exits with a usage error. */
export function parseExecutionProvider(v: string | undefined): ExecutionProvider {
  if (v === undefined) return defaultBenchServiceSettings.executionProvider;
  if (!(ExecutionProviders as readonly string[]).includes(v)) {
    process.stderr.write(`--ep must be one of ${ExecutionProviders.join(', ')}\n`);
    process.exit(2);
  }
  return v as ExecutionProvider;
}

/** `--analysis-sched` of the bench: normal (default), batch or idle. */
/** A --*-sched flag of a process: 'normal' (absent) or a real-time policy. */
export function parseRealtimeOrNormal(v: string | undefined, flag: string, absent: 'normal' | 'fifo' | 'rr' = 'normal'): 'normal' | 'fifo' | 'rr' {
  if (v === undefined) return absent;
  if (v === 'normal') return 'normal';
  if (v !== 'fifo' && v !== 'rr') {
    process.stderr.write(`--${flag} must be normal, fifo or rr\n`);
    process.exit(2);
  }
  return v;
}

export function parseSchedulingPolicy(v: string | undefined): SchedulingPolicy {
  if (v === undefined) return defaultBenchServiceSettings.analysisSched;
  if (!(SchedulingPolicies as readonly string[]).includes(v)) {
    process.stderr.write(`--analysis-sched must be one of ${SchedulingPolicies.join(', ')}\n`);
    process.exit(2);
  }
  return v as SchedulingPolicy;
}

export interface ModelsChoice {
  dir: string;
  /** Which folders are real trained/converted models and which are the small test graphs. */
  source: Record<string, 'repo' | 'test-graph'>;
  cleanup: () => void;
}

const REPO_MODELS = path.join(repoRoot, 'detectors', 'models');

function hasModel(modelsDir: string, id: string): boolean {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(modelsDir, id, 'manifest.json'), 'utf8')) as { file?: string };
    return typeof m.file === 'string' && fs.existsSync(path.join(modelsDir, id, m.file));
  } catch {
    return false;
  }
}

/**
 * The repository's models where they exist; where the voice or face detector has not landed
 * (yet), the small real ONNX test graph of `buildTestModels` stands in, and the report says so.
 */
export function chooseModels(modelsDir: string = REPO_MODELS): ModelsChoice {
  const voice = hasModel(modelsDir, 'voice-antispoof');
  const face = hasModel(modelsDir, 'face-forgery');
  if (voice && face) return { dir: modelsDir, source: { 'voice-antispoof': 'repo', 'face-forgery': 'repo' }, cleanup: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-bench-models-'));
  const built = buildTestModels(dir);
  const source: Record<string, 'repo' | 'test-graph'> = {};
  for (const id of fs.readdirSync(modelsDir)) if (hasModel(modelsDir, id)) fs.cpSync(path.join(modelsDir, id), path.join(dir, id), { recursive: true, filter: (f) => !f.endsWith('.ts') });
  if (voice) {
    fs.rmSync(built.voice.dir, { recursive: true, force: true });
    source['voice-antispoof'] = 'repo';
  } else source['test-voice'] = 'test-graph';
  if (face) {
    fs.rmSync(built.face.dir, { recursive: true, force: true });
    source['face-forgery'] = 'repo';
  } else source['test-face'] = 'test-graph';
  return { dir, source, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function startBenchService(
  settings: BenchServiceSettings,
  modelsDir: string,
  options: Partial<ServiceOptions> & { overrides?: Partial<Config> } = {},
): Promise<Service> {
  setLogLevel('warn');
  const config = loadConfig(
    {},
    {
      host: '127.0.0.1',
      port: 0,
      numWorkers: settings.mediasoupWorkers,
      tokenSecret: 'bench-secret',
      operatorPassword: 'bench-password',
      // Every bench client connects from 127.0.0.1: the per-client limits would measure themselves.
      authRatePerMin: 1_000_000,
      joinRatePerMin: 1_000_000,
      sipPort: 0,
      dataDir: '',
      modelsDir,
      audioWorkers: settings.audioWorkers,
      inferenceWorkers: settings.inferenceWorkers,
      inferencePlacement: settings.inferencePlacement,
      ortThreads: settings.ortThreads,
      audioHopSec: settings.audioHopSec,
      audioWindowSec: settings.audioWindowSec,
      challenges: settings.challenges,
      sfuNice: settings.sfuNice,
      sfuSched: settings.sfuSched,
      analysisNice: settings.analysisNice,
      offPathNice: settings.offPathNice,
      analysisSched: settings.analysisSched,
      analysisCpus: settings.analysisCpus,
      sfuCpus: settings.sfuCpus,
      ortExecutionProvider: settings.executionProvider,
      voiceCascadeEvery: settings.voiceCascadeEvery,
      maxPeersPerRoom: 64,
      logLevel: 'warn',
      ...options.overrides,
    },
  );
  const service = await Service.start(config, { events: options.events ?? false, analysis: options.analysis ?? true });
  return service;
}

/** Detectors the running pipeline actually uses, as id@version. */
export function detectorsInUse(service: Service): string[] {
  return service.pipeline?.inference.detectors().map((d) => `${d.id}@${d.version}`) ?? [];
}

let ssrcSeq = 0x1000;

/**
 * Adds `count` server-side peers, each with one Opus RTP ingest producer, in rooms of
 * `roomSize`, and makes the agent stream looped speech to them. Returns the targets.
 */
export async function publishSpeechStreams(service: Service, agent: AgentClient, count: number, opts: { prefix: string; firstIndex: number; roomSize: number; group?: string }): Promise<{ targets: RtpTarget[]; peers: { roomId: string; peerId: string }[] }> {
  const targets: RtpTarget[] = [];
  const peers: { roomId: string; peerId: string }[] = [];
  for (let i = opts.firstIndex; i < opts.firstIndex + count; i++) {
    const roomId = `${opts.prefix}-r${Math.floor(i / opts.roomSize)}`;
    const room = await service.rooms.getOrCreate(roomId);
    const peerId = `${opts.prefix}-p${i}`;
    const peer = new Peer({ id: peerId, displayName: `Load ${i}`, role: 'participant', notify: () => {} });
    room.join(peer);
    const ssrc = ssrcSeq++;
    const t = await room.createRtpIngest(peer, { kind: 'audio', ssrc, payloadType: 111 });
    targets.push({ ip: t.ip, port: t.port, ssrc, payloadType: 111 });
    peers.push({ roomId, peerId });
  }
  if (targets.length) await agent.add(targets, opts.group ?? 'load');
  return { targets, peers };
}

/** Sum of a prom-client counter/gauge over all label sets (0 if absent). */
export async function metricSum(name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const v = await m.get();
  return v.values.reduce((a, x) => a + x.value, 0);
}

/** CPU ms (user + system) of all mediasoup workers of the service. */
export async function sfuCpuMs(service: Service): Promise<number> {
  let ms = 0;
  for (const s of service.pool.slots) {
    if (s.worker.closed) continue;
    const u = await s.worker.getResourceUsage();
    ms += u.ru_utime + u.ru_stime;
  }
  return ms;
}

export function sfuPids(service: Service): number[] {
  return service.pool.slots.map((s) => s.worker.pid);
}

/**
 * Stops the media first and lets the media workers drain their backlog (no analysis
 * window for `quietMs`, at most `maxWaitMs`) before the services close: closing media
 * workers while they still decode has aborted the whole process (see docs/performance.md,
 * "Known issues").
 */
export async function stopAll(agent: AgentClient | undefined, ...services: (Service | undefined)[]): Promise<void> {
  await agent?.close();
  let last = Date.now();
  const touch = (): void => {
    last = Date.now();
  };
  for (const s of services) s?.pipeline?.media.on('window', touch);
  const start = Date.now();
  const quietMs = 3000;
  const maxWaitMs = 90_000;
  while (Date.now() - last < quietMs && Date.now() - start < maxWaitMs) await sleep(250);
  for (const s of services) s?.pipeline?.media.off('window', touch);
  await sleep(500);
  for (const s of services) await s?.close();
}
