/**
 * Two visually hidden ARIA live regions (polite and assertive) that speak announcements
 * (`verdictAnnouncer.ts`). Each announcement is a new paragraph, so saying the same words
 * twice is still heard; only the last few are kept.
 */
import type { Announcement, Politeness } from './verdictAnnouncer.js';

const HIDDEN = 'position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0';
const KEEP = 3;

export class LiveRegion {
  readonly #regions: Record<Politeness, HTMLElement>;

  /** Appends the regions to `parent`. They exist before anything is said, as screen readers need. */
  constructor(parent: HTMLElement, testId = 'verdict-announcer') {
    const make = (politeness: Politeness): HTMLElement => {
      const region = document.createElement('div');
      region.setAttribute('aria-live', politeness);
      region.setAttribute('aria-atomic', 'false');
      region.setAttribute('role', politeness === 'assertive' ? 'alert' : 'status');
      region.dataset['testid'] = `${testId}-${politeness}`;
      region.style.cssText = HIDDEN;
      parent.append(region);
      return region;
    };
    this.#regions = { polite: make('polite'), assertive: make('assertive') };
  }

  say(a: Announcement): void {
    const region = this.#regions[a.politeness];
    const p = document.createElement('p');
    p.textContent = a.text;
    region.append(p);
    while (region.childElementCount > KEEP) region.firstElementChild?.remove();
  }
}
