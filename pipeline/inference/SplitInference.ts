/**
 * The `media-threads` placement as one InferenceBackend: the score detectors run in the media
 * worker that made the window (ColocatedInference: two thread hops from packet to score), and the
 * models off that path, the speaker-embedding model and cascade stages (a dearer second voice
 * stage on one window in N, manifest `cascade`), run on dedicated inference threads fed from the
 * main thread (an InferencePool), so their runs never hold up a media worker's decoding, VAD and
 * first-stage scores. Listeners are registered on both; nothing is re-emitted.
 */
import type { AnalysisWindow } from '../messages.js';
import type { ColocatedInference } from './ColocatedInference.js';
import type { DetectorInfo, InferenceBackend, InferenceBackendEvents } from './InferenceBackend.js';

export class SplitInference implements InferenceBackend {
  readonly scores: ColocatedInference;
  /** The speaker model and cascade stages; undefined when neither is installed (or enabled). */
  readonly embeddings: InferenceBackend | undefined;

  constructor(scores: ColocatedInference, embeddings: InferenceBackend | undefined) {
    this.scores = scores;
    this.embeddings = embeddings;
  }

  on<K extends keyof InferenceBackendEvents>(event: K, listener: (...args: InferenceBackendEvents[K]) => void): this {
    this.scores.on(event, listener);
    this.embeddings?.on(event, listener);
    return this;
  }

  off<K extends keyof InferenceBackendEvents>(event: K, listener: (...args: InferenceBackendEvents[K]) => void): this {
    this.scores.off(event, listener);
    this.embeddings?.off(event, listener);
    return this;
  }

  async ready(): Promise<void> {
    await Promise.all([this.scores.ready(), this.embeddings?.ready()]);
  }

  /** First-stage scores were computed where the window was made; the main thread sends windows on for embeddings and cascade stages. */
  submit(window: AnalysisWindow): boolean {
    return this.embeddings?.submit(window) ?? false;
  }

  detectors(): DetectorInfo[] {
    return [...this.scores.detectors(), ...(this.embeddings?.detectors() ?? [])];
  }

  async close(): Promise<void> {
    await Promise.all([this.scores.close(), this.embeddings?.close()]);
  }
}
