/**
 * Agent-assisted challenges: where the platform cannot play audio to the caller (Genesys
 * AudioHook, or an operator's choice), the prompt goes to the agent instead. The challenge
 * event says so (`deliveredTo: "agent"`), the dashboard shows "Ask the caller to: ...", and
 * the checker judges the caller's answer from the call's audio as usual.
 *
 * `play` does not play anything: it waits for as long as speaking the prompt takes (the
 * synthesized prompt's own duration) plus `relayMs` for the agent to start, and then the
 * response window opens. stop() and close() end the wait.
 */
import type { PromptSink, PromptSinkEnded } from './PromptSink.js';

export interface AgentPromptSinkOptions {
  /** Time for the agent to see the prompt and start relaying it, ms. */
  relayMs: number;
  /** Sample rate of the PCM that `play` receives. */
  sampleRate: number;
}

export const defaultAgentPromptSinkOptions: AgentPromptSinkOptions = {
  relayMs: 3000,
  sampleRate: 48000,
};

export class AgentPromptSink implements PromptSink {
  readonly audience = 'agent' as const;
  readonly options: AgentPromptSinkOptions;
  #pending: { timer: NodeJS.Timeout; done: (e: PromptSinkEnded) => void } | undefined;
  #closed = false;

  constructor(options: Partial<AgentPromptSinkOptions> = {}) {
    this.options = { ...defaultAgentPromptSinkOptions, ...options };
  }

  play(pcm: Int16Array): Promise<PromptSinkEnded> {
    if (this.#closed) return Promise.resolve({ reason: 'closed' });
    this.stop();
    const ms = Math.round((pcm.length / this.options.sampleRate) * 1000) + this.options.relayMs;
    return new Promise((resolve) => {
      const done = (e: PromptSinkEnded): void => {
        if (!this.#pending || this.#pending.done !== done) return;
        clearTimeout(this.#pending.timer);
        this.#pending = undefined;
        resolve(e);
      };
      const timer = setTimeout(() => done({ reason: 'completed' }), ms);
      timer.unref();
      this.#pending = { timer, done };
    });
  }

  stop(): void {
    this.#pending?.done({ reason: 'stopped' });
  }

  close(): void {
    this.#closed = true;
    this.#pending?.done({ reason: 'closed' });
  }
}
