/**
 * The benchmark: measured capacity, latency to first verdict, and proof that analysis
 * does not slow the call. Writes `<out>/bench-<timestamp>.json`, `<out>/latest.json` and
 * a PNG chart (`bench-<timestamp>.png`, `latest.png`).
 *
 *   npm run bench                      full run (about 20 minutes; memory part is 10 min)
 *   npm run bench -- --smoke           every part at tiny size (CI)
 *   npm run bench -- --only capacity   one part (comma-separated list allowed)
 *   npm run bench -- --out dir         output folder (default bench-results/)
 *   npm run bench -- --models dir      models folder (default detectors/models): A/B a candidate model's cost
 *
 * Parts: stages, capacity, phone, remote (analysis workers over NATS: --remote-workers 1,2 --remote-windows 400), first-verdict, media-impact, video, memory, soak (not in the default run:
 * `--only soak --soak-sec 1800` is the 30-minute soak).
 * Service settings: --audio-workers, --inference-workers, --ort-threads, --placement media|threads
 * (defaults 0, 1, 1, media: the service's; --placement threads --audio-workers 1 is the placement
 * before 2026-12-03, every detector on the inference thread), --no-challenges, --sfu-nice=-5 (mediasoup worker priority), --sfu-sched normal|fifo|rr (mediasoup workers' scheduling policy: real time needs root), --cascade-every N (second voice stage, e.g. voice-whisper, on one speech window in N per stream; 0 = off; default: its manifest), --analysis-nice 10 and --analysis-sched normal|batch|idle (analysis threads' priority), --offpath-nice 5 (added for the threads off the score path: DFD_OFFPATH_NICE),
 * --analysis-cpus 1 --sfu-cpus 0 (CPU affinity of the analysis threads and the mediasoup workers),
 * media-impact: --background 50,100 (analysed background streams), --lockstep (send them in one burst per 20 ms
 * instead of spread like independent calls), --agent-nice=-10 and --agent-sched normal|fifo|rr (the probe agent's priority and policy); --ep cpu|webgpu (onnxruntime execution provider of the detectors: DFD_ORT_EP for the service parts, and the stage timings); capacity ramp: --steps 5,10,20 --hold 25.
 * Exit code 1 when any part failed (its error is in the JSON).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, repoRoot } from '../src/config.js';
import { ensureFixtures, fixtures } from '../test/fixtures/build.js';
import { chooseModels, defaultBenchServiceSettings, parseExecutionProvider, parseRealtimeOrNormal, parseSchedulingPolicy, type BenchServiceSettings } from './harness.js';
import { renderChart, type Panel } from './chart.js';
import { loadAvg1 } from './stats.js';
import { runStages, type StagesOptions, type StagesResult } from './parts/stages.js';
import { runCapacity, type CapacityOptions, type CapacityResult } from './parts/capacity.js';
import { runFirstVerdict, type FirstVerdictOptions, type FirstVerdictResult } from './parts/firstVerdict.js';
import { runMediaImpact, type MediaImpactOptions, type MediaImpactResult } from './parts/mediaImpact.js';
import { videoFromStages, type VideoResult } from './parts/video.js';
import { runMemory, type MemoryOptions, type MemoryResult } from './parts/memory.js';
import { runPhone, type PhoneOptions, type PhoneResult } from './parts/phone.js';
import { runRemote, type RemoteOptions, type RemoteResult } from './parts/remote.js';
import { runSoak, type SoakOptions, type SoakResult } from './parts/soak.js';
import { readCpuBudget } from '../kernel/cpuBudget.js';

const PARTS = ['stages', 'video', 'capacity', 'phone', 'remote', 'first-verdict', 'media-impact', 'memory', 'soak'] as const;
/** Parts run only when named in --only. */
const OPT_IN: readonly string[] = ['soak'];
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    'audio-workers': { type: 'string' },
    'inference-workers': { type: 'string' },
    placement: { type: 'string' },
    'ort-threads': { type: 'string' },
    steps: { type: 'string' },
    hold: { type: 'string' },
    'memory-sec': { type: 'string' },
    'soak-sec': { type: 'string' },
    joins: { type: 'string' },
    background: { type: 'string' },
    lockstep: { type: 'boolean', default: false },
    'agent-nice': { type: 'string' },
    chart: { type: 'boolean', default: true },
    challenges: { type: 'boolean', default: true },
    'sfu-nice': { type: 'string' },
    'sfu-sched': { type: 'string' },
    'cascade-every': { type: 'string' },
    models: { type: 'string' },
    'agent-sched': { type: 'string' },
    'analysis-nice': { type: 'string' },
    'offpath-nice': { type: 'string' },
    'analysis-sched': { type: 'string' },
    'analysis-cpus': { type: 'string' },
    'sfu-cpus': { type: 'string' },
    ep: { type: 'string' },
    'remote-workers': { type: 'string' },
    'remote-windows': { type: 'string' },
  },
  allowNegative: true,
});

