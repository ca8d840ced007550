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
import { StreamState } from '../StreamState.js';
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

export class TwilioCallState extends StreamState<TwilioCallStateName, InboundEvent> {
  constructor() {
    super('awaiting-connected', transitions, accepts);
  }
}
