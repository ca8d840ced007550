/**
 * Soak: an analysing service with N steady speech streams (RTP ingest, looped speech from the
 * media agent) plus churn: every `churnEverySec` a phone call joins a room of its own (a real
 * PhoneLeg: PCMU producer, tap, pipeline participant, call record), talks for `churnLifeSec`
 * and hangs up (its room closes). Sampled every `sampleSec`: RSS and heap of the service
 * process, RSS of the mediasoup workers, open file descriptors, mediasoup objects as the
 * workers themselves report them (routers; transports, producers and consumers of every
 * room's router), rooms, and event-loop delay. Lines are fitted after the warm-up: a leak
 * shows as a positive slope.
 *
 *   npm run bench -- --only soak --soak-sec 1800        the 30-minute soak
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Service } from '../../src/Service.js';
import { PhoneLeg } from '../../ingest/PhoneLeg.js';
import { AgentClient } from '../AgentClient.js';
import { publishSpeechStreams, sfuPids, startBenchService, type BenchServiceSettings, stopAll } from '../harness.js';
import { linearFit, loadAvg1, procRssMb, sleep } from '../stats.js';

export interface SoakOptions {
  streams: number;
  durationSec: number;
  sampleSec: number;
  churnEverySec: number;
  churnLifeSec: number;
  warmupFraction: number;
}

export interface SoakSample {
  t: number;
  rssMb: number;
  heapMb: number;
  sfuRssMb: number;
  fds: number;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
  rooms: number;
  eventLoopP99Ms: number;
}

type Series = Exclude<keyof SoakSample, 't'>;
const SERIES: readonly Series[] = ['rssMb', 'heapMb', 'sfuRssMb', 'fds', 'routers', 'transports', 'producers', 'consumers', 'rooms', 'eventLoopP99Ms'];

export interface SoakResult {
  streams: number;
  durationSec: number;
  churn: { joined: number; left: number; failed: number; everySec: number; lifeSec: number };
  samples: SoakSample[];
  /** Per minute, fitted after the warm-up. */
  slopePerMin: Record<Series, number>;
  windowsScored: number;
  loadAvg1: number;
}

async function mediasoupObjects(service: Service): Promise<Pick<SoakSample, 'routers' | 'transports' | 'producers' | 'consumers'>> {
  let routers = 0;
  for (const s of service.pool.slots) if (!s.worker.closed) routers += ((await s.worker.dump()) as { routerIds: string[] }).routerIds.length;
  let transports = 0;
  let producers = 0;
  let consumers = 0;
  for (const room of service.rooms.list()) {
    if (room.closed) continue;
    try {
      const d = (await room.router.dump()) as { transportIds: string[]; mapProducerIdConsumerIds: Record<string, string[]>; mapConsumerIdProducerId: Record<string, string> };
      transports += d.transportIds.length;
      producers += Object.keys(d.mapProducerIdConsumerIds).length;
      consumers += Object.keys(d.mapConsumerIdProducerId).length;
    } catch {
      /* the room closed while it was dumped */
    }
  }
  return { routers, transports, producers, consumers };
}

/** 8 kHz mu-law speech (sox from the espeak fixture), for the churning phone calls. */
function muLawSpeech(speechWav: string): Buffer {
  return execFileSync('sox', [speechWav, '-r', '8000', '-c', '1', '-e', 'mu-law', '-b', '8', '-t', 'raw', '-'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function runSoak(opts: SoakOptions, settings: BenchServiceSettings, modelsDir: string, speechWav: string, log: (m: string) => void): Promise<SoakResult> {
  const speech = muLawSpeech(speechWav);
  const service = await startBenchService(settings, modelsDir);
  const agent = await AgentClient.start(speechWav);
  const samples: SoakSample[] = [];
  const churn = { joined: 0, left: 0, failed: 0, everySec: opts.churnEverySec, lifeSec: opts.churnLifeSec };
  let scored = 0;
  service.pipeline!.on('score', () => scored++);
  const live = new Set<{ leg: PhoneLeg; timer: NodeJS.Timeout }>();
  let n = 0;
  let stopping = false;
  const oneCall = async (): Promise<void> => {
    const i = n++;
    let leg: PhoneLeg;
    try {
      leg = await PhoneLeg.open(service.rooms, { roomId: `soak-call-${i}`, peerId: 'caller', displayName: `Soak ${i}`, jumpMs: 10 });
    } catch {
      churn.failed++;
      return;
    }
    churn.joined++;
    let chunk = 0;
    const frames = Math.floor(speech.length / 160);
    const timer = setInterval(() => {
      const off = (chunk % frames) * 160;
      chunk++;
      leg.push(speech.subarray(off, off + 160), chunk, chunk * 20);
    }, 20);
    const entry = { leg, timer };
    live.add(entry);
    setTimeout(() => {
      clearInterval(timer);
      leg.close();
      live.delete(entry);
      churn.left++;
    }, opts.churnLifeSec * 1000).unref();
  };
  try {
    await publishSpeechStreams(service, agent, opts.streams, { prefix: 'soak', firstIndex: 0, roomSize: 10 });
    const pids = sfuPids(service);
    const churnTimer = setInterval(() => {
      if (!stopping) void oneCall();
    }, opts.churnEverySec * 1000);
    const t0 = performance.now();
    let nextLog = 60;
    try {
      while ((performance.now() - t0) / 1000 < opts.durationSec) {
        const eld = monitorEventLoopDelay({ resolution: 10 });
        eld.enable();
        await sleep(opts.sampleSec * 1000);
        eld.disable();
        const m = process.memoryUsage();
        const t = (performance.now() - t0) / 1000;
        samples.push({
          t: +t.toFixed(1),
          rssMb: +(m.rss / 2 ** 20).toFixed(2),
          heapMb: +(m.heapUsed / 2 ** 20).toFixed(2),
          sfuRssMb: +pids.reduce((a, p) => a + procRssMb(p), 0).toFixed(2),
          fds: fs.readdirSync('/proc/self/fd').length,
          ...(await mediasoupObjects(service)),
          rooms: service.rooms.list().length,
          eventLoopP99Ms: +Math.max(0, eld.percentile(99) / 1e6 - 10).toFixed(2),
        });
        if (t >= nextLog) {
          const s = samples.at(-1)!;
          log(`soak t=${Math.round(t)}s rss=${s.rssMb} MB heap=${s.heapMb} MB fds=${s.fds} routers=${s.routers} transports=${s.transports} calls joined=${churn.joined}`);
          nextLog += 60;
        }
      }
    } finally {
      stopping = true;
      clearInterval(churnTimer);
      for (const e of live) {
        clearInterval(e.timer);
        e.leg.close();
      }
    }
  } finally {
    await stopAll(agent, service);
  }
  const after = samples.filter((s) => s.t >= opts.durationSec * opts.warmupFraction);
  const slope = (k: Series): number => (after.length >= 2 ? +(linearFit(after.map((s) => s.t / 60), after.map((s) => s[k])).slope).toFixed(4) : Number.NaN);
  return {
    streams: opts.streams,
    durationSec: opts.durationSec,
    churn,
    samples,
    slopePerMin: Object.fromEntries(SERIES.map((k) => [k, slope(k)])) as Record<Series, number>,
    windowsScored: scored,
    loadAvg1: loadAvg1(),
  };
}
