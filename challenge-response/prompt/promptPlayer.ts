/**
 * Glue for ChallengeManager's `playPrompt` option: synthesizes the challenge's spoken prompt
 * (and melody) and plays it through the participant's PromptInjector.
 */
import { DfdError } from '../../kernel/errors.js';
import type { ChallengeSpec } from '../catalogue.js';
import { synthesizePrompt, type PromptAudioOptions } from './PromptAudio.js';
import type { PromptInjector } from './PromptInjector.js';

export function promptPlayer(
  injectorFor: (peerId: string) => PromptInjector | Promise<PromptInjector>,
  audio: Partial<PromptAudioOptions> = {},
): (peerId: string, spec: ChallengeSpec) => Promise<void> {
  return async (peerId, spec) => {
    const [pcm, injector] = await Promise.all([synthesizePrompt(spec.spoken, audio), injectorFor(peerId)]);
    const ended = await injector.play(pcm);
    if (ended.reason !== 'completed') throw new DfdError('ERR_PROMPT_FAILED', 'prompt playback did not complete', { reason: ended.reason });
  };
}
