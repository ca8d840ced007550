/**
 * What a phone-ingest session (Twilio Media Streams, Genesys AudioHook) needs from the service
 * around it, and the per-server registry of calls streaming now: one stream per call.
 */
import type { RoomManager } from '../sfu/RoomManager.js';
import type { PromptSink } from '../challenge-response/prompt/PromptSink.js';
import type { PhoneRef } from '../events/schema.js';
import type { PhoneLeg } from './PhoneLeg.js';

export interface PhoneSessionDeps {
  rooms: RoomManager;
  /** Challenge-response, when running: prompts for the caller go through the leg's sink. */
  challenges(): { attachPhoneLeg(roomId: string, peerId: string, sink: PromptSink): () => void } | undefined;
  /** Reserves a room id for this stream (false: another stream has the call). */
  claim(roomId: string): boolean;
  release(roomId: string): void;
  /** The leg is in its room and producing: the service marks the call as a phone call, with its platform ids. */
  onLeg?(leg: PhoneLeg, phone: PhoneRef): void;
}

/** Room ids of the calls streaming now, claimed when a stream starts (before its room exists). */
export class CallClaims {
  readonly #calls = new Set<string>();

  claim(roomId: string): boolean {
    if (this.#calls.has(roomId)) return false;
    this.#calls.add(roomId);
    return true;
  }

  release(roomId: string): void {
    this.#calls.delete(roomId);
  }
}
