/**
 * Audio challenge checkers on REAL speech (recordings from Debian packages, see
 * testing/realSpeech.ts), printed as JSON.
 *
 *   nice -n 10 node --import tsx challenge-response/eval/realSpeechEval.ts [--seed 1] [--rounds 6] [--errors 12]
 *
 * Per real speaker: the baseline utterances go through `analyseAudio` in `baselineChunkSec`
 * chunks into a BaselineTracker; per audio challenge, `--rounds` challenges are made by the
 * catalogue entry with a seeded RNG (random phrase / words / tune); each round takes the
 * speaker's next response utterance and renders it compliant and non-compliant
 * (`realResponses`), each rendering goes through `analyseAudio` and the catalogue's checker.
 * Counts are per label and per recipe; `errors` lists responses not judged as labelled
 * (pass for compliant, fail for non-compliant) with their measurements. Short real non-answers
 * ("no", "goodbye") to the word challenge are reported on their own (`shortNonAnswers`).
 */
import { catalogue, type AudioEntry } from '../catalogue.js';
import type { CheckOutcome, CheckResult } from '../checkers/types.js';
import { analyseAudio } from '../dsp/analyse.js';
import { answeredParams, loadSpeaker, padded, realBaseline, realNonAnswer, realResponses, realSpeakerSources, realSpeechInstalled, realSpeechKinds, SR } from '../testing/realSpeech.js';
import { seededRandom } from './labelledSet.js';

type Counts = Record<CheckResult, number>;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) ? v : fallback;
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
const zero = (): Counts => ({ pass: 0, fail: 0, unclear: 0 });

interface Tally {
  compliant: Counts;
  nonCompliant: Counts;
  /** The part of nonCompliant that is the usual voice or a near miss (see RealResponse.near). */
  nonCompliantNear: Counts;
  byRecipe: Record<string, { label: string } & Counts>;
  errors: { speaker: string; utterance: string; recipe: string; labelled: string; result: CheckResult; reason: string; measurements: Record<string, number> }[];
}

function main(): void {
  if (!realSpeechInstalled()) return;
  const seed = arg('seed', 1);
  const rounds = Math.max(1, arg('rounds', 6));
  const maxErrors = Math.max(0, arg('errors', 12));
  const t0 = performance.now();
  const speakers = realSpeakerSources.map((source) => {
    const sp = loadSpeaker(source);
    return { sp, baseline: realBaseline(sp) };
  });
  const judge = (entry: AudioEntry, samples: Float32Array, params: Parameters<AudioEntry['check']>[0]['params'], baseline: (typeof speakers)[number]['baseline']): CheckOutcome =>
    entry.check({ analysis: analyseAudio(padded(samples), { sampleRate: SR }), baseline, params });

  const out: Record<string, ReturnType<typeof summary>> = {};
  const shortNonAnswers: { speaker: string; utterance: string; result: CheckResult; reason: string }[] = [];
  for (const entry of catalogue.filter((e): e is AudioEntry => e.modality === 'audio')) {
    if (!(realSpeechKinds as readonly string[]).includes(entry.id)) continue;
    const rng = seededRandom(seed * 1000 + entry.id.length * 17 + entry.id.charCodeAt(0));
    const t: Tally = { compliant: zero(), nonCompliant: zero(), nonCompliantNear: zero(), byRecipe: {}, errors: [] };
    for (const { sp, baseline } of speakers) {
      for (let r = 0; r < rounds; r++) {
        const spec = entry.make(rng);
        const u = sp.source.responses[r % sp.source.responses.length];
        if (!u) continue;
        for (const resp of realResponses(entry.id, spec, sp, u, r)) {
          const res = judge(entry, resp.samples, answeredParams(spec, u), baseline);
          (resp.compliant ? t.compliant : t.nonCompliant)[res.result]++;
          if (resp.near) t.nonCompliantNear[res.result]++;
          const label = resp.compliant ? 'compliant' : resp.near ? 'non-compliant (near)' : 'non-compliant';
          const key = `${label}: ${resp.recipe.replace(/register -?\d+|\d+ syllables for \d+ asked/g, (m) => (m.startsWith('register') ? 'register R' : 'n syllables for m asked'))}`;
          const rec = (t.byRecipe[key] ??= { label, ...zero() });
          rec[res.result]++;
          const right = resp.compliant ? res.result === 'pass' : res.result === 'fail';
          if (!right) {
            const measurements = Object.fromEntries(Object.entries(res.measurements).map(([k, v]) => [k, round(v)]));
            t.errors.push({ speaker: resp.speaker, utterance: resp.utterance, recipe: resp.recipe, labelled: label, result: res.result, reason: res.reason, measurements });
          }
        }
      }
      if (entry.id === 'unusual-words') {
        for (let i = 0; i < 2; i++) {
          const na = realNonAnswer(sp, i);
          if (!na) continue;
          const res = judge(entry, na.samples, entry.make(rng).params, baseline);
          shortNonAnswers.push({ speaker: na.speaker, utterance: na.utterance, result: res.result, reason: res.reason });
        }
      }
    }
    out[entry.id] = summary(t, maxErrors);
  }
  const result = {
    command: `node --import tsx challenge-response/eval/realSpeechEval.ts --seed ${seed} --rounds ${rounds}`,
    data: 'real recordings from Debian packages, rendered with sox and an LPC vocoder (see challenge-response/testing/realSpeech.ts)',
    speakers: speakers.map(({ sp, baseline }) => ({
      id: sp.source.id,
      debianPackage: sp.source.debianPackage,
      description: sp.source.description,
      baseline: Object.fromEntries(Object.entries(baseline).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])),
    })),
    roundsPerSpeaker: rounds,
    audio: out,
    shortNonAnswers,
    wallSec: round((performance.now() - t0) / 1000, 1),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

function summary(t: Tally, maxErrors: number) {
  const n = (c: Counts): number => c.pass + c.fail + c.unclear;
  const all = n(t.compliant) + n(t.nonCompliant);
  const correct = t.compliant.pass + t.nonCompliant.fail;
  const unclear = t.compliant.unclear + t.nonCompliant.unclear;
  return {
    compliant: t.compliant,
    nonCompliant: t.nonCompliant,
    nonCompliantNear: t.nonCompliantNear,
    /** (pass on compliant + fail on non-compliant) / all; unclear counts as not correct. */
    accuracy: round(correct / Math.max(1, all)),
    accuracyDecided: all - unclear > 0 ? round(correct / (all - unclear)) : Number.NaN,
    unclearRate: round(unclear / Math.max(1, all)),
    byRecipe: t.byRecipe,
    errors: t.errors.slice(0, maxErrors),
    errorsTotal: t.errors.length,
  };
}

main();
