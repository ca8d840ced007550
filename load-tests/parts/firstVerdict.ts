/**
 * Latency to first verdict with real participants: headless Chromium joins the meeting
 * page with a fake microphone (the speech WAV) and camera (the face Y4M); joins run one
 * after another, each in its own room. A second series (`voiceOnly`) joins with Chromium's
 * built-in fake camera (a test pattern, no face), so the verdict rests on the voice alone,
 * as on an audio-only contact-center call.
 *
 * Definition. Speech onset = the arrival time at the SFU tap (the `arrivalMs` MediaTap
 * reports) of the first RTP packet of the participant's audio whose decoded 20 ms frame
 * is above -40 dBFS RMS, i.e. the first packet carrying speech that the service could
 * analyse. First verdict = the wall-clock time the pipeline emitted the participant's
 * first verdict whose state is not `collecting`. Latency = first verdict - speech onset.
 */
import opus from '@discordjs/opus';
import type { Browser } from 'playwright-core';
import { parseRtpPacket } from '../../pipeline/rtp/RtpPacket.js';
import type { Service } from '../../src/Service.js';
import { launchBrowser } from '../../test/helpers/browser.js';
import { detectorsInUse, startBenchService, stopAll, type BenchServiceSettings } from '../harness.js';
import { loadAvg1, sleep, summarize, type Summary } from '../stats.js';

export interface FirstVerdictOptions {
  joins: number;
  timeoutSec: number;
  /** Also run the series without a face on camera (default true). */
  voiceOnly?: boolean;
}

export interface JoinResult {
  join: number;
  ok: boolean;
  /** Page navigation start to signalling `joined`. */
  joinMs: number;
  /** First tapped audio packet to the first speech packet. */
  silenceBeforeSpeechMs: number | null;
  speechToFirstWindowEndMs: number | null;
  speechToFirstScoreMs: number | null;
  speechToVerdictMs: number | null;
  verdict: string | null;
  error?: string;
}

export interface FirstVerdictSeries {
  joins: JoinResult[];
  speechToVerdictMs: Summary;
  speechToFirstScoreMs: Summary;
}

export interface FirstVerdictResult extends FirstVerdictSeries {
  definition: string;
  detectors: string[];
  /** The same joins with no face on camera: the verdict rests on the voice. */
  voiceOnly?: FirstVerdictSeries;
  minEvidenceNote: string;
  loadAvg1: number;
}

const SPEECH_DBFS = -40;

interface Track {
  firstPacket?: number;
  speechOnset?: number;
  firstWindowEnd?: number;
  firstScore?: number;
  verdictAt?: number;
  verdict?: string;
}

function rmsDbfs(pcm: Buffer): number {
  const n = pcm.length >> 1;
  let e = 0;
  for (let i = 0; i < n; i++) {
    const v = pcm.readInt16LE(i * 2) / 32768;
    e += v * v;
  }
  return 10 * Math.log10(e / Math.max(1, n) + 1e-12);
}

function instrument(service: Service, tracks: Map<string, Track>): void {
  const track = (peerId: string): Track => {
    let t = tracks.get(peerId);
    if (!t) tracks.set(peerId, (t = {}));
    return t;
  };
  service.rooms.on('tapopen', (tap) => {
    if (tap.info.kind !== 'audio') return;
    const dec = new opus.OpusEncoder(48000, tap.info.codec.channels ?? 2);
    const t = track(tap.info.peerId);
    const onRtp = (packet: Buffer, arrivalMs: number): void => {
      t.firstPacket ??= arrivalMs;
      try {
        if (rmsDbfs(dec.decode(Buffer.from(parseRtpPacket(packet).payload))) > SPEECH_DBFS) {
          t.speechOnset = arrivalMs;
          tap.off('rtp', onRtp);
        }
      } catch {
        /* undecodable packet: not speech */
      }
    };
    tap.on('rtp', onRtp);
  });
  const p = service.pipeline!;
  p.media.on('window', (w) => {
    if (w.type === 'audio-window') track(w.stream.peerId).firstWindowEnd ??= w.wallEnd;
  });
  p.on('score', (s) => {
    track(s.stream.peerId).firstScore ??= Date.now();
  });
  p.on('verdict', (v) => {
    const t = track(v.peerId);
    if (v.state !== 'collecting' && t.verdictAt === undefined) {
      t.verdictAt = Date.now();
      t.verdict = v.state;
    }
  });
}

