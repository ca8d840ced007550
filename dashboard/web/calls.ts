/**
 * The call-history list page (`/dashboard/calls`): a filter form (final state, live/ended,
 * room, analysis thinned under load or complete, time range) kept in the page URL, and one row
 * per call with its participants' final states (and any windows their last verdict dropped
 * under load), challenges, operator decisions and duration, linking to the call's detail page.
 */
import { ApiError } from './api.js';
import { HistoryClient, type HistoryEntry } from './historyApi.js';
import { callKind, challengeSummary, droppedText, emptyFilter, FilterError, filterToQuery, formatDuration, queryToFilter, type HistoryFilter } from './historyFormat.js';
import { el, showError, stateBadge, time } from './historyDom.js';

const client = new HistoryClient();

function q<T extends HTMLElement>(selector: string): T {
  const e = document.querySelector<T>(selector);
  if (!e) throw new Error(`missing ${selector}`);
  return e;
}

const form = q<HTMLFormElement>('[data-testid="filters"]');
const rows = q<HTMLTableSectionElement>('[data-testid="call-rows"]');
const summary = q<HTMLElement>('[data-testid="calls-summary"]');
const errorRegion = q<HTMLElement>('[data-testid="history-error"]');
const fields: (keyof HistoryFilter)[] = ['state', 'status', 'room', 'analysis', 'from', 'to'];

function readForm(): HistoryFilter {
  const f = { ...emptyFilter };
  for (const k of fields) f[k] = (form.elements.namedItem(k) as HTMLInputElement | HTMLSelectElement | null)?.value ?? '';
  return f;
}

function writeForm(f: HistoryFilter): void {
  for (const k of fields) {
    const input = form.elements.namedItem(k) as HTMLInputElement | HTMLSelectElement | null;
    if (input) input.value = f[k];
  }
}

function row(c: HistoryEntry): HTMLTableRowElement {
  const people = el('ul', { class: 'people' });
  for (const p of c.participants) {
    const li = el('li', { 'data-testid': 'call-participant', 'data-peer': p.peerId }, el('span', { class: 'name' }, p.displayName), ' ', stateBadge(p.finalState, p.pFake, p.confidence, p.reason));
    const dropped = droppedText(p);
    if (dropped) li.append(' ', el('span', { class: 'muted', 'data-testid': 'call-dropped' }, dropped));
    people.append(li);
  }
  const decisions = c.decisions.length === 0 ? 'none' : c.decisions.map((d) => `${d.decision} (${d.displayName || d.peerId})`).join(', ');
  const link = el('a', { href: `/dashboard/call?id=${encodeURIComponent(c.callId)}`, 'data-testid': 'call-link' }, 'Details');
  link.setAttribute('aria-label', `Details of the call in ${c.roomId} started ${new Date(c.startedAt).toLocaleString([], { hour12: false })}`);
  return el(
    'tr',
    { 'data-testid': 'call-row', 'data-call': c.callId, 'data-room': c.roomId, 'data-live': String(c.live), 'data-worst': c.worstState },
    el('td', {}, time(c.startedAt)),
    el('td', {}, c.roomId, el('br'), el('span', { class: 'muted', 'data-testid': 'call-kind' }, callKind(c))),
    el('td', { 'data-testid': 'call-status' }, c.live ? 'live' : 'ended'),
    el('td', { 'data-testid': 'call-duration' }, formatDuration(c.durationSec)),
    el('td', {}, people),
    el('td', { 'data-testid': 'call-challenges' }, challengeSummary(c.challenges)),
    el('td', { 'data-testid': 'call-decisions' }, decisions),
    el('td', {}, link),
  );
}

async function load(filter: HistoryFilter): Promise<void> {
  showError(errorRegion, undefined);
  for (const k of fields) (form.elements.namedItem(k) as HTMLElement | null)?.removeAttribute('aria-invalid');
  let query: URLSearchParams;
  try {
    query = filterToQuery(filter);
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    (form.elements.namedItem(e.field) as HTMLElement | null)?.setAttribute('aria-invalid', 'true');
    showError(errorRegion, { code: 'ERR_BAD_REQUEST', message: `${e.field}: ${e.message}` });
    return;
  }
  document.body.dataset['status'] = 'loading';
  try {
    const list = await client.list(query);
    rows.replaceChildren(...list.calls.map(row));
    summary.textContent = list.total === 0 ? 'No calls match these filters.' : `${list.total} call${list.total === 1 ? '' : 's'}${list.total > list.calls.length ? `, the newest ${list.calls.length} shown` : ''}.`;
    document.body.dataset['status'] = 'ready';
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError('ERR_CLIENT', e instanceof Error ? e.message : String(e), 0);
    if (err.status === 401) return location.assign('/dashboard/login');
    showError(errorRegion, err);
    document.body.dataset['status'] = 'error';
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = readForm();
  try {
    const query = filterToQuery(f);
    query.delete('limit');
    history.replaceState(null, '', `?${query.toString()}`);
  } catch {
    // load() shows the problem next to the field.
  }
  void load(f);
});
form.addEventListener('reset', () => {
  history.replaceState(null, '', location.pathname);
  setTimeout(() => void load(emptyFilter));
});

const initial = queryToFilter(new URLSearchParams(location.search));
writeForm(initial);
void load(initial);
