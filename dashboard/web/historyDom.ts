/**
 * Small DOM helpers shared by the call-history pages: element creation, a verdict badge
 * through the shared verdict display (icon and words, never colour alone), times, and the
 * typed-error banner.
 */
import { describeVerdict } from './verdictDisplay.js';
import { renderVerdictBadge } from './verdictBadge.js';
import type { VerdictState } from './types.js';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A final-state badge with its explanation beside it (visually hidden, read by screen readers). */
export function stateBadge(state: VerdictState, pFake: number | null, confidence: number | null, reason: string | null): HTMLElement {
  const wrap = el('span', { class: 'state' });
  const badge = el('span', { class: 'badge', 'data-testid': 'final-state' });
  const detail = el('span', { class: 'sr-only' });
  renderVerdictBadge(badge, describeVerdict({ state, confidence, pFake, ...(reason ? { reason } : {}) }), state, detail);
  wrap.append(badge, detail);
  return wrap;
}

export function time(iso: string | null, withDate = true): HTMLElement {
  if (!iso) return el('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  const text = Number.isNaN(d.getTime()) ? iso : withDate ? d.toLocaleString([], { hour12: false }) : d.toLocaleTimeString([], { hour12: false });
  return el('time', { datetime: iso }, text);
}

/** Shows (or clears, with undefined) a typed error in the page's alert region. */
export function showError(region: HTMLElement, error: { code: string; message: string } | undefined): void {
  if (!error) {
    region.replaceChildren();
    delete region.dataset['code'];
    return;
  }
  region.dataset['code'] = error.code;
  region.replaceChildren(el('strong', {}, error.code), ` ${error.message}`);
}