async function runSeries(service: Service, tracks: Map<string, Track>, opts: FirstVerdictOptions, media: { wav: string; y4m?: string }, name: string, log: (m: string) => void): Promise<FirstVerdictSeries> {
  let browser: Browser | undefined;
  const joins: JoinResult[] = [];
  try {
    browser = await launchBrowser(media);
    const base = `http://127.0.0.1:${service.port}`;
    for (let j = 0; j < opts.joins; j++) {
      const page = await browser.newPage();
      const roomId = `fv-${name}-${j}`;
      const r: JoinResult = { join: j, ok: false, joinMs: 0, silenceBeforeSpeechMs: null, speechToFirstWindowEndMs: null, speechToFirstScoreMs: null, speechToVerdictMs: null, verdict: null };
      try {
        const t0 = Date.now();
        await page.goto(`${base}/meet?room=${roomId}&name=Bench${j}&autojoin=1`);
        await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: opts.timeoutSec * 1000 });
        r.joinMs = Date.now() - t0;
        const peerId = [...(service.rooms.get(roomId)?.peers.values() ?? [])].find((p) => p.displayName === `Bench${j}`)?.id;
        if (!peerId) throw new Error('peer not found in room');
        const deadline = t0 + opts.timeoutSec * 1000;
        while (Date.now() < deadline && tracks.get(peerId)?.verdictAt === undefined) await sleep(100);
        const t = tracks.get(peerId) ?? {};
        const since = (x: number | undefined): number | null => (x !== undefined && t.speechOnset !== undefined ? x - t.speechOnset : null);
        r.silenceBeforeSpeechMs = t.firstPacket !== undefined && t.speechOnset !== undefined ? t.speechOnset - t.firstPacket : null;
        r.speechToFirstWindowEndMs = since(t.firstWindowEnd);
        r.speechToFirstScoreMs = since(t.firstScore);
        r.speechToVerdictMs = since(t.verdictAt);
        r.verdict = t.verdict ?? null;
        r.ok = r.speechToVerdictMs !== null;
        if (!r.ok) r.error = t.speechOnset === undefined ? 'no speech packet seen' : 'no verdict before timeout';
      } catch (e) {
        r.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
      } finally {
        await page.close().catch(() => undefined);
      }
      joins.push(r);
      log(`first-verdict ${name} join ${j}: ${r.ok ? `${r.speechToVerdictMs} ms (${r.verdict})` : `failed: ${r.error}`}`);
      await sleep(500);
    }
  } finally {
    await browser?.close().catch(() => undefined);
  }
  const ok = joins.filter((j) => j.ok);
  return {
    joins,
    speechToVerdictMs: summarize(ok.map((j) => j.speechToVerdictMs!), 0),
    speechToFirstScoreMs: summarize(joins.filter((j) => j.speechToFirstScoreMs !== null).map((j) => j.speechToFirstScoreMs!), 0),
  };
}

export async function runFirstVerdict(opts: FirstVerdictOptions, settings: BenchServiceSettings, modelsDir: string, media: { wav: string; y4m: string }, log: (m: string) => void): Promise<FirstVerdictResult> {
  const service = await startBenchService(settings, modelsDir);
  const detectors = detectorsInUse(service);
  const tracks = new Map<string, Track>();
  instrument(service, tracks);
  let face: FirstVerdictSeries;
  let voiceOnly: FirstVerdictSeries | undefined;
  try {
    face = await runSeries(service, tracks, opts, media, 'face', log);
    if (opts.voiceOnly !== false) voiceOnly = await runSeries(service, tracks, opts, { wav: media.wav }, 'voice-only', log);
  } finally {
    await stopAll(undefined, service);
  }
  return {
    ...face,
    ...(voiceOnly ? { voiceOnly } : {}),
    definition:
      'speech onset = arrival at the SFU tap of the first audio RTP packet whose decoded frame is above -40 dBFS RMS; first verdict = first pipeline verdict whose state is not collecting; latency = verdict time - onset (same clock)',
    detectors,
    minEvidenceNote: 'the verdict machine leaves collecting once minEvidence (default 0.6 s) of input has been scored (pipeline/verdict/VerdictMachine.ts); the audio path scores an early first window of DFD_AUDIO_FIRST_WINDOW_SEC (1 s) as soon as 60 % of it is speech (pipeline/audio/SpeechWindower.ts), and until fullEvidence (4 s of weighted evidence) the verdict leans toward 0.5 (pipeline/verdict/ParticipantVerdict.ts)',
    loadAvg1: loadAvg1(),
  };
}
