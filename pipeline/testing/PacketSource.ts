/**
 * A media source that plays given RTP packets into the pipeline: what a phone leg or an
 * SFU tap is to the pipeline, without either (pipeline tests need no mediasoup).
 */
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import type { MediaSource, MediaSourceEvents, MediaSourceInfo } from '../MediaSource.js';

export class PacketSource extends TypedEmitter<MediaSourceEvents> implements MediaSource {
  readonly info: MediaSourceInfo;
  #resumed = false;
  #closed = false;
  readonly #whenResumed: Promise<void>;
  #onResume: () => void = () => undefined;

  constructor(info: MediaSourceInfo) {
    super();
    this.info = info;
    this.#whenResumed = new Promise((resolve) => (this.#onResume = resolve));
  }

  get resumed(): boolean {
    return this.#resumed;
  }

  /** Resolves once the consumer resumed the source. */
  whenResumed(): Promise<void> {
    return this.#whenResumed;
  }

  resume(): void {
    this.#resumed = true;
    this.#onResume();
  }

  /** Emits the packets (only once resumed, as a paused SFU tap would). */
  play(packets: readonly Buffer[], arrivalMs = Date.now()): void {
    if (!this.#resumed || this.#closed) throw new Error('PacketSource: not resumed or closed');
    for (const p of packets) this.safeEmit('rtp', p, arrivalMs);
  }

  /**
   * Plays the packets `chunk` at a time every `everyMs` (faster than real time, but not as one
   * burst: the media path's bounded queues would thin a burst, as they should under overload).
   */
  async stream(packets: readonly Buffer[], options: { chunk?: number; everyMs?: number } = {}): Promise<void> {
    const chunk = options.chunk ?? 25;
    const everyMs = options.everyMs ?? 100;
    for (let i = 0; i < packets.length && !this.#closed; i += chunk) {
      this.play(packets.slice(i, i + chunk));
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.safeEmit('close');
  }
}