/** `--analysis-cpus 1` / `--sfu-cpus 0`: parsed as the service parses DFD_ANALYSIS_CPUS (config.ts). */
function cpus(v: string | undefined): number[] {
  return v === undefined ? [] : loadConfig({ DFD_ANALYSIS_CPUS: v }).analysisCpus;
}

const smoke = values.smoke;
const only = values.only ? values.only.split(',').map((s) => s.trim()) : PARTS.filter((p) => !OPT_IN.includes(p));
for (const p of only) if (!(PARTS as readonly string[]).includes(p)) {
  process.stderr.write(`unknown part "${p}"; parts: ${PARTS.join(', ')}\n`);
  process.exit(2);
}
const want = (p: Part): boolean => only.includes(p);
const int = (v: string | undefined, d: number): number => (v === undefined ? d : Number.parseInt(v, 10));
function parsePlacement(v: string | undefined): BenchServiceSettings['inferencePlacement'] {
  if (v === undefined) return defaultBenchServiceSettings.inferencePlacement;
  if (v !== 'media' && v !== 'threads') {
    process.stderr.write(`--placement must be media or threads, not ${v}\n`);
    process.exit(2);
  }
  return v;
}

const settings: BenchServiceSettings = {
  ...defaultBenchServiceSettings,
  audioWorkers: int(values['audio-workers'], defaultBenchServiceSettings.audioWorkers),
  inferenceWorkers: int(values['inference-workers'], defaultBenchServiceSettings.inferenceWorkers),
  inferencePlacement: parsePlacement(values.placement),
  ortThreads: int(values['ort-threads'], defaultBenchServiceSettings.ortThreads),
  challenges: values.challenges,
  sfuNice: values['sfu-nice'] !== undefined ? Number(values['sfu-nice']) : defaultBenchServiceSettings.sfuNice,
  sfuSched: parseRealtimeOrNormal(values['sfu-sched'], 'sfu-sched', defaultBenchServiceSettings.sfuSched),
  analysisNice: values['analysis-nice'] !== undefined ? Number(values['analysis-nice']) : defaultBenchServiceSettings.analysisNice,
  offPathNice: values['offpath-nice'] !== undefined ? int(values['offpath-nice'], 0) : defaultBenchServiceSettings.offPathNice,
  analysisSched: parseSchedulingPolicy(values['analysis-sched']),
  analysisCpus: cpus(values['analysis-cpus']),
  sfuCpus: cpus(values['sfu-cpus']),
  executionProvider: parseExecutionProvider(values.ep),
  voiceCascadeEvery: values['cascade-every'] !== undefined ? int(values['cascade-every'], 0) : undefined,
};

