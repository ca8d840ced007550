import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { catalogue } from './catalogue.js';
import { Challenge, canTransition, isTerminal, type ChallengeState, type StateChange } from './Challenge.js';
import { cryptoRandom } from './random.js';

const spec = catalogue[0]!.make(cryptoRandom);
const make = (timeouts = {}) => new Challenge({ id: 'c1', peerId: 'p1', spec, trigger: 'operator', timeouts });

describe('Challenge state machine', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('walks the happy path transition by transition, emitting each change', () => {
    const c = make();
    const seen: StateChange[] = [];
    c.on('state', (s) => seen.push(s));
    expect(c.state).toBe('issued');
    c.transition('prompting');
    expect(c.state).toBe('prompting');
    c.transition('awaiting-response');
    expect(c.state).toBe('awaiting-response');
    c.transition('evaluating');
    expect(c.state).toBe('evaluating');
    c.transition('passed', 'louder than usual');
    expect(c.terminal).toBe(true);
    expect(seen.map((s) => `${s.from}>${s.to}`)).toEqual(['issued>prompting', 'prompting>awaiting-response', 'awaiting-response>evaluating', 'evaluating>passed']);
    expect(seen[3]!.reason).toBe('louder than usual');
  });

  it('allows each terminal outcome from evaluating and nothing after it', () => {
    for (const end of ['passed', 'failed', 'non-compliant', 'unclear', 'timed-out', 'cancelled'] as const) {
      const c = make();
      c.transition('prompting');
      c.transition('awaiting-response');
      c.transition('evaluating');
      c.transition(end);
      expect(isTerminal(c.state)).toBe(true);
      for (const next of ['issued', 'prompting', 'evaluating', 'passed', 'cancelled'] as const) {
        expect(() => c.transition(next)).toThrow(expect.objectContaining({ code: 'ERR_CHALLENGE_STATE' }));
      }
      expect(c.cancel()).toBe(false);
    }
  });

  it('rejects skipping states with a typed error', () => {
    const illegal: [ChallengeState, ChallengeState][] = [
      ['issued', 'awaiting-response'],
      ['issued', 'evaluating'],
      ['issued', 'passed'],
      ['prompting', 'evaluating'],
      ['prompting', 'passed'],
      ['awaiting-response', 'passed'],
      ['awaiting-response', 'prompting'],
      ['evaluating', 'awaiting-response'],
    ];
    for (const [from, to] of illegal) expect(canTransition(from, to)).toBe(false);
    const c = make();
    try {
      c.transition('evaluating');
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e, 'ERR_CHALLENGE_STATE')).toBe(true);
      expect((e as { details: unknown }).details).toMatchObject({ from: 'issued', to: 'evaluating' });
    }
    expect(c.state).toBe('issued');
  });

  it('times out of every non-terminal state at its deadline', () => {
    const timeouts = { issuedMs: 100, promptingMs: 200, awaitingResponseMs: 300, evaluatingMs: 400 };
    const path: ChallengeState[] = ['issued', 'prompting', 'awaiting-response', 'evaluating'];
    for (let stop = 0; stop < path.length; stop++) {
      const c = make(timeouts);
      for (let i = 1; i <= stop; i++) c.transition(path[i]!);
      const ms = [100, 200, 300, 400][stop]!;
      vi.advanceTimersByTime(ms - 1);
      expect(c.state).toBe(path[stop]);
      vi.advanceTimersByTime(1);
      expect(c.state).toBe('timed-out');
      expect(c.transitions.at(-1)).toMatchObject({ from: path[stop], to: 'timed-out', reason: 'deadline' });
    }
  });

  it('re-arms the deadline on each transition, so time spent earlier does not count', () => {
    const c = make({ issuedMs: 100, promptingMs: 100 });
    vi.advanceTimersByTime(90);
    c.transition('prompting');
    vi.advanceTimersByTime(90);
    expect(c.state).toBe('prompting');
    vi.advanceTimersByTime(10);
    expect(c.state).toBe('timed-out');
  });

  it('cancels from any active state, and a late deadline does nothing', () => {
    const c = make({ promptingMs: 50 });
    c.transition('prompting');
    expect(c.cancel('participant left')).toBe(true);
    expect(c.state).toBe('cancelled');
    vi.advanceTimersByTime(1000);
    expect(c.state).toBe('cancelled');
    expect(c.transitions.map((t) => t.to)).toEqual(['prompting', 'cancelled']);
  });

  it('survives a throwing listener', () => {
    const c = make();
    c.on('state', () => {
      throw new Error('bad listener');
    });
    expect(() => c.transition('prompting')).not.toThrow();
    expect(c.state).toBe('prompting');
  });
});
