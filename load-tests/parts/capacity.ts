/**
 * Capacity: N speech streams through RTP ingest into an in-process Service with analysis
 * on, N ramped; per step: windows produced/scored/dropped, window-end-to-score latency,
 * analysis lag, main-loop delay, CPU of the service process (worker threads included)
 * plus its mediasoup workers, per stream.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { WindowScore } from '../../pipeline/messages.js';
import type { DropEvent } from '../../pipeline/inference/InferenceBackend.js';
import { AgentClient } from '../AgentClient.js';
import { detectorsInUse, metricSum, publishSpeechStreams, sfuCpuMs, startBenchService, type BenchServiceSettings, stopAll } from '../harness.js';
import { countBy, linearFit, processCpuMs, sleep, summarize, loadAvg1, type Summary } from '../stats.js';
import { histogramTotals, metricByLabel } from '../../kernel/metrics.js';

/** The event-loop monitor samples every ELD_RES_MS; its readings include that period. */
const ELD_RES_MS = 10;
const eldMs = (ns: number): number => +Math.max(0, ns / 1e6 - ELD_RES_MS).toFixed(2);

export interface CapacityOptions {
  steps: number[];
  warmSec: number;
  holdSec: number;
  roomSize: number;
  /** Stop ramping after this many consecutive steps that miss the target. */
  stopAfterFailures: number;
  latencyTargetMs: number;
}

export interface CapacityStep {
  streams: number;
  holdSec: number;
  windowsProduced: number;
  /** First-stage scores (every window); a cascade stage's are in `stage`. */
  windowsScored: number;
  windowsDropped: number;
  dropReasons: Record<string, number>;
  /**
   * Speaker embeddings answered (task speaker-embed: vectors, not scores, so not in windowsScored)
   * and dropped (included in windowsDropped, as before).
   */
  embeddings: number;
  embeddingsDropped: number;
  /** Window end to its speaker embedding reaching the main thread. */
  windowToEmbeddingMs: Summary;
  /**
   * A cascade stage (manifest `cascade`, e.g. voice-whisper): its scores, the windows it yielded to a
   * backlog (dfd_cascade_windows_skipped_total{reason="backlog"}), the share of speech windows it scored,
   * and window-to-score latency (not in the step's ok: the stage thins itself under load by design).
   */
  stage: { scored: number; yielded: number; shareOfWindows: number; windowToScoreMs: Summary; inferenceMs: Summary };
  rtpDropped: number;
  /**
   * Inputs the challenge-response module dropped or repaired, by reason
   * (dfd_challenge_input_degraded_total; "overlap-trimmed" is expected once per overlapping window).
   */
  challengeDegraded: Record<string, number>;
  /**
   * Challenge-response's speaker baselines from the moment this step's streams joined to the end of
   * its hold: how many streams joined, how many baselines became personal (theirs, or an earlier
   * step's stream that was still waiting) and their mean wall time from first speech
   * (dfd_challenge_baseline_ready_seconds), and the mean wait of the analysis requests for the
   * analysis thread by kind (dfd_challenge_analysis_wait_seconds). With one step all streams join at once.
   */
  challengeBaseline: { joined: number; ready: number; meanReadySec: number | null; meanWaitSec: Record<string, number> };
  windowToScoreMs: Summary;
  queueMs: Summary;
  inferenceMs: Summary;
  /** Largest score time minus window end seen in the step (how far analysis trails). */
  maxLagMs: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  cpu: { serviceCores: number; sfuCores: number; totalCores: number; perStreamPctOfCore: number; senderCores: number };
  loadAvg1: number;
  ok: boolean;
}

export interface CapacityResult {
  settings: BenchServiceSettings;
  /**
   * The inference queue per detector (DFD_INFERENCE_QUEUE) when DFD_BENCH_INFERENCE_QUEUE set it
   * for this run; absent: the config default.
   */
  inferenceQueue?: number;
  detectors: string[];
  steps: CapacityStep[];
  /** Largest N with zero dropped windows and p95 window-to-score below the target. */
  maxStreamsOk: number;
  cpuPerStreamPctAtMax: number | null;
  /** Slope of total CPU over streams (all steps): the marginal cost of one more stream, % of a core. */
  marginalPctPerStream: number | null;
  /** Fixed cost of the analysing service with no streams (intercept), cores. */
  baseCores: number | null;
  /** 100 / marginal cost: streams one core could carry by CPU alone, base cost excluded. */
  streamsPerCoreEstimate: number | null;
}

