/**
 * The life of one Twilio stream (one WebSocket), as a small explicit state machine:
 *
 *   awaiting-connected --connected--> awaiting-start --start (key ok)--> opening --leg ready--> streaming
 *   streaming --stop / socket closed--> stopped
 *   any state --fatal error / socket closed / shutdown--> stopped
 *
 * `opening` is the few milliseconds in which the call's room and the caller's producer are
 * created; media arriving then is held (bounded) and fed once streaming. The table says
 * which Twilio events each state takes; anything else is ERR_INGEST_STATE.
 */
import { DfdError } from '../../kernel/errors.js';
import type { InboundEvent } from './protocol.js';

export type TwilioCallStateName = 'awaiting-connected' | 'awaiting-start' | 'opening' | 'streaming' | 'stopped';

const transitions: Record<TwilioCallStateName, readonly TwilioCallStateName[]> = {
  'awaiting-connected': ['awaiting-start', 'stopped'],
  'awaiting-start': ['opening', 'stopped'],
  opening: ['streaming', 'stopped'],
  streaming: ['stopped'],
  stopped: [],
};

const accepts: Record<TwilioCallStateName, readonly InboundEvent[]> = {
  'awaiting-connected': ['connected'],
  'awaiting-start': ['start'],
  opening: ['media', 'mark', 'dtmf', 'stop'],
  streaming: ['media', 'mark', 'dtmf', 'stop'],
  stopped: [],
};

export class TwilioCallState {
  #state: TwilioCallStateName = 'awaiting-connected';

  get name(): TwilioCallStateName {
    return this.#state;
  }

  /** Whether an event from Twilio is allowed now. */
  accepts(event: InboundEvent): boolean {
    return accepts[this.#state].includes(event);
  }

  canMove(to: TwilioCallStateName): boolean {
    return transitions[this.#state].includes(to);
  }

  /** Moves to `to`; throws ERR_INGEST_STATE for a transition the table does not have. */
  move(to: TwilioCallStateName): void {
    if (!this.canMove(to)) throw new DfdError('ERR_INGEST_STATE', 'illegal stream state transition', { from: this.#state, to });
    this.#state = to;
  }
}