const sizes: { stages: StagesOptions; capacity: CapacityOptions; phone: PhoneOptions; remote: RemoteOptions; firstVerdict: FirstVerdictOptions; mediaImpact: MediaImpactOptions; memory: MemoryOptions; soak: SoakOptions } = smoke
  ? {
      stages: { audioSeconds: 3, inferenceIterations: 3, videoSeconds: 2, faceIterations: 3, events: 200, modelIterations: 3, batches: [1, 4, 8], threads: [1] },
      capacity: { steps: [2, 4], warmSec: 3, holdSec: 3, roomSize: 10, stopAfterFailures: 99, latencyTargetMs: 500 },
      phone: { steps: [3], warmSec: 3, holdSec: 3, stopAfterFailures: 99, latencyTargetMs: 500 },
      remote: { workers: [1], windows: 10, inferenceThreads: 1 },
      firstVerdict: { joins: 1, timeoutSec: 40 },
      mediaImpact: { background: [2], blockSec: 2, rounds: 1, phases: 10, agentNice: 0 },
      memory: { streams: 20, durationSec: 20, sampleSec: 1, warmupFraction: 0.25 },
      soak: { streams: 4, durationSec: 20, sampleSec: 2, churnEverySec: 2, churnLifeSec: 5, warmupFraction: 0.25 },
    }
  : {
      stages: { audioSeconds: 60, inferenceIterations: 30, videoSeconds: 10, faceIterations: 50, events: 5000, modelIterations: 30, batches: [1, 4, 8], threads: [1, 2] },
      capacity: { steps: [5, 10, 20, 30, 40, 60, 80, 100, 120], warmSec: 5, holdSec: 25, roomSize: 10, stopAfterFailures: 2, latencyTargetMs: 500 },
      phone: { steps: [10, 20, 40, 60, 80, 100], warmSec: 5, holdSec: 20, stopAfterFailures: 2, latencyTargetMs: 500 },
      remote: { workers: [1, 2], windows: 400, inferenceThreads: 1 },
      firstVerdict: { joins: 20, timeoutSec: 40 },
      mediaImpact: { background: [50, 100], blockSec: 10, rounds: 3, phases: 10, agentNice: 0 },
      memory: { streams: 20, durationSec: 600, sampleSec: 5, warmupFraction: 0.2 },
      soak: { streams: 20, durationSec: 1800, sampleSec: 30, churnEverySec: 3, churnLifeSec: 9, warmupFraction: 0.2 },
    };
if (values.steps) sizes.capacity.steps = values.steps.split(',').map(Number);
if (values.hold) sizes.capacity.holdSec = Number(values.hold);
if (values['remote-workers']) sizes.remote.workers = values['remote-workers'].split(',').map(Number);
if (values['remote-windows']) sizes.remote.windows = Number(values['remote-windows']);
if (values['memory-sec']) sizes.memory.durationSec = Number(values['memory-sec']);
if (values['soak-sec']) sizes.soak.durationSec = Number(values['soak-sec']);
if (values.joins) sizes.firstVerdict.joins = Number(values.joins);
sizes.stages.executionProvider = settings.executionProvider;
if (values.lockstep) sizes.mediaImpact.phases = 1;
if (values['agent-nice'] !== undefined) sizes.mediaImpact.agentNice = Number(values['agent-nice']);
sizes.mediaImpact.agentSched = parseRealtimeOrNormal(values['agent-sched'], 'agent-sched');
if (values.background) sizes.mediaImpact.background = values.background.split(',').map(Number).sort((a, b) => a - b);

