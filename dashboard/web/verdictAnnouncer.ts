/**
 * Decides what a screen reader hears when a verdict changes, on the meeting page and the
 * dashboard alike: one short sentence naming the participant and the new wording from the
 * shared mapping (`verdictDisplay.ts`), polite for every change and assertive for "Deepfake
 * likely" (it interrupts, as an alarm should). A participant seen for the first time is
 * announced only when the verdict is already an alarm; a change that keeps the same wording
 * ("collecting" to a weak "likely genuine": both "Not enough evidence yet") says nothing.
 *
 * Pure and DOM-free (`verdictAnnouncer.test.ts`); `liveRegion.ts` speaks the result.
 */
import type { DisplayKind, VerdictDisplay } from './verdictDisplay.js';

export type Politeness = 'polite' | 'assertive';

export interface Announcement {
  text: string;
  politeness: Politeness;
}

/** Display kinds worth announcing the first time a participant is seen. */
const ALARMS: ReadonlySet<DisplayKind> = new Set(['suspicious', 'deepfake-likely']);

export class VerdictAnnouncer {
  /** Last announced (or silently noted) wording per participant key. */
  readonly #last = new Map<string, string>();

  /** What to announce for participant `key` (called `name`) now shown as `display`; null for nothing. */
  change(key: string, name: string, display: Pick<VerdictDisplay, 'kind' | 'label'>): Announcement | null {
    const previous = this.#last.get(key);
    this.#last.set(key, display.label);
    if (previous === display.label) return null;
    if (previous === undefined && !ALARMS.has(display.kind)) return null;
    return {
      text: `${name}: ${display.label}${previous === undefined ? '' : ` (was ${previous})`}.`,
      politeness: display.kind === 'deepfake-likely' ? 'assertive' : 'polite',
    };
  }

  /** The participant is gone: a later return is a first sight again. */
  forget(key: string): void {
    this.#last.delete(key);
  }

  /** Forgets every participant whose key is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const key of this.#last.keys()) if (!keep.has(key)) this.#last.delete(key);
  }
}
