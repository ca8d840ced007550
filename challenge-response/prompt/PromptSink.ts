/**
 * Where a spoken prompt goes when the participant is not a WebRTC peer of the SFU: a phone
 * leg (ingest/, e.g. a Twilio bidirectional stream) plays it to the caller itself. The
 * challenge's response window opens when `play` resolves, so a sink resolves only once
 * the caller has heard the whole prompt (Twilio: the `mark` after the audio came back).
 */
import { DfdError } from '../../kernel/errors.js';
import type { ChallengeSpec } from '../catalogue.js';
import { synthesizePrompt, type PromptAudioOptions } from './PromptAudio.js';

export interface PromptSinkEnded {
  /** 'unconfirmed': all audio went out but the channel never confirmed it was played. */
  reason: 'completed' | 'stopped' | 'closed' | 'unconfirmed';
}

export interface PromptSink {
  /**
   * Who hears the prompt: the caller (played on the call; the default) or the agent, who
   * relays it to the caller (a platform that cannot play audio, e.g. Genesys AudioHook).
   */
  readonly audience?: 'caller' | 'agent';
  /**
   * Plays mono 48 kHz PCM (what synthesizePrompt makes; the sink converts to its channel).
   * Resolves when playback ended; one prompt at a time.
   */
  play(pcm48k: Int16Array): Promise<PromptSinkEnded>;
  /** Cuts the prompt playing now, if any (the challenge was cancelled or ended). */
  stop(): void;
}

/** ChallengeManager's `playPrompt` for a participant with a sink. */
export async function playOnSink(sink: PromptSink, spec: ChallengeSpec, audio: Partial<PromptAudioOptions> = {}): Promise<void> {
  const pcm = await synthesizePrompt(spec.spoken, { ...audio, sampleRate: 48000 });
  const ended = await sink.play(pcm);
  if (ended.reason !== 'completed') throw new DfdError('ERR_PROMPT_FAILED', 'prompt playback did not complete', { reason: ended.reason });
}
