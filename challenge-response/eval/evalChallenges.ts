/**
 * Compliance accuracy of every challenge on a labelled set made here, printed as JSON.
 *
 *   nice -n 10 node --import tsx challenge-response/eval/evalChallenges.ts [--speakers 24] [--seed 1] [--pose-noise 2.5] [--video-only]
 *
 * Audio: 24 espeak-ng speakers (see labelledSet.ts), each with its own normal speech as
 * the baseline, one compliant and one non-compliant response per speaker and challenge.
 * The path is the service's: the baseline is fed in `baselineChunkSec` chunks through
 * `analyseAudio` into a `BaselineTracker`, the challenge is made by the catalogue entry
 * (random phrase / words / melody), the response goes through `analyseAudio` and the
 * catalogue's checker, and the outcome is mapped as ChallengeManager maps it
 * (pass -> passed, fail -> non-compliant, unclear -> unclear). Detector spikes are not
 * part of this: it measures compliance only.
 *
 * Video: SYNTHETIC FaceObservation sequences (videoSet.ts), not video; `--pose-noise` sets the
 * per-frame pose error (sd, degrees) of the simulated tracker.
 *
 * Time to complete = spoken prompt (synthesised as the service does) + expected duration
 * + response slack + late-input grace + measured analysis time: request to outcome.
 */
import { catalogue, type AudioEntry, type VideoEntry } from '../catalogue.js';
import { defaultChallengeManagerOptions } from '../ChallengeManagerOptions.js';
import type { CheckOutcome } from '../checkers/types.js';
import { analyseAudio, defaultAnalyseOptions } from '../dsp/analyse.js';
import { percentile } from '../dsp/level.js';
import { synthesizePrompt, defaultPromptAudioOptions } from '../prompt/PromptAudio.js';
import { BaselineTracker } from '../SpeakerBaseline.js';
import { baselineSpeech, responses, seededRandom, speakers, SR } from './labelledSet.js';
import { concat } from '../testing/signals.js';
import { defaultTrackerNoise, videoSequences } from './videoSet.js';

interface Tally {
  compliant: { pass: number; fail: number; unclear: number };
  nonCompliant: { pass: number; fail: number; unclear: number };
  analysisMs: number[];
  expectedSec: number[];
  promptSec: number[];
  errors: { speaker?: string; recipe: string; labelled: 'compliant' | 'non-compliant'; result: string; reason: string; measurements: Record<string, number> }[];
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) ? v : fallback;
}

const median = (v: readonly number[]): number => percentile(v, 0.5);

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

function newTally(): Tally {
  return { compliant: { pass: 0, fail: 0, unclear: 0 }, nonCompliant: { pass: 0, fail: 0, unclear: 0 }, analysisMs: [], expectedSec: [], promptSec: [], errors: [] };
}

function record(t: Tally, compliant: boolean, res: CheckOutcome, recipe: string, speaker?: string): void {
  (compliant ? t.compliant : t.nonCompliant)[res.result]++;
  const right = compliant ? res.result === 'pass' : res.result === 'fail';
  if (!right) {
    const measurements = Object.fromEntries(Object.entries(res.measurements).map(([k, v]) => [k, round(v)]));
    t.errors.push({ ...(speaker ? { speaker } : {}), recipe, labelled: compliant ? 'compliant' : 'non-compliant', result: res.result, reason: res.reason, measurements });
  }
}

const { baselineChunkSec, responseSlackSec, lateInputGraceMs } = defaultChallengeManagerOptions;

function summary(t: Tally, synthetic: 'espeak-ng/sox audio' | 'synthetic FaceObservation sequences', extraSec: number) {
  const nC = t.compliant.pass + t.compliant.fail + t.compliant.unclear;
  const nN = t.nonCompliant.pass + t.nonCompliant.fail + t.nonCompliant.unclear;
  const correct = t.compliant.pass + t.nonCompliant.fail;
  const unclear = t.compliant.unclear + t.nonCompliant.unclear;
  const decided = nC + nN - unclear;
  const analysisSec = median(t.analysisMs) / 1000;
  return {
    data: synthetic,
    compliantN: nC,
    nonCompliantN: nN,
    /** (pass on compliant + fail on non-compliant) / all; unclear counts as not correct. */
    accuracy: round(correct / (nC + nN)),
    /** Same, over the decided (not unclear) responses only. */
    accuracyDecided: decided > 0 ? round(correct / decided) : Number.NaN,
    unclearRate: round(unclear / (nC + nN)),
    compliant: t.compliant,
    nonCompliant: t.nonCompliant,
    medianExpectedSec: round(median(t.expectedSec), 2),
    medianPromptSec: t.promptSec.length > 0 ? round(median(t.promptSec), 2) : undefined,
    medianAnalysisMs: round(median(t.analysisMs), 1),
    /** Request to outcome in the service: prompt + expected + slack + grace + analysis. */
    medianTimeToCompleteSec: round((t.promptSec.length > 0 ? median(t.promptSec) : 0) + median(t.expectedSec) + extraSec + analysisSec, 2),
    errors: t.errors.slice(0, 8),
    errorsTotal: t.errors.length,
  };
}

