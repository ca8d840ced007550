/**
 * Where an operator's confirm or dismiss becomes a bus event (`decision`, events/schema.ts):
 * the other half of the domain-to-event mapping beside PipelineEventPublisher.ts. The event
 * names the verdict state the operator acted on; the envelope comes from the participant's open
 * call, which the application root looks up in its call registry (nothing here reads it).
 *
 *   REST POST .../decision -> publish(roomId, peerId, decision, operator, note) -> makeEvent('decision') -> bus
 *
 * What the decision does to the verdict is decision/ParticipantDecisions.ts (via the challenge
 * service's `decision` event); this file only reports it.
 */
import { DfdError } from '../kernel/errors.js';
import { makeEvent, type DecisionEvent, type DfdEvent } from '../events/schema.js';
import type { VerdictState } from '../pipeline/verdict/VerdictMachine.js';

export type OperatorDecision = 'confirm' | 'dismiss';

/** A participant of a call that is still open. */
export interface OpenCallParticipant {
  displayName: string;
  callId: string;
  /** The participant's verdict state now; undefined before its first verdict. */
  state: VerdictState | undefined;
  /** The call's tenant. */
  tenant?: string;
  /** The participant's call-level detector scores (api/CallRegistry.ts callScoresOf): the decision's label goes with them. */
  callScores?: NonNullable<DecisionEvent['payload']['callScores']>;
}

export interface OperatorDecisionPublisherDeps {
  publish(event: DfdEvent): void;
  /** The participant in its room's open call; undefined when there is no open call or the peer was never in it. */
  participant(roomId: string, peerId: string): OpenCallParticipant | undefined;
}

export class OperatorDecisionPublisher {
  readonly #deps: OperatorDecisionPublisherDeps;

  constructor(deps: OperatorDecisionPublisherDeps) {
    this.#deps = deps;
  }

  /** Publishes and returns the event; ERR_PEER_NOT_FOUND (nothing published) when the participant has no open call. */
  publish(roomId: string, peerId: string, decision: OperatorDecision, operator: string, note?: string): DfdEvent {
    const p = this.#deps.participant(roomId, peerId);
    if (!p) throw new DfdError('ERR_PEER_NOT_FOUND');
    const event = makeEvent(
      'decision',
      { roomId, peerId, displayName: p.displayName, callId: p.callId, ...(p.tenant ? { tenant: p.tenant } : {}), models: [] },
      { decision, tagState: p.state ?? 'collecting', operator, ...(note ? { note } : {}), ...(p.callScores?.length ? { callScores: p.callScores } : {}) },
    );
    this.#deps.publish(event);
    return event;
  }
}
