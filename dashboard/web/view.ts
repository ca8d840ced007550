/**
 * Renders the view model into the dashboard page, keyed by room and participant so live
 * updates touch only what changed (charts and focused buttons survive). Operator actions
 * are handed to the `ViewHandlers`; the view never calls the API itself. Verdicts are shown
 * through the shared mapping (`verdictDisplay.ts`); departed participants are listed in
 * History with their final state and no actions.
 */
import type { Alert, CallView, ChallengeEntry, DashboardState, DepartedEntry, ParticipantView } from './state.js';
import { stateColours, stateLabels } from './types.js';
import { describeVerdict } from './verdictDisplay.js';
import { describeCoverage, droppedTotal } from './modelCoverage.js';
import { renderVerdictBadge } from './verdictBadge.js';
import { triggerText } from './challengeTrigger.js';
import { TimelineChart } from './charts.js';

export type OperatorAction = 'challenge' | 'confirm' | 'dismiss';

export interface ViewHandlers {
  onAction(action: OperatorAction, roomId: string, peerId: string): Promise<void>;
}

export interface DashboardViewOptions {
  /** Toasts visible at once (oldest removed first). */
  maxToasts: number;
  toastMs: number;
}

export const defaultDashboardViewOptions: DashboardViewOptions = { maxToasts: 5, toastMs: 10_000 };

interface ParticipantEls {
  root: HTMLElement;
  name: HTMLElement;
  presence: HTMLElement;
  badge: HTMLElement;
  numbers: HTMLElement;
  detail: HTMLElement;
  reason: HTMLElement;
  /** Which models analysed the participant, and what they dropped under load (modelCoverage.ts). */
  coverage: HTMLElement;
  chart: TimelineChart;
  decisions: HTMLElement;
  last: ParticipantView | undefined;
}

interface RoomEls {
  root: HTMLElement;
  title: HTMLElement;
  list: HTMLElement;
  participants: Map<string, ParticipantEls>;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function time(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleTimeString([], { hour12: false });
}

const pct = (v: number | null): string => (v === null ? '–' : `${Math.round(v * 100)}%`);

export class DashboardView {
  readonly options: DashboardViewOptions;
  readonly #root: HTMLElement;
  readonly #handlers: ViewHandlers;
  readonly #rooms = new Map<string, RoomEls>();
  readonly #calls: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #alerts: HTMLElement;
  readonly #challengeLog: HTMLElement;
  readonly #history: HTMLElement;
  readonly #noHistory: HTMLElement;
  readonly #toasts: HTMLElement;
  #last: DashboardState | undefined;

  constructor(root: HTMLElement, handlers: ViewHandlers, options: Partial<DashboardViewOptions> = {}) {
    this.options = { ...defaultDashboardViewOptions, ...options };
    this.#root = root;
    this.#handlers = handlers;
    const q = (sel: string): HTMLElement => {
      const found = root.querySelector<HTMLElement>(sel);
      if (!found) throw new Error(`dashboard markup is missing ${sel}`);
      return found;
    };
    this.#calls = q('[data-testid="calls"]');
    this.#empty = q('[data-testid="no-calls"]');
    this.#alerts = q('[data-testid="alerts"]');
    this.#challengeLog = q('[data-testid="challenge-log"]');
    this.#history = q('[data-testid="history"]');
    this.#noHistory = q('[data-testid="no-history"]');
    this.#toasts = q('[data-testid="toasts"]');
  }

  render(state: DashboardState): void {
    const last = this.#last;
    this.#last = state;
    if (state.calls !== last?.calls) this.#renderCalls(state.calls);
    if (state.departed !== last?.departed) this.#renderHistory(state.departed);
    if (state.alerts !== last?.alerts) this.#renderAlerts(state.alerts);
    if (state.challengeLog !== last?.challengeLog) this.#renderChallengeLog(state.challengeLog);
    this.#root.dataset['applied'] = String(state.applied);
  }

  setStatus(status: string): void {
    const s = this.#root.querySelector<HTMLElement>('[data-testid="feed-status"]');
    if (s) {
      s.textContent = status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…';
      s.dataset['status'] = status;
    }
  }

  /** Shows a typed API error (or a confirmation) as a toast. */
  toast(kind: 'error' | 'info', code: string, message: string): void {
    const t = el('div', { class: `toast ${kind}`, 'data-testid': 'toast', 'data-code': code });
    const text = el('p');
    text.append(el('strong', {}, code), ` ${message}`);
    t.append(text);
    const close = el('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss message' }, '×');
    close.addEventListener('click', () => t.remove());
    t.append(close);
    this.#toasts.append(t);
    while (this.#toasts.children.length > this.options.maxToasts) this.#toasts.firstElementChild?.remove();
    setTimeout(() => t.remove(), this.options.toastMs);
  }

