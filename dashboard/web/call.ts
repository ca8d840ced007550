/**
 * The call detail page (`/dashboard/call?id=…`): the call's participants with their final
 * states and the models their last verdict rested on (windows scored, dropped under load), each
 * participant's verdict and score timeline (uPlot, as on the live dashboard),
 * every challenge with its outcome, the operator decisions, and a button that downloads the
 * call's evidence bundle (verify it offline with `npm run verify-evidence -- FILE`).
 */
import { ApiError } from './api.js';
import { TimelineChart } from './charts.js';
import { HistoryClient, type CallDetail, type ChallengeDetail, type ParticipantDetail } from './historyApi.js';
import { triggerText } from './challengeTrigger.js';
import { describeCoverage, droppedTotal } from './modelCoverage.js';
import { callKind, detailTimeline, formatDuration } from './historyFormat.js';
import { el, showError, stateBadge, time } from './historyDom.js';

const client = new HistoryClient();

function q<T extends HTMLElement>(selector: string): T {
  const e = document.querySelector<T>(selector);
  if (!e) throw new Error(`missing ${selector}`);
  return e;
}

const errorRegion = q<HTMLElement>('[data-testid="history-error"]');
const meta = q<HTMLElement>('[data-testid="call-meta"]');
const list = q<HTMLElement>('[data-testid="participants"]');
const download = q<HTMLButtonElement>('[data-testid="download-evidence"]');
const downloadStatus = q<HTMLElement>('[data-testid="download-status"]');
const charts: TimelineChart[] = [];

function fail(e: unknown): void {
  const err = e instanceof ApiError ? e : new ApiError('ERR_CLIENT', e instanceof Error ? e.message : String(e), 0);
  if (err.status === 401) return location.assign('/dashboard/login');
  showError(errorRegion, err);
}

function challengeRow(c: ChallengeDetail): HTMLTableRowElement {
  const measured = Object.entries(c.measurements)
    .map(([k, v]) => `${k} ${Math.round(v * 100) / 100}`)
    .join(', ');
  const outcome = c.outcome ?? 'running';
  return el(
    'tr',
    { 'data-testid': 'challenge', 'data-challenge': c.challengeId, 'data-outcome': outcome },
    el('td', {}, c.challengeType, c.side ? ` (${c.side})` : ''),
    el('td', {}, c.modality || '—'),
    el('td', {}, c.trigger ? triggerText(c) : '—'),
    el('td', {}, time(c.issuedAt, false)),
    el('td', { class: `outcome ${outcome}`, 'data-testid': 'challenge-outcome' }, outcome),
    el('td', {}, [c.reason, measured].filter(Boolean).join(' · ') || '—'),
  );
}