const log = (m: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadAvg1()}] ${m}\n`);
};

function host(): Record<string, unknown> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a git checkout */
  }
  return {
    nproc: os.availableParallelism(),
    // The CPUs the service may really use (affinity and any cgroup quota): per-core targets divide by these.
    cpuBudget: readCpuBudget(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    commit,
  };
}

interface Results {
  stages?: StagesResult;
  video?: VideoResult | { error: string };
  capacity?: CapacityResult;
  phone?: PhoneResult;
  remote?: RemoteResult;
  'first-verdict'?: FirstVerdictResult;
  'media-impact'?: MediaImpactResult;
  memory?: MemoryResult;
  soak?: SoakResult;
}

interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

/** CPUs the per-core targets divide by: the affinity count, or a cgroup quota below it (1.5 CPUs counts as 1.5). */
function budgetCpus(): number {
  const b = readCpuBudget();
  return Math.min(b.affinity, b.quota ?? Number.POSITIVE_INFINITY);
}

function targets(r: Results, nproc: number): TargetCheck[] {
  const out: TargetCheck[] = [];
  if (r.capacity) {
    const c = r.capacity;
    const perCore = c.maxStreamsOk / nproc;
    out.push({
      target: '>= 40 concurrent speech streams per core, voice model at 1 s hop, no drops (p95 window-to-score < 500 ms)',
      measured: `${c.maxStreamsOk} streams on ${nproc} cores without drops (${perCore.toFixed(1)}/core; ramp steps ${c.steps.map((s) => s.streams).join(',')}); marginal CPU ${c.marginalPctPerStream ?? '?'} % of a core per stream`,
      met: smoke ? null : perCore >= 40,
    });
  }
  if (r.phone) {
    const p = r.phone;
    out.push({
      target: 'phone calls (8 kHz: Twilio and AudioHook WebSockets, SIP with RTP) measured: no drops, p95 window-to-score < 500 ms',
      measured: `${p.maxCallsOk} concurrent calls on ${nproc} cores without drops (steps ${p.steps.map((s) => s.calls).join(',')}); marginal CPU ${p.marginalPctPerCall ?? '?'} % of a core per call (test clients included)`,
      met: null,
    });
  }
  if (r.remote) {
    const rr = r.remote;
    out.push({
      target: 'remote analysis: windows scored per second with 1 and 2 analysis workers (same machine: they share its cores)',
      measured: rr.steps.map((s) => `${s.workers} worker(s): ${s.windowsPerSec} windows/s, round trip p95 ${s.roundTripMs.p95} ms, ${s.dropped} dropped`).join('; ') + (rr.speedup !== null ? `; ratio ${rr.speedup}` : ''),
      met: null,
    });
  }
  if (r['first-verdict']) {
    const f = r['first-verdict'];
    const v = f.voiceOnly;
    const voice = v ? `; voice only (no face on camera): p50 ${v.speechToVerdictMs.p50} ms, p95 ${v.speechToVerdictMs.p95} ms over ${v.speechToVerdictMs.n} joins` : '';
    const ok = (s: { n: number; p95: number }): boolean => s.n > 0 && s.p95 < 1500;
    out.push({ target: 'first verdict p95 < 1.5 s after speech starts', measured: `face and voice: p50 ${f.speechToVerdictMs.p50} ms, p95 ${f.speechToVerdictMs.p95} ms over ${f.speechToVerdictMs.n} joins${voice}`, met: ok(f.speechToVerdictMs) && (!v || ok(v.speechToVerdictMs)) });
  }
  if (r['media-impact']) {
    const worst = r['media-impact'].conditions.reduce((a, b) => (b.deltaP99Ms > a.deltaP99Ms ? b : a), r['media-impact'].conditions[0]!);
    if (worst) out.push({ target: 'forwarding delay with analysis on within 2 ms p99 of off', measured: `worst p99 on - off = ${worst.deltaP99Ms} ms (background ${worst.background} streams; off ${worst.off.delayMs.p99} ms, on ${worst.on.delayMs.p99} ms)`, met: worst.deltaP99Ms <= 2 });
  }
  if (r.memory) {
    const m = r.memory;
    out.push({ target: 'no memory growth over 10 minutes (20 streams)', measured: `RSS ${m.slopeMbPerMin.rss} MB/min, heap ${m.slopeMbPerMin.heap} MB/min, SFU RSS ${m.slopeMbPerMin.sfuRss} MB/min over ${m.durationSec} s`, met: smoke ? null : m.slopeMbPerMin.rss < 1 && m.slopeMbPerMin.heap < 0.5 });
  }
  if (r.soak) {
    const k = r.soak;
    const objs = (['fds', 'routers', 'transports', 'producers', 'consumers'] as const).map((x) => `${x} ${k.slopePerMin[x]}/min`).join(', ');
    out.push({
      target: '30-minute soak (20 streams, calls joining and leaving every few seconds): RSS slope < 0.5 MB/min, no growth in file descriptors or mediasoup objects',
      measured: `${k.durationSec} s, ${k.churn.joined} calls joined and ${k.churn.left} left: RSS ${k.slopePerMin.rssMb} MB/min, heap ${k.slopePerMin.heapMb} MB/min, SFU RSS ${k.slopePerMin.sfuRssMb} MB/min; ${objs}`,
      met: smoke ? null : k.slopePerMin.rssMb < 0.5 && (['fds', 'routers', 'transports', 'producers', 'consumers'] as const).every((x) => k.slopePerMin[x] <= 0.05),
    });
  }
  return out;
}

function panels(r: Results): Panel[] {
  const ps: Panel[] = [];
  if (r.capacity?.steps.length) {
    const st = r.capacity.steps;
    ps.push({
      title: 'Capacity: speech streams vs latency and CPU',
      xLabel: 'concurrent speech streams',
      yLabel: 'window-to-score latency, ms',
      yRightLabel: 'CPU, cores',
      hlines: [{ y: 500, label: 'p95 target 500 ms', color: '#c00' }],
      series: [
        { label: 'p95 latency', color: '#1f77b4', points: st.map((s) => [s.streams, s.windowToScoreMs.p95]) },
        { label: 'p50 latency', color: '#6baed6', points: st.map((s) => [s.streams, s.windowToScoreMs.p50]) },
        { label: 'CPU cores (service + SFU)', color: '#ff7f0e', right: true, dashed: true, points: st.map((s) => [s.streams, s.cpu.totalCores]) },
      ],
    });
  }
  if (r.memory?.samples.length) {
    const s = r.memory.samples;
    ps.push({
      title: `Memory, ${r.memory.streams} streams`,
      xLabel: 'minutes',
      yLabel: 'MB',
      series: [
        { label: 'service RSS', color: '#2ca02c', points: s.map((x) => [x.t / 60, x.rssMb]) },
        { label: 'JS heap (main)', color: '#9467bd', points: s.map((x) => [x.t / 60, x.heapMb]) },
        { label: 'mediasoup worker RSS', color: '#8c564b', points: s.map((x) => [x.t / 60, x.sfuRssMb]) },
      ],
    });
  }
  if (r.soak?.samples.length) {
    const s = r.soak.samples;
    ps.push({
      title: `Soak, ${r.soak.streams} streams + calls joining and leaving`,
      xLabel: 'minutes',
      yLabel: 'MB',
      yRightLabel: 'count',
      series: [
        { label: 'service RSS', color: '#2ca02c', points: s.map((x) => [x.t / 60, x.rssMb]) },
        { label: 'JS heap (main)', color: '#9467bd', points: s.map((x) => [x.t / 60, x.heapMb]) },
        { label: 'open fds', color: '#8c564b', right: true, dashed: true, points: s.map((x) => [x.t / 60, x.fds]) },
        { label: 'mediasoup transports', color: '#ff7f0e', right: true, dashed: true, points: s.map((x) => [x.t / 60, x.transports]) },
      ],
    });
  }
  if (r['media-impact']?.conditions.length) {
    const c = r['media-impact'].conditions;
    ps.push({
      title: 'Forwarding delay, analysis off vs on',
      xLabel: 'background analysed streams',
      yLabel: 'delay, ms',
      series: [
        { label: 'p99 off', color: '#7f7f7f', points: c.map((x) => [x.background, x.off.delayMs.p99]) },
        { label: 'p99 on', color: '#d62728', points: c.map((x) => [x.background, x.on.delayMs.p99]) },
        { label: 'p50 off', color: '#bcbcbc', dashed: true, points: c.map((x) => [x.background, x.off.delayMs.p50]) },
        { label: 'p50 on', color: '#ff9896', dashed: true, points: c.map((x) => [x.background, x.on.delayMs.p50]) },
      ],
    });
  }
  if (r['first-verdict']?.joins.length) {
    const j = r['first-verdict'].joins.filter((x) => x.ok);
    ps.push({
      title: 'Speech onset to first verdict, per join',
      xLabel: 'join #',
      yLabel: 'ms',
      hlines: [{ y: 1500, label: 'target 1.5 s', color: '#c00' }],
      series: [
        { label: 'first verdict', color: '#1f77b4', points: j.map((x) => [x.join + 1, x.speechToVerdictMs!]) },
        ...(r['first-verdict'].voiceOnly
          ? [{ label: 'first verdict, voice only', color: '#ff7f0e', points: r['first-verdict'].voiceOnly.joins.filter((x) => x.ok).map((x): [number, number] => [x.join + 1, x.speechToVerdictMs!]) }]
          : []),
        { label: 'first score', color: '#aec7e8', points: j.filter((x) => x.speechToFirstScoreMs !== null).map((x) => [x.join + 1, x.speechToFirstScoreMs!]) },
      ],
    });
  }
  return ps;
}

async function main(): Promise<void> {
  const started = new Date();
  // The commit and host as the run starts (a long run may outlive the checkout's HEAD).
  const h = host();
  const outDir = path.resolve(values.out);
  fs.mkdirSync(outDir, { recursive: true });
  log(`start (${smoke ? 'smoke' : 'full'}; parts ${only.join(', ')})`);
  await ensureFixtures();
  const models = chooseModels(values.models !== undefined ? path.resolve(values.models) : undefined);
  const results: Results = {};
  const errors: Record<string, string> = {};
  const timings: Record<string, number> = {};
  const loadBefore = os.loadavg();
  const run = async <T>(part: Part, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!want(part)) return undefined;
    const t0 = performance.now();
    try {
      return await fn();
    } catch (e) {
      errors[part] = e instanceof Error ? `${e.message}` : String(e);
      log(`${part} FAILED: ${errors[part]}`);
      return undefined;
    } finally {
      timings[part] = Math.round((performance.now() - t0) / 1000);
    }
  };
  try {
    results.stages = await run('stages', () => runStages(sizes.stages, models.dir, models.source, log));
    if (results.stages) for (const [k, b] of Object.entries(results.stages.benches)) if (!b.ok) errors[`stages.${k}`] = b.error ?? 'failed';
    results.video = await run('video', async () => {
      // Reuse the stage numbers when the stages part ran; otherwise run just what video needs.
      const st = results.stages ?? (await runStages({ ...sizes.stages, benches: ['videoDecode', 'face'] }, models.dir, models.source, log));
      // As the service is configured: DFD_FACE_FORGERY_FRAMES of each DFD_FACE_WINDOW_FRAMES-frame window.
      const cfg = loadConfig();
      const v = videoFromStages(st.benches['videoDecode'], st.benches['face'], st.detectors, 5, { frames: cfg.faceForgeryFrames, window: cfg.faceWindowFrames });
      if ('error' in v) throw new Error(v.error);
      return v;
    });
    results.capacity = await run('capacity', () => runCapacity(sizes.capacity, settings, models.dir, fixtures.speechWav, log));
    results.phone = await run('phone', () => runPhone(sizes.phone, settings, models.dir, fixtures.speechWav, log));
    results.remote = await run('remote', () => runRemote(sizes.remote, models.dir, log));
    results['first-verdict'] = await run('first-verdict', () => runFirstVerdict(sizes.firstVerdict, settings, models.dir, { wav: fixtures.speechWav, y4m: fixtures.faceY4m }, log));
    results['media-impact'] = await run('media-impact', () => runMediaImpact(sizes.mediaImpact, settings, models.dir, fixtures.speechWav, log));
    results.memory = await run('memory', () => runMemory(sizes.memory, settings, models.dir, fixtures.speechWav, log));
    results.soak = await run('soak', () => runSoak(sizes.soak, settings, models.dir, fixtures.speechWav, log));
  } finally {
    models.cleanup();
  }
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const report = {
    bench: 'deepfake-defense',
    mode: smoke ? 'smoke' : 'full',
    parts: only,
    startedAt: started.toISOString(),
    durationSec: Math.round((Date.now() - started.getTime()) / 1000),
    partSeconds: timings,
    host: { ...h, loadAvgBefore: loadBefore.map((x) => +x.toFixed(2)), loadAvgAfter: os.loadavg().map((x) => +x.toFixed(2)) },
    settings,
    models: models.source,
    modelsDir: path.relative(repoRoot, models.dir) || '.',
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    targets: targets(results, budgetCpus()),
    results,
    errors,
    chart: undefined as string | undefined,
  };
  const base = path.join(outDir, `bench-${stamp}`);
  if (values.chart) {
    try {
      const ps = panels(results);
      if (ps.length) {
        const { png } = await renderChart(base, `deepfake-defense benchmark (${report.mode})`, `${h['cpuModel']} x${h['nproc']}, load ${report.host.loadAvgBefore[0]} at start, ${started.toISOString()}, commit ${h['commit']}`, ps);
        fs.copyFileSync(png, path.join(outDir, 'latest.png'));
        report.chart = path.relative(repoRoot, png);
      }
    } catch (e) {
      errors['chart'] = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    }
  }
  const json = JSON.stringify(report, null, 2) + '\n';
  fs.writeFileSync(`${base}.json`, json);
  fs.writeFileSync(path.join(outDir, 'latest.json'), json);
  log(`wrote ${path.relative(process.cwd(), base)}.json${report.chart ? ' and .png' : ''}`);
  process.stdout.write(JSON.stringify({ targets: report.targets, errors, json: `${base}.json` }, null, 2) + '\n');
  if (Object.keys(errors).length) process.exitCode = 1;
}

main().then(
  () => process.exit(),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