async function main(): Promise<void> {
  const nSpeakers = Math.max(1, Math.min(24, arg('speakers', 24)));
  const seed = arg('seed', 1);
  const poseSd = Math.max(0, arg('pose-noise', defaultTrackerNoise.poseSd));
  const videoOnly = process.argv.includes('--video-only');
  const extraSec = responseSlackSec + lateInputGraceMs / 1000;
  const spk = videoOnly ? [] : speakers().slice(0, nSpeakers);
  const t0 = performance.now();

  // Speaker baselines, fed exactly as ChallengeManager feeds them: fixed chunks, analysed, added.
  const baselines = spk.map((s) => {
    const tracker = new BaselineTracker();
    const speech = baselineSpeech(s);
    const chunk = baselineChunkSec * SR;
    for (let o = 0; o + chunk <= speech.length; o += chunk) tracker.add(analyseAudio(speech.subarray(o, o + chunk), { sampleRate: SR }).measurements);
    return tracker.current();
  });
  const notPersonal = baselines.filter((b) => !b.personal).length;

  const audio: Record<string, ReturnType<typeof summary>> = {};
  const pad = new Float32Array(Math.round(0.3 * SR));
  for (const entry of catalogue.filter((e): e is AudioEntry => e.modality === 'audio' && !videoOnly)) {
    const rng = seededRandom(seed * 1000 + entry.id.length * 17 + entry.id.charCodeAt(0));
    const t = newTally();
    for (const [i, s] of spk.entries()) {
      const spec = entry.make(rng);
      const baseline = baselines[i]!;
      t.expectedSec.push(spec.expectedDurationSec);
      const prompt = await synthesizePrompt(spec.spoken);
      t.promptSec.push(prompt.length / defaultPromptAudioOptions.sampleRate);
      const { compliant, nonCompliant } = responses(entry.id, spec, s, i, rng);
      for (const r of [compliant, nonCompliant]) {
        const clip = concat(pad, r.samples, pad);
        const a0 = performance.now();
        const analysis = analyseAudio(clip, { ...defaultAnalyseOptions, sampleRate: SR });
        const res = entry.check({ analysis, baseline, params: spec.params });
        t.analysisMs.push(performance.now() - a0);
        record(t, r.compliant, res, r.recipe, r.speaker);
      }
    }
    audio[entry.id] = summary(t, 'espeak-ng/sox audio', extraSec);
  }

  const video: Record<string, ReturnType<typeof summary>> = {};
  for (const entry of catalogue.filter((e): e is VideoEntry => e.modality === 'video')) {
    const rng = seededRandom(seed * 7919 + entry.id.length);
    const t = newTally();
    for (let i = 0; i < 24; i++) {
      const spec = entry.make(rng);
      t.expectedSec.push(spec.expectedDurationSec);
      const seconds = spec.expectedDurationSec + responseSlackSec;
      const { compliant, nonCompliant } = videoSequences(entry.id, spec.params.side ?? 'left', seconds, i, rng, { ...defaultTrackerNoise, poseSd });
      for (const r of [compliant, nonCompliant]) {
        const a0 = performance.now();
        const res = entry.check({ observations: r.observations, params: spec.params });
        t.analysisMs.push(performance.now() - a0);
        record(t, r.compliant, res, r.recipe);
      }
    }
    // Video prompts are spoken too, but no synthesis is timed here: prompt time left out.
    video[entry.id] = summary(t, 'synthetic FaceObservation sequences', extraSec);
  }

  const out = {
    command: `node --import tsx challenge-response/eval/evalChallenges.ts --speakers ${nSpeakers} --seed ${seed} --pose-noise ${poseSd}${videoOnly ? ' --video-only' : ''}`,
    synthetic: true,
    note: 'Audio: espeak-ng voices and sox transformations, not real people. Video: synthetic pose/visibility sequences, not video frames.',
    speakers: spk.length,
    poseNoiseSdDeg: poseSd,
    baselinesNotPersonal: notPersonal,
    timeToComplete: `prompt (espeak-ng, as the service synthesises it) + expected duration + ${responseSlackSec} s slack + ${lateInputGraceMs / 1000} s grace + analysis`,
    audio,
    video,
    wallSec: round((performance.now() - t0) / 1000, 1),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