function participantSection(p: ParticipantDetail): HTMLElement {
  const headingId = `p-${p.peerId}`;
  const section = el('section', { class: 'participant', 'data-testid': 'participant', 'data-peer': p.peerId, 'aria-labelledby': headingId });
  section.append(
    el('div', { class: 'p-head' }, el('h3', { id: headingId }, p.displayName), stateBadge(p.finalState, p.pFake, p.confidence, p.reason)),
    el('p', { class: 'muted' }, 'joined ', time(p.joinedAt), ' · left ', time(p.leftAt)),
  );
  // What the last verdict rested on: the models that ran, their windows, and any dropped under load.
  const coverage = describeCoverage(p.models);
  if (coverage) section.append(el('p', { class: 'muted coverage', 'data-testid': 'coverage', 'data-dropped': String(droppedTotal(p.models)) }, coverage));
  const chart = el('div', { class: 'timeline', 'data-testid': 'timeline', role: 'figure', 'aria-label': `P(fake), confidence and detector scores of ${p.displayName} over the call` });
  section.append(el('h4', {}, 'Verdict and score timeline'), chart);
  const points = detailTimeline(p.timeline);
  if (points.length === 0) chart.append(el('p', { class: 'muted' }, 'No verdicts or scores were recorded.'));
  else {
    const c = new TimelineChart(chart, { height: 200, minSpanSec: 10 });
    c.update(points);
    charts.push(c);
  }
  section.append(el('h4', {}, 'Challenges'));
  if (p.challenges.length === 0) section.append(el('p', { class: 'muted', 'data-testid': 'no-challenges' }, 'No challenge was issued.'));
  else {
    section.append(
      el(
        'table',
        { class: 'challenges' },
        el('thead', {}, el('tr', {}, ...['Challenge', 'Modality', 'Trigger', 'Issued', 'Outcome', 'Reason / measurements'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...p.challenges.map(challengeRow)),
      ),
    );
  }
  section.append(el('h4', {}, 'Operator decisions'));
  if (p.decisions.length === 0) section.append(el('p', { class: 'muted' }, 'None.'));
  else {
    section.append(
      el(
        'ul',
        { class: 'decisions' },
        ...p.decisions.map((d) => el('li', { 'data-testid': 'decision', 'data-decision': d.decision }, time(d.ts, false), ` ${d.operator} chose ${d.decision} on "${d.tagState}"`, d.note ? `: ${d.note}` : '')),
      ),
    );
  }
  return section;
}

function render(d: CallDetail): void {
  document.title = `Call in ${d.roomId} · Deepfake defense`;
  q<HTMLElement>('[data-testid="call-title"]').textContent = `Call in ${d.roomId}`;
  const dl = el('dl', {});
  const item = (k: string, v: Node | string, id: string) => dl.append(el('dt', {}, k), el('dd', { 'data-testid': id }, v));
  item('Room', d.roomId, 'meta-room');
  item('Kind', callKind(d), 'meta-kind');
  if (d.phone?.platformCallId) item(d.phone.platform === 'twilio' ? 'Twilio CallSid' : d.phone.platform === 'audiohook' ? 'Genesys conversation' : d.phone.platform === 'sip' ? 'SIP Call-ID' : 'Platform call id', d.phone.platformCallId, 'meta-platform-call');
  item('Status', d.live ? 'live' : 'ended', 'meta-status');
  item('Started', time(d.startedAt), 'meta-started');
  item('Ended', time(d.endedAt), 'meta-ended');
  item('Duration', formatDuration(d.durationSec), 'meta-duration');
  item('Events', `${d.events} (${d.source === 'audit-trail' ? 'from the audit trail' : 'recent, from memory'})`, 'meta-events');
  item('Call id', d.callId, 'meta-call');
  meta.replaceChildren(dl);
  for (const c of charts.splice(0)) c.destroy();
  list.replaceChildren(...d.participants.map(participantSection));
  document.body.dataset['status'] = 'ready';
}

async function saveEvidence(callId: string): Promise<void> {
  download.disabled = true;
  downloadStatus.textContent = 'Exporting…';
  showError(errorRegion, undefined);
  try {
    const { blob, fileName } = await client.evidence(callId);
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: fileName });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    downloadStatus.textContent = `Saved ${fileName} (${blob.size} bytes). Verify it with: npm run verify-evidence -- ${fileName}`;
  } catch (e) {
    downloadStatus.textContent = '';
    fail(e);
  } finally {
    download.disabled = false;
  }
}

async function main(): Promise<void> {
  const callId = new URLSearchParams(location.search).get('id') ?? '';
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(callId)) {
    showError(errorRegion, { code: 'ERR_BAD_REQUEST', message: 'the page address names no valid call (…/dashboard/call?id=CALL_ID)' });
    download.disabled = true;
    return;
  }
  download.addEventListener('click', () => void saveEvidence(callId));
  try {
    render(await client.detail(callId));
  } catch (e) {
    download.disabled = true;
    fail(e);
    document.body.dataset['status'] = 'error';
  }
}

void main();