  #renderCalls(calls: CallView[]): void {
    this.#empty.hidden = calls.length > 0;
    const keep = new Set(calls.map((c) => c.roomId));
    for (const [roomId, r] of this.#rooms) {
      if (keep.has(roomId)) continue;
      for (const p of r.participants.values()) p.chart.destroy();
      r.root.remove();
      this.#rooms.delete(roomId);
    }
    let prev: HTMLElement | undefined;
    for (const call of calls) {
      let r = this.#rooms.get(call.roomId);
      if (!r) {
        r = this.#room(call.roomId);
        this.#rooms.set(call.roomId, r);
      }
      // Keep DOM order equal to the (sorted) state order.
      if (prev ? prev.nextElementSibling !== r.root : this.#calls.firstElementChild !== r.root) {
        if (prev) prev.after(r.root);
        else this.#calls.prepend(r.root);
      }
      prev = r.root;
      r.root.dataset['callId'] = call.callId;
      r.title.textContent = `Room ${call.roomId}`;
      r.root.querySelector('.call-meta')!.textContent = `${call.participants.filter((p) => p.present).length} present · call ${call.callId || '–'} · since ${time(call.startedAt)}${call.node ? ` · on node ${call.node}` : ''}`;
      this.#renderParticipants(r, call);
    }
  }

