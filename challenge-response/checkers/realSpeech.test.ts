/**
 * The audio challenge checkers on REAL recordings (Debian packages pocketsphinx-testdata and
 * asterisk-core-sounds-en-g722, installed by `scripts/bootstrap.sh --test`), both ways:
 * compliant renderings of a speaker's real utterance must pass, clearly wrong ones must fail,
 * and the speaker's usual voice (or a near miss) must never pass. The path is the service's:
 * baseline utterances -> analyseAudio in 4 s chunks -> BaselineTracker; the catalogue makes the
 * challenge; the response -> analyseAudio -> the catalogue's checker.
 *
 * Where real speech shows a checker's limit, the test asserts the honest outcome and says
 * why (see `limits`): a short sentence of the same person can differ from the baseline
 * sentences by up to 4 dB of level, 4 semitones of median f0 and 30-60 % of syllable rate,
 * which is as large as some of the thresholds. (The rate challenges therefore ask for two
 * readings of the phrase and time the second against the first, see checkers/rate.ts.)
 */
import { describe, expect, it } from 'vitest';
import { catalogueEntry, type AudioEntry } from '../catalogue.js';
import { analyseAudio } from '../dsp/analyse.js';
import { clippedFraction } from '../dsp/level.js';
import { seededRandom } from '../eval/labelledSet.js';
import type { SpeakerBaseline } from '../SpeakerBaseline.js';
import {
  answeredParams,
  loadSpeaker,
  missingRealSpeech,
  padded,
  realBaseline,
  realNonAnswer,
  realResponses,
  realSpeakerSources,
  realSpeechKinds,
  SR,
  type LoadedSpeaker,
  type RealResponse,
} from '../testing/realSpeech.js';
import type { CheckOutcome, CheckResult } from './types.js';

const missing = missingRealSpeech();
if (missing.length > 0) {
  console.warn(`checkers/realSpeech.test.ts SKIPPED: real recordings not installed (apt-get install ${missing.join(' ')}; scripts/bootstrap.sh --test installs them)`);
}

type Expectation = CheckResult | 'not-pass' | 'not-fail' | 'any';

/**
 * Outcomes that real speech does not support as designed, per challenge and recipe, with the
 * reason. Everything else: compliant -> pass, clearly wrong -> fail, usual voice -> not pass.
 */
const limits: Record<string, Record<string, { expect: Expectation; why: string }>> = {
  'speak-loudly': {
    'sox gain 8': { expect: 'not-fail', why: 'a short sentence can be up to 4 dB quieter than the baseline sentences, so +8 dB can read as +3.6 dB (pass at +4)' },
  },
  'high-pitch': {
    'sox pitch 500': { expect: 'any', why: "the LibriVox reader's short sentences sit up to 4 semitones below his baseline median f0; +5 semitones can read as +0.5" },
    'sox pitch 700': { expect: 'not-fail', why: 'same: +7 semitones reads as +2.4 for the lowest sentence (unclear band)' },
  },
  'read-quickly': {
    'one reading only (untouched utterance)': { expect: 'not-fail', why: 'no second reading to compare: the fallback against the usual rate may only pass (>= 1.6x) or stay unclear' },
  },
  'read-slowly': {
    'one reading only (untouched utterance)': { expect: 'not-fail', why: 'same: the fallback never fails' },
  },
  'sing-melody': {
    'untouched utterance (spoken, not sung)': { expect: 'not-pass', why: "a real sentence's intonation spans 6-9 semitones and can land in the unclear band (distance 1.7)" },
  },
};

function expectation(kind: string, r: RealResponse): { expect: Expectation; why: string } {
  const limit = limits[kind]?.[r.recipe];
  if (limit) return limit;
  if (r.compliant) return { expect: 'pass', why: 'compliant rendering' };
  return r.near ? { expect: 'not-pass', why: 'usual voice or near miss: fail or unclear' } : { expect: 'fail', why: 'clearly not what was asked' };
}

function assertOutcome(out: CheckOutcome, e: Expectation, label: string): void {
  const msg = `${label}: ${out.result} (${out.reason}) ${JSON.stringify(out.measurements)}`;
  if (e === 'any') expect(['pass', 'fail', 'unclear'], msg).toContain(out.result);
  else if (e === 'not-pass') expect(out.result, msg).not.toBe('pass');
  else if (e === 'not-fail') expect(out.result, msg).not.toBe('fail');
  else expect(out.result, msg).toBe(e);
}

describe('real speech availability', () => {
  it('names the Debian package whose recordings are missing', () => {
    const [first] = realSpeakerSources;
    if (!first) throw new Error('no real speakers defined');
    expect(missingRealSpeech([{ ...first, dir: '/nonexistent/real-speech' }])).toEqual([first.debianPackage]);
  });
});

