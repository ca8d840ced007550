/**
 * What challenge-response reports about a challenge: the events along its lifecycle
 * (`ChallengeEvent`: issued, response, outcome, cancelled), the outcome with the evidence it
 * gives the verdict, and the operator's decision on it. `ChallengeManager` produces them;
 * `ChallengeService` publishes them on the bus and the decision layer
 * (decision/ParticipantDecisions.ts) turns them into verdict input.
 *
 * Outcome -> evidence for the verdict (`evidenceOf`):
 * - passed (checker pass, no detector spike)        -> 'verified'
 * - failed (a detector spiked during the response)  -> 'deepfake-likely'
 * - non-compliant (checker fail: asked, not done)   -> 'deepfake-likely'
 * - unclear / timed-out (no judgeable response)     -> 'inconclusive'
 */
import type { Modality } from './catalogue.js';
import type { ChallengeTrigger, OutcomeState } from './Challenge.js';
import type { LegFamily } from '../detectors/registry/Manifest.js';

export type Evidence = 'verified' | 'deepfake-likely' | 'inconclusive';

export interface ChallengeOutcome {
  callId: string;
  challengeId: string;
  peerId: string;
  kind: string;
  modality: Modality;
  trigger: ChallengeTrigger;
  outcome: OutcomeState;
  evidence: Evidence;
  /** Verification holds until then (passed only), ms. */
  verifiedUntil?: number;
  measurements: Record<string, number>;
  reason: string;
  /** Highest detector pFake during the response, NaN when none arrived. */
  detectorMaxPFake: number;
  at: number;
}

/**
 * What a weak-evidence challenge acted on: the participant's fused pFake when it was started, the
 * threshold that pFake reached, and the channel family whose threshold that is (a phone leg scored
 * with the telephone calibration has its own: DFD_CHALLENGE_LEAN_P_TELEPHONE; so has a G.722 leg:
 * DFD_CHALLENGE_LEAN_P_G722, and a gateway's Opus leg: DFD_CHALLENGE_LEAN_P_SIP_OPUS).
 */
export interface ChallengeBasis {
  pFake: number;
  threshold: number;
  /** Whose weak-evidence threshold a participant's audio takes (its latest audio score's leg family). */
  family: LegFamily;
}

export type ChallengeEvent =
  | { phase: 'issued'; callId: string; challengeId: string; peerId: string; kind: string; modality: Modality; trigger: ChallengeTrigger; promptText: string; expectedDurationSec: number; side?: 'left' | 'right'; basis?: ChallengeBasis; at: number }
  | { phase: 'response'; callId: string; challengeId: string; peerId: string; responseSec: number; observations: number; at: number }
  | ({ phase: 'outcome' } & ChallengeOutcome)
  | { phase: 'cancelled'; callId: string; challengeId: string; peerId: string; reason: string; at: number };

export interface OperatorDecision {
  callId: string;
  peerId: string;
  challengeId: string;
  decision: 'confirm' | 'dismiss';
  operator: string;
  /** The outcome's evidence the operator decided on. */
  evidence: Evidence;
  at: number;
}

/** The evidence an outcome gives the verdict. */
export function evidenceOf(outcome: OutcomeState): Evidence {
  return outcome === 'passed' ? 'verified' : outcome === 'failed' || outcome === 'non-compliant' ? 'deepfake-likely' : 'inconclusive';
}
