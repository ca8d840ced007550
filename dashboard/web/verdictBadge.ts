/**
 * Puts a `VerdictDisplay` (see `verdictDisplay.ts`) into a badge element, the same way on
 * the dashboard and in the badge SDK: an icon and a label (never colour alone), the
 * machine state and the display kind as data attributes, and the explanation (state,
 * evidence, what would change it) as the badge's title and accessible description
 * (`aria-describedby` pointing at `detail`).
 */
import type { VerdictDisplay } from './verdictDisplay.js';

let nextId = 0;

export function renderVerdictBadge(badge: HTMLElement, display: VerdictDisplay, state: string, detail: HTMLElement): void {
  let icon = badge.querySelector<HTMLElement>(':scope > .dfd-icon');
  let label = badge.querySelector<HTMLElement>(':scope > .dfd-label');
  if (!icon || !label) {
    icon = document.createElement('span');
    icon.className = 'dfd-icon';
    icon.setAttribute('aria-hidden', 'true');
    label = document.createElement('span');
    label.className = 'dfd-label';
    label.dataset['testid'] = 'badge-label';
    badge.replaceChildren(icon, ' ', label);
  }
  icon.textContent = display.icon;
  label.textContent = display.label;
  badge.dataset['state'] = state;
  badge.dataset['display'] = display.kind;
  badge.dataset['weak'] = String(display.weak);
  badge.style.background = display.colour;
  badge.title = display.detail;
  detail.textContent = display.detail;
  if (!detail.id) detail.id = `dfd-verdict-detail-${++nextId}`;
  badge.setAttribute('aria-describedby', detail.id);
}