describe.skipIf(missing.length > 0)('audio checkers on real speech (Debian recordings)', () => {
  const speakers: { sp: LoadedSpeaker; baseline: SpeakerBaseline }[] = missing.length > 0 ? [] : realSpeakerSources.map((source) => {
    const sp = loadSpeaker(source);
    return { sp, baseline: realBaseline(sp) };
  });
  const judge = (entry: AudioEntry, samples: Float32Array, params: Parameters<AudioEntry['check']>[0]['params'], baseline: SpeakerBaseline): CheckOutcome =>
    entry.check({ analysis: analyseAudio(padded(samples), { sampleRate: SR }), baseline, params });

  it('builds a personal baseline for every real speaker through the service path', () => {
    expect(speakers.length).toBeGreaterThanOrEqual(2);
    for (const { sp, baseline } of speakers) {
      expect(baseline.personal, sp.source.id).toBe(true);
      expect(baseline.speechSeconds, sp.source.id).toBeGreaterThan(6);
      expect(baseline.voicedFraction, sp.source.id).toBeGreaterThan(0.5);
    }
    // One male and one female reader: their usual f0 is an octave apart.
    const f0 = speakers.map((s) => s.baseline.f0MedianHz).sort((a, b) => a - b);
    expect((f0[1] ?? 0) / (f0[0] ?? 1)).toBeGreaterThan(1.5);
  });

  realSpeechKinds.forEach((kind, k) => {
    it(`${kind}: compliant renderings of real utterances pass, wrong ones fail, the usual voice never passes`, () => {
      const entry = catalogueEntry(kind) as AudioEntry;
      expect(entry.modality).toBe('audio');
      const rng = seededRandom(100 + k);
      for (const { sp, baseline } of speakers) {
        // One utterance per speaker and challenge, rotating over the speaker's utterances.
        const u = sp.source.responses[k % sp.source.responses.length]!;
        const spec = entry.make(rng);
        const params = answeredParams(spec, u);
        const responses = realResponses(kind, spec, sp, u, k);
        expect(responses.some((r) => r.compliant)).toBe(true);
        expect(responses.some((r) => !r.compliant)).toBe(true);
        for (const r of responses) {
          // Level renderings stay unclipped (only the limiter one may touch full scale).
          if (!r.recipe.includes('gain -l')) expect(clippedFraction(r.samples), r.recipe).toBe(0);
          const e = expectation(kind, r);
          assertOutcome(judge(entry, r.samples, params, baseline), e.expect, `${sp.source.id}/${r.utterance} ${r.compliant ? 'compliant' : 'non-compliant'} "${r.recipe}" (${e.why})`);
        }
      }
    });
  });

  it('high-pitch: the f0 measurement follows the sox shift; misses come from the baseline gap', () => {
    const entry = catalogueEntry('high-pitch') as AudioEntry;
    for (const { sp, baseline } of speakers) {
      const u = sp.source.responses[0]!;
      const spec = entry.make(seededRandom(7));
      const rs = realResponses('high-pitch', spec, sp, u);
      const rise = (recipe: string): number => {
        const r = rs.find((x) => x.recipe === recipe);
        if (!r) throw new Error(`no ${recipe}`);
        return judge(entry, r.samples, answeredParams(spec, u), baseline).measurements['riseSemitones'] ?? Number.NaN;
      };
      const usual = rise('untouched utterance');
      for (const cents of [500, 700, 1000]) {
        const shift = rise(`sox pitch ${cents}`) - usual;
        expect(shift, `${sp.source.id} ${cents} cents`).toBeGreaterThan(cents / 100 - 1.5);
        expect(shift, `${sp.source.id} ${cents} cents`).toBeLessThan(cents / 100 + 1.5);
      }
    }
  });

  it('read-quickly / read-slowly: the duration ratio of the two readings follows the sox tempo; one reading falls back and never fails', () => {
    for (const kind of ['read-quickly', 'read-slowly'] as const) {
      const entry = catalogueEntry(kind) as AudioEntry;
      for (const { sp, baseline } of speakers) {
        for (const [j, u] of sp.source.responses.entries()) {
          const spec = entry.make(seededRandom(8 + j));
          const params = answeredParams(spec, u);
          for (const r of realResponses(kind, spec, sp, u, j)) {
            const out = judge(entry, r.samples, params, baseline);
            const label = `${kind} ${sp.source.id}/${u.name} "${r.recipe}": ${out.reason} ${JSON.stringify(out.measurements)}`;
            const tempo = /sox tempo -s ([\d.]+)/.exec(r.recipe)?.[1];
            if (r.recipe.startsWith('one reading')) {
              expect(out.measurements['twoReadings'], label).toBe(0);
              expect(out.result, label).not.toBe('fail');
              continue;
            }
            // Two readings of the same text are always found, and timed to within 3 % of the tempo.
            expect(out.measurements['twoReadings'], label).toBe(1);
            const t = tempo === undefined ? 1 : Number(tempo);
            const asked = kind === 'read-quickly' ? t : 1 / t;
            expect(out.measurements['durationChange'], label).toBeGreaterThan(asked * 0.97);
            expect(out.measurements['durationChange'], label).toBeLessThan(asked * 1.03);
          }
        }
      }
    }
  });

  it('unusual-words: a real one-word non-answer is gated as too short (unclear), not failed', () => {
    const entry = catalogueEntry('unusual-words') as AudioEntry;
    let seen = 0;
    for (const { sp, baseline } of speakers) {
      const na = realNonAnswer(sp);
      if (!na) continue;
      seen++;
      const out = judge(entry, na.samples, entry.make(seededRandom(9)).params, baseline);
      // Known limit (docs/challenges.md): < 0.8 s of active speech is "response too short".
      expect(out).toMatchObject({ result: 'unclear', reason: 'response too short' });
    }
    expect(seen).toBeGreaterThan(0);
  });
});
