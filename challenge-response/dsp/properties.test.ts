import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition, Challenge, type ChallengeState } from '../Challenge.js';
import { catalogue } from '../catalogue.js';
import { cryptoRandom } from '../random.js';
import { analyseAudio } from './analyse.js';

const states: ChallengeState[] = ['issued', 'prompting', 'awaiting-response', 'evaluating', 'passed', 'failed', 'non-compliant', 'unclear', 'timed-out', 'cancelled'];

describe('properties', () => {
  it('analyseAudio never throws on arbitrary sample values and keeps its measurements in range', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 6000 }), (arr) => {
        const m = analyseAudio(arr).measurements;
        expect(m.activeSec).toBeLessThanOrEqual(m.durationSec + 0.01);
        expect(m.voicedFraction).toBeGreaterThanOrEqual(0);
        expect(m.voicedFraction).toBeLessThanOrEqual(1);
        expect(m.clippedFraction).toBeLessThanOrEqual(1);
        expect(Number.isNaN(m.syllableRate)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
  it('a challenge only ever moves along allowed transitions; refused moves leave it unchanged', () => {
    const spec = catalogue[0]!.make(cryptoRandom);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...states), { maxLength: 12 }), (moves) => {
        const c = new Challenge({ id: 'x', peerId: 'p', spec, trigger: 'operator' });
        for (const to of moves) {
          const from = c.state;
          if (canTransition(from, to)) expect(c.transition(to).to).toBe(to);
          else {
            expect(() => c.transition(to)).toThrow(expect.objectContaining({ code: 'ERR_CHALLENGE_STATE' }));
            expect(c.state).toBe(from);
          }
        }
        c.cancel();
        expect(c.terminal).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
