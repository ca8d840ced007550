/**
 * Phone capacity: N concurrent phone calls, a third each over Twilio Media Streams, Genesys
 * AudioHook (WebSockets) and SIP (INVITE with digest, PCMU RTP over UDP to the service's own RTP
 * ports), each streaming 8 kHz mu-law speech in real time into an
 * in-process Service with analysis on, N ramped. Per step: windows produced, scored and
 * dropped, window-end-to-score latency, main-loop delay, CPU of the service process plus its
 * mediasoup workers. The test clients run inside the service process (they only frame and
 * send bytes), so the CPU figures include them: an upper bound of the service's own cost.
 */
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { WindowScore } from '../../pipeline/messages.js';
import type { DropEvent } from '../../pipeline/inference/InferenceBackend.js';
import { TwilioTestCaller } from '../../ingest/testing/TwilioTestCaller.js';
import { AudioHookTestClient } from '../../ingest/testing/AudioHookTestClient.js';
import { SipTestCaller } from '../../ingest/testing/SipTestCaller.js';
import { startBenchService, sfuCpuMs, stopAll, type BenchServiceSettings } from '../harness.js';
import { countBy, linearFit, processCpuMs, sleep, summarize, loadAvg1, type Summary } from '../stats.js';

const KEY = 'bench-phone-key-0123456789';
const ELD_RES_MS = 10;
const eldMs = (ns: number): number => +Math.max(0, ns / 1e6 - ELD_RES_MS).toFixed(2);

export interface PhoneOptions {
  steps: number[];
  warmSec: number;
  holdSec: number;
  latencyTargetMs: number;
  stopAfterFailures: number;
}

export interface PhoneStep {
  calls: number;
  twilio: number;
  audiohook: number;
  sip: number;
  holdSec: number;
  windowsProduced: number;
  windowsScored: number;
  windowsDropped: number;
  /** Dropped windows by detector and reason ("speaker-embed backlog"). */
  droppedBy: Record<string, number>;
  windowToScoreMs: Summary;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  cpu: { serviceCores: number; sfuCores: number; totalCores: number; perCallPctOfCore: number };
  loadAvg1: number;
  ok: boolean;
}

export interface PhoneResult {
  settings: BenchServiceSettings;
  steps: PhoneStep[];
  /** Largest N with zero dropped windows, every call scored, and p95 window-to-score below the target. */
  maxCallsOk: number;
  marginalPctPerCall: number | null;
  callsPerCoreEstimate: number | null;
}

type Client = { kind: 'twilio'; c: TwilioTestCaller } | { kind: 'audiohook'; c: AudioHookTestClient } | { kind: 'sip'; c: SipTestCaller };