  #room(roomId: string): RoomEls {
    const titleId = `room-${roomId}-title`;
    const root = el('section', { class: 'room', 'data-testid': 'room', 'data-room': roomId, 'aria-labelledby': titleId });
    const head = el('header', { class: 'room-head' });
    const title = el('h3', { id: titleId });
    head.append(title, el('span', { class: 'call-meta' }));
    const list = el('div', { class: 'participants', role: 'list' });
    root.append(head, list);
    return { root, title, list, participants: new Map() };
  }

  #renderParticipants(r: RoomEls, call: CallView): void {
    const keep = new Set(call.participants.map((p) => p.peerId));
    for (const [peerId, p] of r.participants) {
      if (keep.has(peerId)) continue;
      p.chart.destroy();
      p.root.remove();
      r.participants.delete(peerId);
    }
    for (const p of call.participants) {
      let els = r.participants.get(p.peerId);
      if (!els) {
        els = this.#participant(call.roomId, p);
        r.participants.set(p.peerId, els);
        r.list.append(els.root);
      }
      if (els.last !== p) this.#updateParticipant(els, p);
    }
  }

  #participant(roomId: string, p: ParticipantView): ParticipantEls {
    const nameId = `p-${roomId}-${p.peerId}-name`;
    const root = el('article', { class: 'participant', role: 'listitem', 'data-testid': 'participant', 'data-room': roomId, 'data-peer': p.peerId, 'aria-labelledby': nameId });
    const head = el('div', { class: 'p-head' });
    const name = el('h4', { id: nameId, 'data-testid': 'participant-name' });
    const presence = el('span', { class: 'presence', 'data-testid': 'presence' });
    // Not a live region: the page's announcer says who changed (dashboard.ts, verdictAnnouncer.ts).
    const badge = el('span', { class: 'badge', 'data-testid': 'badge' });
    head.append(name, presence, badge);
    const numbers = el('div', { class: 'numbers', 'data-testid': 'numbers' });
    const detail = el('div', { class: 'detail', 'data-testid': 'verdict-detail' });
    const reason = el('div', { class: 'reason' });
    const coverage = el('div', { class: 'coverage', 'data-testid': 'coverage' });
    const chartHost = el('div', { class: 'timeline', role: 'img', 'data-testid': 'timeline', 'data-points': '0' });
    const actions = el('div', { class: 'actions', role: 'group' });
    const button = (action: OperatorAction, label: string, cls: string): HTMLButtonElement => {
      const b = el('button', { type: 'button', class: cls, 'data-testid': `action-${action}` }, label);
      b.addEventListener('click', () => {
        b.disabled = true;
        this.#handlers.onAction(action, roomId, p.peerId).finally(() => {
          b.disabled = false;
        });
      });
      return b;
    };
    actions.append(button('challenge', 'Challenge now', 'secondary'), button('confirm', 'Confirm', 'danger'), button('dismiss', 'Dismiss', 'secondary'));
    const decisions = el('ul', { class: 'decisions', 'data-testid': 'decisions' });
    root.append(head, numbers, detail, reason, coverage, chartHost, actions, decisions);
    const chart = new TimelineChart(chartHost);
    return { root, name, presence, badge, numbers, detail, reason, coverage, chart, decisions, last: undefined };
  }

  #updateParticipant(els: ParticipantEls, p: ParticipantView): void {
    const prev = els.last;
    els.last = p;
    const display = describeVerdict(p);
    els.root.dataset['state'] = p.state;
    els.root.dataset['display'] = display.kind;
    els.root.classList.toggle('left', !p.present);
    els.name.textContent = p.displayName;
    els.presence.textContent = p.present ? 'in call' : 'left';
    renderVerdictBadge(els.badge, display, p.state, els.detail);
    els.numbers.textContent = `P(fake) ${pct(p.pFake)} · confidence ${pct(p.confidence)}`;
    els.reason.textContent = p.reason ?? '';
    els.reason.hidden = !p.reason;
    els.coverage.textContent = describeCoverage(p.models);
    els.coverage.hidden = els.coverage.textContent === '';
    els.coverage.dataset['dropped'] = String(droppedTotal(p.models));
    const label = `Score timeline for ${p.displayName}: ${p.timeline.length} points, latest P(fake) ${pct(p.pFake)}, confidence ${pct(p.confidence)}`;
    const host = els.root.querySelector<HTMLElement>('[data-testid="timeline"]')!;
    host.setAttribute('aria-label', label);
    for (const b of els.root.querySelectorAll('.actions button')) b.setAttribute('aria-label', `${b.textContent ?? ''} ${p.displayName}`);
    els.root.querySelector('.actions')!.setAttribute('aria-label', `Actions for ${p.displayName}`);
    if (prev?.timeline !== p.timeline) els.chart.update(p.timeline);
    if (prev?.decisions !== p.decisions) {
      els.decisions.replaceChildren(
        ...p.decisions.slice(0, 3).map((d) => el('li', { 'data-testid': 'decision', 'data-decision': d.decision }, `${time(d.ts)} ${d.operator} ${d.decision === 'confirm' ? 'confirmed' : 'dismissed'} “${d.tagState}”`)),
      );
    }
  }

  #renderHistory(departed: DepartedEntry[]): void {
    this.#noHistory.hidden = departed.length > 0;
    this.#history.replaceChildren(
      ...departed.map((d) => {
        const display = describeVerdict(d);
        const li = el('li', {
          class: 'history-entry',
          'data-testid': 'history-entry',
          'data-room': d.roomId,
          'data-peer': d.peerId,
          'data-call-id': d.callId,
          'data-ended': d.ended,
          'data-state': d.state,
          'data-display': display.kind,
        });
        const head = el('div', { class: 'p-head' });
        const badge = el('span', { class: 'badge', 'data-testid': 'badge' });
        const detail = el('div', { class: 'detail', 'data-testid': 'verdict-detail' });
        renderVerdictBadge(badge, display, d.state, detail);
        head.append(
          el('strong', { 'data-testid': 'participant-name' }, d.displayName),
          el('span', { class: 'presence', 'data-testid': 'presence' }, `${d.ended === 'left' ? 'left' : 'call ended'} ${time(d.at)} · room ${d.roomId}`),
          badge,
        );
        li.append(head, el('div', { class: 'numbers', 'data-testid': 'numbers' }, `final P(fake) ${pct(d.pFake)} · confidence ${pct(d.confidence)}`), detail);
        const coverage = describeCoverage(d.models);
        if (coverage) li.append(el('div', { class: 'coverage', 'data-testid': 'coverage', 'data-dropped': String(droppedTotal(d.models)) }, coverage));
        const decision = d.decisions[0];
        if (decision) li.append(el('div', { class: 'decisions', 'data-testid': 'decision', 'data-decision': decision.decision }, `${time(decision.ts)} ${decision.operator} ${decision.decision === 'confirm' ? 'confirmed' : 'dismissed'} “${decision.tagState}”`));
        return li;
      }),
    );
  }

  #renderAlerts(alerts: Alert[]): void {
    this.#alerts.replaceChildren(
      ...alerts.map((a) => {
        const li = el('li', { class: `alert ${a.kind}`, 'data-testid': 'alert', 'data-kind': a.kind, 'data-value': a.value, 'data-room': a.roomId, 'data-peer': a.peerId });
        const what =
          a.kind === 'verdict'
            ? `${stateLabels[a.value as keyof typeof stateLabels] ?? a.value}${a.previous ? ` (was ${stateLabels[a.previous as keyof typeof stateLabels] ?? a.previous})` : ''}`
            : `challenge ${a.previous ?? ''} ${a.value}`;
        li.append(el('time', { datetime: a.ts }, time(a.ts)), el('strong', {}, ` ${a.displayName}`), el('span', {}, ` in ${a.roomId}: ${what}`));
        if (a.kind === 'verdict') li.style.borderLeftColor = stateColours[a.value as keyof typeof stateColours] ?? '#888';
        return li;
      }),
    );
  }

  #renderChallengeLog(log: ChallengeEntry[]): void {
    this.#challengeLog.replaceChildren(
      ...log.map((c) => {
        const li = el('li', { 'data-testid': 'challenge-entry', 'data-phase': c.phase, 'data-outcome': c.outcome ?? '', 'data-peer': c.peerId });
        li.append(
          el('time', { datetime: c.ts }, time(c.ts)),
          el('strong', {}, ` ${c.displayName}`),
          el('span', {}, ` ${c.challengeType} · ${c.phase}`),
          // why it started: the trigger, and what a weak-evidence challenge acted on
          ...(c.trigger ? [el('span', { class: 'trigger', 'data-testid': 'challenge-trigger' }, ` · ${triggerText(c)}`)] : []),
          ...(c.outcome ? [el('span', { class: `outcome ${c.outcome}` }, ` · ${c.outcome}`)] : []),
          // AudioHook calls: the service cannot speak to the caller, the agent asks instead.
          ...(c.agentPrompt ? [el('p', { class: 'agent-prompt', 'data-testid': 'agent-prompt' }, `Ask the caller: ${c.agentPrompt}`)] : []),
        );
        return li;
      }),
    );
  }
}
