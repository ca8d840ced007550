/**
 * One challenge's lifecycle, as an explicit state machine:
 *
 *   issued -> prompting -> awaiting-response -> evaluating -> passed | failed | non-compliant | unclear
 *
 * Any non-terminal state may also end in `timed-out` (its deadline passed) or `cancelled`
 * (participant left, call ended); `prompting` may end `unclear` (prompt could not be played).
 * Illegal transitions throw DfdError('ERR_CHALLENGE_STATE'). Every non-terminal state arms
 * a deadline on entry, so a challenge can never stay stuck.
 */
import { DfdError } from '../kernel/errors.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import type { ChallengeSpec } from './catalogue.js';

export type ActiveState = 'issued' | 'prompting' | 'awaiting-response' | 'evaluating';
export type OutcomeState = 'passed' | 'failed' | 'non-compliant' | 'unclear' | 'timed-out';
export type TerminalState = OutcomeState | 'cancelled';
export type ChallengeState = ActiveState | TerminalState;

export type ChallengeTrigger = 'suspicious' | 'weak-evidence' | 'spot-check' | 'operator';

const transitions: Record<ChallengeState, readonly ChallengeState[]> = {
  issued: ['prompting', 'timed-out', 'cancelled'],
  prompting: ['awaiting-response', 'unclear', 'timed-out', 'cancelled'],
  'awaiting-response': ['evaluating', 'timed-out', 'cancelled'],
  evaluating: ['passed', 'failed', 'non-compliant', 'unclear', 'timed-out', 'cancelled'],
  passed: [],
  failed: [],
  'non-compliant': [],
  unclear: [],
  'timed-out': [],
  cancelled: [],
};

export function isTerminal(s: ChallengeState): s is TerminalState {
  return transitions[s].length === 0;
}

export function canTransition(from: ChallengeState, to: ChallengeState): boolean {
  return transitions[from].includes(to);
}

export interface ChallengeTimeouts {
  /** Deadline per non-terminal state, ms. awaiting-response is usually set from the spec. */
  issuedMs: number;
  promptingMs: number;
  awaitingResponseMs: number;
  evaluatingMs: number;
}

export const defaultChallengeTimeouts: ChallengeTimeouts = {
  issuedMs: 5_000,
  promptingMs: 30_000,
  awaitingResponseMs: 20_000,
  evaluatingMs: 10_000,
};

export interface ChallengeOptions {
  id: string;
  peerId: string;
  spec: ChallengeSpec;
  trigger: ChallengeTrigger;
  timeouts?: Partial<ChallengeTimeouts>;
  now?: () => number;
}

export interface StateChange {
  challengeId: string;
  from: ChallengeState;
  to: ChallengeState;
  at: number;
  /** Why: 'deadline' for time-outs, else the caller's reason. */
  reason: string;
}

export interface ChallengeEvents {
  state: [StateChange];
}

export class Challenge extends TypedEmitter<ChallengeEvents> {
  readonly id: string;
  readonly peerId: string;
  readonly spec: ChallengeSpec;
  readonly trigger: ChallengeTrigger;
  readonly issuedAt: number;
  private readonly timeouts: ChallengeTimeouts;
  private readonly now: () => number;
  private current: ChallengeState = 'issued';
  private enteredAt: number;
  private deadline: NodeJS.Timeout | undefined;
  private readonly history: StateChange[] = [];

  constructor(o: ChallengeOptions) {
    super();
    this.id = o.id;
    this.peerId = o.peerId;
    this.spec = o.spec;
    this.trigger = o.trigger;
    this.timeouts = { ...defaultChallengeTimeouts, ...o.timeouts };
    this.now = o.now ?? ((): number => Date.now());
    this.issuedAt = this.now();
    this.enteredAt = this.issuedAt;
    this.arm();
  }

  get state(): ChallengeState {
    return this.current;
  }

  get terminal(): boolean {
    return isTerminal(this.current);
  }

  /** When the current state was entered, ms. */
  get stateSince(): number {
    return this.enteredAt;
  }

  get transitions(): readonly StateChange[] {
    return this.history;
  }

  /** Moves to `to`; throws DfdError('ERR_CHALLENGE_STATE') when the move is not allowed. */
  transition(to: ChallengeState, reason: string = to): StateChange {
    const from = this.current;
    if (!canTransition(from, to)) {
      throw new DfdError('ERR_CHALLENGE_STATE', `${from} -> ${to}`, { challengeId: this.id, from, to });
    }
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    this.current = to;
    this.enteredAt = this.now();
    const change: StateChange = { challengeId: this.id, from, to, at: this.enteredAt, reason };
    this.history.push(change);
    this.arm();
    this.safeEmit('state', change);
    if (isTerminal(to)) this.removeAllListeners();
    return change;
  }

  /** Cancels unless already terminal. Returns whether it did. */
  cancel(reason = 'cancelled'): boolean {
    if (this.terminal) return false;
    this.transition('cancelled', reason);
    return true;
  }

  private arm(): void {
    const ms = this.deadlineFor(this.current);
    if (ms === undefined) return;
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      if (!this.terminal) this.transition('timed-out', 'deadline');
    }, ms);
    this.deadline.unref?.();
  }

  private deadlineFor(s: ChallengeState): number | undefined {
    switch (s) {
      case 'issued':
        return this.timeouts.issuedMs;
      case 'prompting':
        return this.timeouts.promptingMs;
      case 'awaiting-response':
        return this.timeouts.awaitingResponseMs;
      case 'evaluating':
        return this.timeouts.evaluatingMs;
      default:
        return undefined;
    }
  }
}
