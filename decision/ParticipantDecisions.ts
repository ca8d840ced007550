/**
 * The decision layer: the one place where what is known about a participant becomes their
 * verdict's state, above the pipeline (detector evidence, voice continuity) and challenge-
 * response (challenge outcomes), with the operator's decisions included:
 *
 *   challenge passed                      -> verified until the outcome's verifiedUntil
 *   challenge failed / non-compliant      -> deepfake-likely (pinned for the machine's hold)
 *   operator dismisses a passed challenge -> verified withdrawn (the verdict is judged afresh)
 *   operator confirms a failed challenge  -> deepfake-likely pinned again ("operator-confirmed")
 *   a challenge issued .. its outcome     -> the voice-continuity check held (a whispered or sung
 *                                            answer is the same person speaking oddly on purpose)
 *
 * Challenges never touch verdicts themselves; this class listens to their `outcome` and
 * `decision` events and writes through ParticipantVerdict's public marks. A participant who
 * already left has no verdict: the input is counted and dropped.
 */
import { counter } from '../kernel/metrics.js';
import type { ParticipantVerdict } from '../pipeline/verdict/ParticipantVerdict.js';
import type { ChallengeEvent, ChallengeOutcome, OperatorDecision } from '../challenge-response/ChallengeOutcome.js';

/** What the decision layer reads verdicts from (the analysis pipeline). */
export interface VerdictSource {
  participant(roomId: string, peerId: string): ParticipantVerdict | undefined;
}

/** What it hears challenge outcomes and operator decisions from (the challenge service). */
export interface ChallengeEventsSource {
  on(event: 'challenge', listener: (roomId: string, event: ChallengeEvent) => void): unknown;
  off(event: 'challenge', listener: (roomId: string, event: ChallengeEvent) => void): unknown;
  on(event: 'outcome', listener: (roomId: string, outcome: ChallengeOutcome) => void): unknown;
  on(event: 'decision', listener: (roomId: string, decision: OperatorDecision) => void): unknown;
  off(event: 'outcome', listener: (roomId: string, outcome: ChallengeOutcome) => void): unknown;
  off(event: 'decision', listener: (roomId: string, decision: OperatorDecision) => void): unknown;
}

const applied = counter<'input' | 'result'>({
  name: 'dfd_decision_inputs_total',
  help: 'Challenge outcomes and operator decisions applied to verdicts, by input and result (applied, no-participant, no-change)',
  labelNames: ['input', 'result'],
});

export class ParticipantDecisions {
  readonly #verdicts: VerdictSource;
  readonly #challenges: ChallengeEventsSource;
  readonly #onOutcome = (roomId: string, o: ChallengeOutcome): void => this.applyOutcome(roomId, o);
  readonly #onDecision = (roomId: string, d: OperatorDecision): void => this.applyDecision(roomId, d);
  readonly #onChallenge = (roomId: string, e: ChallengeEvent): void => this.applyPhase(roomId, e);
  #closed = false;

  constructor(verdicts: VerdictSource, challenges: ChallengeEventsSource) {
    this.#verdicts = verdicts;
    this.#challenges = challenges;
    challenges.on('outcome', this.#onOutcome);
    challenges.on('decision', this.#onDecision);
    challenges.on('challenge', this.#onChallenge);
  }

  /** From `issued` to `outcome` or `cancelled` the participant's voice- and face-continuity checks are held. */
  applyPhase(roomId: string, e: ChallengeEvent): void {
    if (e.phase === 'response') return;
    this.#verdicts.participant(roomId, e.peerId)?.holdContinuity(e.phase === 'issued');
  }

  applyOutcome(roomId: string, o: ChallengeOutcome): void {
    const verdict = this.#verdicts.participant(roomId, o.peerId);
    if (!verdict) return void applied.inc({ input: 'outcome', result: 'no-participant' });
    if (o.outcome === 'passed' && o.verifiedUntil) verdict.markVerified(o.verifiedUntil);
    else if (o.outcome === 'failed' || o.outcome === 'non-compliant') verdict.markDeepfakeLikely(`challenge ${o.kind} ${o.outcome}`);
    else return void applied.inc({ input: 'outcome', result: 'no-change' });
    applied.inc({ input: 'outcome', result: 'applied' });
  }

  applyDecision(roomId: string, d: OperatorDecision): void {
    const verdict = this.#verdicts.participant(roomId, d.peerId);
    if (!verdict) return void applied.inc({ input: 'decision', result: 'no-participant' });
    if (d.decision === 'dismiss' && d.evidence === 'verified') verdict.revokeVerified('operator-dismissed');
    else if (d.decision === 'confirm' && d.evidence === 'deepfake-likely') verdict.markDeepfakeLikely('operator-confirmed');
    else return void applied.inc({ input: 'decision', result: 'no-change' });
    applied.inc({ input: 'decision', result: 'applied' });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#challenges.off('outcome', this.#onOutcome);
    this.#challenges.off('decision', this.#onDecision);
    this.#challenges.off('challenge', this.#onChallenge);
  }
}