/** CapacityStep.challengeBaseline: the histograms' change since the step's streams joined. */
async function baselineProgress(joined: number, ready0: { count: number; sum: number }, wait0: Record<string, { count: number; sum: number }>): Promise<CapacityStep['challengeBaseline']> {
  const ready1 = (await histogramTotals('dfd_challenge_baseline_ready_seconds'))[''] ?? { count: 0, sum: 0 };
  const ready = ready1.count - ready0.count;
  const meanWaitSec: Record<string, number> = {};
  for (const [kind, t] of Object.entries(await histogramTotals('dfd_challenge_analysis_wait_seconds', 'kind'))) {
    const n = t.count - (wait0[kind]?.count ?? 0);
    if (n > 0) meanWaitSec[kind] = +((t.sum - (wait0[kind]?.sum ?? 0)) / n).toFixed(3);
  }
  return { joined, ready, meanReadySec: ready > 0 ? +((ready1.sum - ready0.sum) / ready).toFixed(2) : null, meanWaitSec };
}

export async function runCapacity(opts: CapacityOptions, settings: BenchServiceSettings, modelsDir: string, speechWav: string, log: (m: string) => void): Promise<CapacityResult> {
  // DFD_BENCH_INFERENCE_QUEUE=N runs the service with DFD_INFERENCE_QUEUE=N (the bench ignores the environment otherwise).
  const q = Number(process.env['DFD_BENCH_INFERENCE_QUEUE'] ?? '');
  const inferenceQueue = Number.isInteger(q) && q > 0 ? q : undefined;
  if (inferenceQueue !== undefined) log(`capacity: inference queue ${inferenceQueue} per detector (DFD_BENCH_INFERENCE_QUEUE)`);
  const service = await startBenchService(settings, modelsDir, inferenceQueue !== undefined ? { overrides: { inferenceQueue } } : {});
  const agent = await AgentClient.start(speechWav);
  const pipeline = service.pipeline!;
  const detectors = detectorsInUse(service);
  const scores: { latencyMs: number; queueMs: number; inferenceMs: number }[] = [];
  const stageScores: { latencyMs: number; queueMs: number; inferenceMs: number }[] = [];
  const stages = new Set(service.pipeline!.registry.available().filter((m) => m.manifest.cascade).map((m) => m.id));
  const drops: DropEvent[] = [];
  const embeddingLatency: number[] = [];
  let produced = 0;
  pipeline.media.on('window', (w) => {
    if (w.type === 'audio-window') produced++;
  });
  pipeline.on('score', (s: WindowScore) => (stages.has(s.detector) ? stageScores : scores).push({ latencyMs: Date.now() - s.wallEnd, queueMs: s.queueMs, inferenceMs: s.inferenceMs }));
  pipeline.inference.on('dropped', (d) => drops.push(d));
  pipeline.inference.on('embedding', (e) => embeddingLatency.push(Date.now() - e.wallEnd));
  const steps: CapacityStep[] = [];
  let have = 0;
  let failures = 0;
  try {
    for (const n of opts.steps) {
      const ready0 = (await histogramTotals('dfd_challenge_baseline_ready_seconds'))[''] ?? { count: 0, sum: 0 };
      const wait0 = await histogramTotals('dfd_challenge_analysis_wait_seconds', 'kind');
      const joined = n - have;
      await publishSpeechStreams(service, agent, joined, { prefix: 'cap', firstIndex: have, roomSize: opts.roomSize });
      have = n;
      await sleep(opts.warmSec * 1000);
      scores.length = 0;
      stageScores.length = 0;
      drops.length = 0;
      embeddingLatency.length = 0;
      produced = 0;
      const rtp0 = await metricSum('dfd_pipeline_rtp_dropped_total');
      const ch0 = await metricByLabel('dfd_challenge_input_degraded_total', 'reason');
      const yielded0 = (await metricByLabel('dfd_cascade_windows_skipped_total', 'reason'))['backlog'] ?? 0;
      const eld = monitorEventLoopDelay({ resolution: ELD_RES_MS });
      eld.enable();
      const cpu0 = processCpuMs();
      const sfu0 = await sfuCpuMs(service);
      const ag0 = (await agent.stats()).cpuMs;
      const t0 = performance.now();
      await sleep(opts.holdSec * 1000);
      const wallMs = performance.now() - t0;
      const cpu = processCpuMs() - cpu0;
      const sfu = (await sfuCpuMs(service)) - sfu0;
      const ag = (await agent.stats()).cpuMs - ag0;
      eld.disable();
      const lat = scores.map((s) => s.latencyMs);
      const embedDrops = drops.filter((d) => d.task === 'speaker-embed').length;
      const total = (cpu + sfu) / wallMs;
      const step: CapacityStep = {
        streams: n,
        holdSec: +(wallMs / 1000).toFixed(1),
        windowsProduced: produced,
        windowsScored: scores.length,
        windowsDropped: drops.length,
        dropReasons: countBy(drops.map((d) => d.reason)),
        embeddings: embeddingLatency.length,
        embeddingsDropped: embedDrops,
        windowToEmbeddingMs: summarize(embeddingLatency),
        stage: {
          scored: stageScores.length,
          yielded: ((await metricByLabel('dfd_cascade_windows_skipped_total', 'reason'))['backlog'] ?? 0) - yielded0,
          shareOfWindows: produced > 0 ? +(stageScores.length / produced).toFixed(4) : 0,
          windowToScoreMs: summarize(stageScores.map((s) => s.latencyMs)), inferenceMs: summarize(stageScores.map((s) => s.inferenceMs), 2) },
        rtpDropped: (await metricSum('dfd_pipeline_rtp_dropped_total')) - rtp0,
        challengeDegraded: Object.fromEntries(Object.entries(await metricByLabel('dfd_challenge_input_degraded_total', 'reason')).map(([k, v]) => [k, v - (ch0[k] ?? 0)]).filter(([, v]) => (v as number) > 0)),
        challengeBaseline: await baselineProgress(joined, ready0, wait0),
        windowToScoreMs: summarize(lat),
        queueMs: summarize(scores.map((s) => s.queueMs)),
        inferenceMs: summarize(scores.map((s) => s.inferenceMs), 2),
        maxLagMs: lat.length ? Math.round(Math.max(...lat)) : 0,
        eventLoopDelayMs: { p50: eldMs(eld.percentile(50)), p99: eldMs(eld.percentile(99)), max: eldMs(eld.max) },
        cpu: { serviceCores: +(cpu / wallMs).toFixed(3), sfuCores: +(sfu / wallMs).toFixed(3), totalCores: +total.toFixed(3), perStreamPctOfCore: +((total * 100) / n).toFixed(3), senderCores: +(ag / wallMs).toFixed(3) },
        loadAvg1: loadAvg1(),
        ok: false,
      };
      step.ok = step.windowsDropped === 0 && step.rtpDropped === 0 && step.windowsScored > 0 && step.windowToScoreMs.p95 < opts.latencyTargetMs;
      steps.push(step);
      log(`capacity n=${n} scored=${step.windowsScored} dropped=${step.windowsDropped} p95=${step.windowToScoreMs.p95}ms embeddings=${step.embeddings} (dropped ${step.embeddingsDropped}, p95 ${step.windowToEmbeddingMs.p95}ms) stage=${step.stage.scored} (yielded ${step.stage.yielded}, p95 ${step.stage.windowToScoreMs.p95}ms) baselines=${step.challengeBaseline.ready}/${step.challengeBaseline.joined} (mean ${step.challengeBaseline.meanReadySec}s) cpu=${step.cpu.totalCores} cores load=${step.loadAvg1} ok=${step.ok}`);
      failures = step.ok ? 0 : failures + 1;
      if (failures >= opts.stopAfterFailures) break;
    }
  } finally {
    await stopAll(agent, service);
  }
  const fit = steps.length >= 2 ? linearFit(steps.map((s) => s.streams), steps.map((s) => s.cpu.totalCores)) : undefined;
  const okSteps = steps.filter((s) => s.ok);
  const best = okSteps.length ? okSteps.reduce((a, b) => (b.streams > a.streams ? b : a)) : undefined;
  return {
    settings,
    ...(inferenceQueue !== undefined ? { inferenceQueue } : {}),
    detectors,
    steps,
    maxStreamsOk: best?.streams ?? 0,
    cpuPerStreamPctAtMax: best?.cpu.perStreamPctOfCore ?? null,
    marginalPctPerStream: fit ? +(fit.slope * 100).toFixed(3) : null,
    baseCores: fit ? +fit.intercept.toFixed(3) : null,
    streamsPerCoreEstimate: fit && fit.slope > 0 ? Math.floor(1 / fit.slope) : null,
  };
}
