/**
 * Challenges against simulated clones (issue 17): per audio challenge and clone pipeline, the
 * AUROC of genuine compliant answers against clone answers, judged by the service's checkers.
 *
 *   nice -n 10 node --import tsx challenge-response/eval/cloneEval.ts [--seed 1] [--rounds 6] [--write]
 *
 * Genuine compliant answers: real speech of two people from Debian packages, rendered into what
 * each challenge asks (`realResponses`, the same set as realSpeechEval.ts). Clones: the four
 * pipelines of `testing/clones.ts`, made from those answers (voice conversion, copy-synthesis),
 * from the phrase (TTS) or from the caller's earlier speech (replay). Every answer goes through
 * `analyseAudio` and the catalogue's checker against the speaker's baseline, as in a call.
 *
 * Score of an answer: the checker's decision, pass 1 > unclear 0.5 > fail 0 (what the service
 * acts on). AUROC = P(genuine scores above clone) + 0.5 P(tie): 1 means the challenge always
 * tells the clone from the person, 0.5 means it never does.
 *
 * `--write` stores the table and the policy weights in challenge-response/cloneDiscrimination.json
 * (ChallengePolicy picks audio challenges in proportion to them; challengeWeights.ts).
 */
import { writeFileSync } from 'node:fs';
import { auc } from '../../detectors/eval/metrics.js';
import { catalogue, type AudioEntry } from '../catalogue.js';
import { cloneWeight, type CloneDiscrimination } from '../challengeWeights.js';
import type { CheckResult } from '../checkers/types.js';
import { analyseAudio } from '../dsp/analyse.js';
import { clonePipelines, copySynthesis, replay, targetVoice, ttsAnswer, ttsText, voiceConvert, type ClonePipeline } from '../testing/clones.js';
import { answeredParams, loadSpeaker, padded, realBaseline, realResponses, realSpeakerSources, realSpeechInstalled, realSpeechKinds, SR } from '../testing/realSpeech.js';
import { seededRandom } from './labelledSet.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) ? v : fallback;
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
const SCORE: Record<CheckResult, number> = { pass: 1, unclear: 0.5, fail: 0 };
type Counts = Record<CheckResult, number>;
const zero = (): Counts => ({ pass: 0, fail: 0, unclear: 0 });

function main(): void {
  if (!realSpeechInstalled()) return;
  const seed = arg('seed', 1);
  const rounds = Math.max(1, arg('rounds', 6));
  const t0 = performance.now();
  const speakers = realSpeakerSources.map((source) => {
    const sp = loadSpeaker(source);
    const baseline = realBaseline(sp);
    return { sp, baseline, target: targetVoice(sp, baseline) };
  });

  const challenges: CloneDiscrimination['challenges'] = {};
  for (const entry of catalogue.filter((e): e is AudioEntry => e.modality === 'audio')) {
    if (!(realSpeechKinds as readonly string[]).includes(entry.id)) continue;
    // The same seeds as realSpeechEval.ts, so the genuine answers are the same set.
    const rng = seededRandom(seed * 1000 + entry.id.length * 17 + entry.id.charCodeAt(0));
    const genuine: number[] = [];
    const genuineCounts = zero();
    const clone = Object.fromEntries(clonePipelines.map((p) => [p, { scores: [] as number[], counts: zero() }])) as Record<ClonePipeline, { scores: number[]; counts: Counts }>;
    for (const { sp, baseline, target } of speakers) {
      for (let r = 0; r < rounds; r++) {
        const spec = entry.make(rng);
        const u = sp.source.responses[r % sp.source.responses.length];
        if (!u) continue;
        const params = answeredParams(spec, u);
        const judge = (samples: Float32Array): CheckResult => entry.check({ analysis: analyseAudio(padded(samples), { sampleRate: SR }), baseline, params }).result;
        const add = (p: ClonePipeline, samples: Float32Array): void => {
          const res = judge(samples);
          clone[p].scores.push(SCORE[res]);
          clone[p].counts[res]++;
        };
        const compliant = realResponses(entry.id, spec, sp, u, r).filter((x) => x.compliant);
        compliant.forEach((answer, i) => {
          const res = judge(answer.samples);
          genuine.push(SCORE[res]);
          genuineCounts[res]++;
          add('vc-pitch-normalised', voiceConvert(answer.samples, target, 1 + r * 7 + i));
          add('copy-synthesis', copySynthesis(answer.samples, 1 + r * 7 + i));
        });
        const longest = Math.max(...compliant.map((a) => a.samples.length)) / SR;
        add('tts-usual-voice', ttsAnswer(entry.id, ttsText(spec, params.phrase), target, 1 + r));
        add('replay', replay(target, longest, r + speakers.findIndex((s) => s.sp === sp) * rounds));
      }
    }
    const auroc = Object.fromEntries(clonePipelines.map((p) => [p, round(auc(clone[p].scores, genuine))])) as Record<ClonePipeline, number>;
    challenges[entry.id] = {
      weight: cloneWeight(Object.values(auroc)),
      auroc,
      genuine: genuineCounts,
      clones: Object.fromEntries(clonePipelines.map((p) => [p, clone[p].counts])) as Record<ClonePipeline, Counts>,
    };
  }
  const result: CloneDiscrimination = {
    command: `node --import tsx challenge-response/eval/cloneEval.ts --seed ${seed} --rounds ${rounds}`,
    data: 'genuine: real recordings of 2 people (Debian packages) rendered into compliant answers; clones: challenge-response/testing/clones.ts',
    score: 'checker decision: pass 1, unclear 0.5, fail 0',
    rule: 'weight = max(0.1, mean over pipelines of max(0, 2 AUROC - 1))',
    challenges,
  };
  process.stdout.write(`${JSON.stringify({ ...result, wallSec: round((performance.now() - t0) / 1000, 1) }, null, 2)}\n`);
  if (process.argv.includes('--write')) {
    const path = new URL('../cloneDiscrimination.json', import.meta.url);
    writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`written ${path.pathname}\n`);
  }
}

main();