/** 8 kHz mu-law speech from the espeak fixture (sox), as a phone network carries it. */
function muLawSpeech(speechWav: string): Buffer {
  return execFileSync('sox', [speechWav, '-r', '8000', '-c', '1', '-e', 'mu-law', '-b', '8', '-t', 'raw', '-'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function runPhone(opts: PhoneOptions, settings: BenchServiceSettings, modelsDir: string, speechWav: string, log: (m: string) => void): Promise<PhoneResult> {
  const speech = muLawSpeech(speechWav);
  const service = await startBenchService(settings, modelsDir, {
    overrides: { ingestKeys: [`bench=${KEY}`], ingestMaxStreams: 10_000, sipHost: '127.0.0.1', sipRtpMinPort: 36000, sipRtpMaxPort: 37999, sipMaxCalls: 10_000 },
  });
  const pipeline = service.pipeline!;
  const base = `ws://127.0.0.1:${service.port}`;
  const isPhone = (roomId: string): boolean => roomId.startsWith('twilio-') || roomId.startsWith('audiohook-') || roomId.startsWith('sip-');
  const scores: number[] = [];
  const drops: DropEvent[] = [];
  let produced = 0;
  pipeline.media.on('window', (w) => {
    if (w.type === 'audio-window' && isPhone(w.stream.roomId)) produced++;
  });
  pipeline.on('score', (s: WindowScore) => {
    if (isPhone(s.stream.roomId)) scores.push(Date.now() - s.wallEnd);
  });
  pipeline.inference.on('dropped', (d) => drops.push(d));
  const clients: Client[] = [];
  const steps: PhoneStep[] = [];
  let failures = 0;
  try {
    for (const n of opts.steps) {
      while (clients.length < n) {
        if (clients.length % 3 === 0) {
          const c = await TwilioTestCaller.connect(`${base}/v1/ingest/twilio?key=${KEY}`);
          c.sendConnectedAndStart({});
          c.startStreaming(speech);
          clients.push({ kind: 'twilio', c });
        } else if (clients.length % 3 === 2) {
          const c = await SipTestCaller.dial('127.0.0.1', service.sip!.port, { user: 'bench', password: KEY });
          c.startStreaming(speech);
          clients.push({ kind: 'sip', c });
        } else {
          const c = await AudioHookTestClient.connect(`${base}/v1/ingest/audiohook`, { apiKey: KEY });
          c.sendOpen();
          await c.next('opened');
          c.startStreaming(speech);
          clients.push({ kind: 'audiohook', c });
        }
      }
      await sleep(opts.warmSec * 1000);
      scores.length = 0;
      drops.length = 0;
      produced = 0;
      const eld = monitorEventLoopDelay({ resolution: ELD_RES_MS });
      eld.enable();
      const cpu0 = processCpuMs();
      const sfu0 = await sfuCpuMs(service);
      const t0 = performance.now();
      await sleep(opts.holdSec * 1000);
      const wallMs = performance.now() - t0;
      const cpu = processCpuMs() - cpu0;
      const sfu = (await sfuCpuMs(service)) - sfu0;
      eld.disable();
      const total = (cpu + sfu) / wallMs;
      const step: PhoneStep = {
        calls: n,
        twilio: clients.filter((c) => c.kind === 'twilio').length,
        audiohook: clients.filter((c) => c.kind === 'audiohook').length,
        sip: clients.filter((c) => c.kind === 'sip').length,
        holdSec: +(wallMs / 1000).toFixed(1),
        windowsProduced: produced,
        windowsScored: scores.length,
        windowsDropped: drops.length,
        droppedBy: countBy(drops.map((d) => `${d.detector} ${d.reason}`)),
        windowToScoreMs: summarize(scores),
        eventLoopDelayMs: { p50: eldMs(eld.percentile(50)), p99: eldMs(eld.percentile(99)), max: eldMs(eld.max) },
        cpu: { serviceCores: +(cpu / wallMs).toFixed(3), sfuCores: +(sfu / wallMs).toFixed(3), totalCores: +total.toFixed(3), perCallPctOfCore: +((total * 100) / n).toFixed(3) },
        loadAvg1: loadAvg1(),
        ok: false,
      };
      step.ok = step.windowsDropped === 0 && step.windowsScored > 0 && step.windowToScoreMs.p95 < opts.latencyTargetMs;
      steps.push(step);
      log(`phone n=${n} scored=${step.windowsScored} dropped=${step.windowsDropped}${step.windowsDropped ? ` (${Object.entries(step.droppedBy).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''} p95=${step.windowToScoreMs.p95}ms cpu=${step.cpu.totalCores} cores ok=${step.ok}`);
      failures = step.ok ? 0 : failures + 1;
      if (failures >= opts.stopAfterFailures) break;
    }
  } finally {
    for (const c of clients) void c.c.close();
    await stopAll(undefined, service);
  }
  const fit = steps.length >= 2 ? linearFit(steps.map((s) => s.calls), steps.map((s) => s.cpu.totalCores)) : undefined;
  const okSteps = steps.filter((s) => s.ok);
  return {
    settings,
    steps,
    maxCallsOk: okSteps.reduce((m, s) => Math.max(m, s.calls), 0),
    marginalPctPerCall: fit ? +(fit.slope * 100).toFixed(3) : null,
    callsPerCoreEstimate: fit && fit.slope > 0 ? Math.floor(1 / fit.slope) : null,
  };
}
