/**
 * The score half of the `media-threads` placement, as the main thread sees it: every media
 * worker scores the windows it makes with its own in-thread InferencePool (one bounded,
 * fairly-thinned queue per detector over that worker's streams; InThreadRunner), and posts the
 * scores and drops (never embeddings: SplitInference keeps the speaker model on the inference
 * thread). The media pool hands those messages here, where they become this backend's events;
 * nothing is submitted from the main thread.
 *
 *   main --RTP--> media worker: decode -> VAD -> windows -> detectors --scores--> main
 *
 * so a packet crosses two thread boundaries on its way to a verdict, not four.
 * A media worker that crashes loses the windows it was scoring (as it loses the audio it was
 * decoding); its replacement opens its models again and reports its detectors.
 */
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import type { DetectorInfo, DetectorScore, DropEvent, InferenceBackend, InferenceBackendEvents } from './InferenceBackend.js';
import type { AnalysisWindow } from '../messages.js';

export class ColocatedInference extends TypedEmitter<InferenceBackendEvents> implements InferenceBackend {
  /** Usable detectors reported by each media worker slot's current thread. */
  readonly #bySlot = new Map<number, DetectorInfo[]>();
  readonly #ready: () => Promise<unknown>;

  /** `ready`: the media pool's readiness (every worker opened its models). */
  constructor(ready: () => Promise<unknown>) {
    super();
    this.#ready = ready;
  }

  async ready(): Promise<void> {
    await this.#ready();
  }

  /** Windows are scored in the media worker that made them: nothing comes from the main thread. */
  submit(_window: AnalysisWindow): boolean {
    return false;
  }

  detectors(): DetectorInfo[] {
    const byId = new Map<string, DetectorInfo>();
    for (const list of this.#bySlot.values()) for (const d of list) byId.set(d.id, d);
    return [...byId.values()];
  }

  /** A media worker (slot `slot`) opened its models: these detectors are usable there. */
  workerReady(slot: number, detectors: readonly DetectorInfo[]): void {
    this.#bySlot.set(slot, [...detectors]);
  }

  score(s: DetectorScore): void {
    this.safeEmit('score', s);
  }

  dropped(d: DropEvent): void {
    this.safeEmit('dropped', d);
  }

  /** The media pool's shutdown closes the workers' sessions. */
  async close(): Promise<void> {}
}
