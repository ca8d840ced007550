/**
 * The audio checkers against simulated clone answers (testing/clones.ts), on real speech of the
 * two Debian speakers: what eval/cloneEval.ts measures over many rounds, asserted on a few cases
 * each way. A clone that normalises pitch fails the high-pitch challenge; one that restores the
 * target's timbre fails cupped hands; a TTS or a replay in the usual voice fails the whisper; and,
 * the honest limit, a perfect copy-synthesis of a compliant answer passes (only a passive detector
 * can catch it).
 */
import { describe, expect, it } from 'vitest';
import { catalogueEntry, type AudioEntry } from '../catalogue.js';
import { analyseAudio } from '../dsp/analyse.js';
import { seededRandom } from '../eval/labelledSet.js';
import { copySynthesis, replay, targetVoice, ttsAnswer, ttsText, voiceConvert } from '../testing/clones.js';
import { answeredParams, loadSpeaker, missingRealSpeech, padded, realBaseline, realResponses, realSpeakerSources, SR } from '../testing/realSpeech.js';
import type { CheckResult } from './types.js';

const missing = missingRealSpeech();
if (missing.length > 0) {
  console.warn(`checkers/clonesRealSpeech.test.ts SKIPPED: real recordings not installed (apt-get install ${missing.join(' ')}; scripts/bootstrap.sh --test installs them)`);
}

const speakers = missing.length > 0 ? [] : realSpeakerSources.map((source) => {
  const sp = loadSpeaker(source);
  const baseline = realBaseline(sp);
  return { sp, baseline, target: targetVoice(sp, baseline) };
});

function entry(id: string): AudioEntry {
  const e = catalogueEntry(id);
  if (e?.modality !== 'audio') throw new Error(`no audio challenge ${id}`);
  return e;
}

/** A compliant rendering (the first, or the first whose recipe has `recipe`) of the speaker's first response utterance, and a judge. */
function challenge(id: string, s: (typeof speakers)[number], recipe = '') {
  const e = entry(id);
  const spec = e.make(seededRandom(11));
  const u = s.sp.source.responses[0];
  if (!u) throw new Error('no response utterance');
  const params = answeredParams(spec, u);
  const answer = realResponses(id, spec, s.sp, u, 0).find((r) => r.compliant && r.recipe.includes(recipe));
  if (!answer) throw new Error(`no compliant rendering for ${id}`);
  const judge = (x: Float32Array): CheckResult => e.check({ analysis: analyseAudio(padded(x), { sampleRate: SR }), baseline: s.baseline, params }).result;
  return { spec, params, answer: answer.samples, judge };
}

describe.skipIf(missing.length > 0)('challenges against simulated clones, real speech', () => {
  for (const s of speakers) {
    describe(s.sp.source.id, () => {
      it('high-pitch: the genuine answer passes, the pitch-normalising conversion of it does not', () => {
        // +10 semitones: +5 can read as +0.5 on the male reader's low sentences (docs/challenges.md).
        const c = challenge('high-pitch', s, 'pitch 1000');
        expect(c.judge(c.answer)).toBe('pass');
        expect(c.judge(voiceConvert(c.answer, s.target))).not.toBe('pass');
      });
      it("cupped-mouth: the genuine answer passes, the conversion (the target's full-band timbre) fails", () => {
        const c = challenge('cupped-mouth', s);
        expect(c.judge(c.answer)).toBe('pass');
        expect(c.judge(voiceConvert(c.answer, s.target))).toBe('fail');
      });
      it('whisper-phrase: a TTS answer and a replay in the usual voice fail', () => {
        const c = challenge('whisper-phrase', s);
        expect(c.judge(c.answer)).toBe('pass');
        expect(c.judge(ttsAnswer('whisper-phrase', ttsText(c.spec, c.params.phrase), s.target))).toBe('fail');
        expect(c.judge(replay(s.target, c.answer.length / SR, 0))).toBe('fail');
      });
      it('speak-loudly: a copy-synthesis of the compliant answer passes too (the limit of compliance checks)', () => {
        const c = challenge('speak-loudly', s);
        expect(c.judge(c.answer)).toBe('pass');
        expect(c.judge(copySynthesis(c.answer))).toBe('pass');
      });
    });
  }
});
