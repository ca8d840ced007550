/**
 * The life of one AudioHook session (one WebSocket), as a small explicit state machine:
 *
 *   awaiting-open --open (media usable)--> opening --leg ready, `opened` sent--> active
 *   active --paused--> paused --resumed--> active
 *   active | paused --close--> closing (`closed` sent; the client closes the socket)
 *   any state --fatal error / socket closed / shutdown--> ended
 *
 * The table says which client messages each state takes; anything else is ERR_INGEST_STATE.
 * Audio (binary frames) is taken in `active` only (and held, bounded, in `opening`).
 */
import { StreamState } from '../StreamState.js';
import type { ClientType } from './protocol.js';

export type AudioHookStateName = 'awaiting-open' | 'opening' | 'active' | 'paused' | 'closing' | 'ended';

const transitions: Record<AudioHookStateName, readonly AudioHookStateName[]> = {
  'awaiting-open': ['opening', 'ended'],
  opening: ['active', 'ended'],
  active: ['paused', 'closing', 'ended'],
  paused: ['active', 'closing', 'ended'],
  closing: ['ended'],
  ended: [],
};

const accepts: Record<AudioHookStateName, readonly ClientType[]> = {
  'awaiting-open': ['open', 'ping', 'error', 'close'],
  opening: ['ping', 'error', 'close', 'update', 'discarded'],
  active: ['ping', 'update', 'paused', 'resumed', 'discarded', 'error', 'close'],
  paused: ['ping', 'update', 'paused', 'resumed', 'discarded', 'error', 'close'],
  closing: ['ping', 'error'],
  ended: [],
};

export class AudioHookSessionState extends StreamState<AudioHookStateName, ClientType> {
  constructor() {
    super('awaiting-open', transitions, accepts);
  }

  /** Audio frames are analysed in `active`, held in `opening`, dropped (counted) when paused or closing. */
  get takesAudio(): boolean {
    return this.name === 'active' || this.name === 'opening';
  }
}
