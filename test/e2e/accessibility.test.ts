/**
 * Accessibility in real headless Chromium against the real service: axe-core (the engine the
 * `axe-core` package ships, injected into each page) finds no serious or critical violation
 * on the meeting page (joined, with verdict badges; and its device-error state), the
 * operator dashboard (live participants, History) and the call history pages; both pages can
 * be operated with the keyboard alone, with a visible focus; verdict changes are announced in
 * live regions (assertive for "Deepfake likely"); badges carry an icon and text, not colour alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser, artifactsDir } from '../helpers/browser.js';
import { auditPage, formatViolations } from '../helpers/axe.js';
import { TestSignallingClient } from '../helpers/wsClient.js';
import { fixtures } from '../fixtures/build.js';
import { makeEvent, type VerdictEvent } from '../../events/schema.js';
import type { Service } from '../../src/Service.js';

const ROOM = 'a11y-e2e';
const ENDED_ROOM = 'a11y-ended';
const WAIT = { timeout: 20_000 };

function verdict(state: VerdictEvent['payload']['state'], pFake: number, confidence: number): VerdictEvent['payload'] {
  return { state, pFake, confidence, evidence: { speechSeconds: 14, faceFrames: 60 }, quality: { packetLoss: 0 }, dropped: {} };
}

async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, what: string, timeoutMs = WAIT.timeout): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Stop {
  /** data-testid, `badge:<tile peer>` for a meeting badge, or the tag name. */
  id: string;
  /** The accessible label when set. */
  label: string;
  /** Shows a focus indicator (an outline or a ring). */
  visible: boolean;
}

/** What has keyboard focus. */
async function focused(page: Page): Promise<Stop> {
  return page.evaluate(() => {
    const e = document.activeElement as HTMLElement | null;
    if (!e || e === document.body) return { id: 'body', label: '', visible: false };
    const s = getComputedStyle(e);
    const id = e.classList.contains('dfd-badge') ? `badge:${(e.closest('.tile') as HTMLElement | null)?.dataset['peer'] ?? ''}` : (e.dataset['testid'] ?? e.tagName.toLowerCase());
    return { id, label: e.getAttribute('aria-label') ?? '', visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none' };
  });
}

/** Presses Tab until `want` has focus (at most `max` times); returns every stop on the way. */
async function tabTo(page: Page, want: (stop: Stop) => boolean, max = 40): Promise<Stop[]> {
  const stops: Stop[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    stops.push(f);
    if (want(f)) return stops;
  }
  throw new Error(`Tab never reached the element; stops: ${JSON.stringify(stops)}`);
}

describe('accessibility (axe-core in real Chromium, keyboard only, live regions)', () => {
  let service: Service;
  let browser: Browser;
  let noDevices: Browser;
  let base: string;
  let alice: Page;
  let aliceId: string;
  let bobId: string;

  const join = async (name: string): Promise<Page> => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/meet?room=${ROOM}&name=${name}&autojoin=1`);
    await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, WAIT);
    return page;
  };
  const publishVerdict = (peerId: string, name: string, payload: VerdictEvent['payload']): void => {
    const call = service.registry.openCall(ROOM)!;
    service.publish(makeEvent('verdict', { roomId: ROOM, peerId, displayName: name, callId: call.callId, models: [] }, payload));
  };

  beforeAll(async () => {
    if (!fs.existsSync(path.resolve('web-dist/meet.html'))) throw new Error('web-dist is not built (run node scripts/build-web.mjs)');
    service = await startTestService({}, { events: true, analysis: false });
    base = `http://127.0.0.1:${service.port}`;
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
    noDevices = await launchBrowser({ fakeDevices: false });
    fs.mkdirSync(artifactsDir, { recursive: true });
    alice = await join('Alice');
    await join('Bob');
    const peers = [...service.rooms.get(ROOM)!.peers.values()];
    aliceId = peers.find((p) => p.displayName === 'Alice')!.id;
    bobId = peers.find((p) => p.displayName === 'Bob')!.id;
    await until(() => service.feed.clients, (n) => n >= 2, 'both meeting pages on the live feed');
  });

  afterAll(async () => {
    await browser?.close();
    await noDevices?.close();
    await service?.close();
  });

  it('meeting page, joined with badges: no serious violation; keyboard reaches every control with a visible focus; verdicts are announced', async () => {
    publishVerdict(aliceId, 'Alice', verdict('likely-genuine', 0.1, 0.8));
    publishVerdict(bobId, 'Bob', verdict('suspicious', 0.6, 0.6));
    const bobBadge = alice.locator(`.tile[data-peer="${bobId}"] .dfd-badge`);
    await expect.poll(() => bobBadge.getAttribute('data-state'), WAIT).toBe('suspicious');
    // Icon and text, never colour alone.
    expect(await bobBadge.textContent()).toBe('⚠ Suspicious');
    expect(await bobBadge.locator('.dfd-icon').getAttribute('aria-hidden')).toBe('true');
    await expect.poll(() => alice.getByTestId('verdict-announcer-polite').locator('p').last().textContent(), WAIT).toBe('Bob: Suspicious.');

    const violations = await auditPage(alice);
    expect(violations, formatViolations(violations)).toEqual([]);

    // Keyboard only, from the top of the page: Leave, the two device pickers, then each badge.
    await alice.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const stops = await tabTo(alice, (f) => f.id === `badge:${bobId}`);
    expect(stops.map((s) => s.id)).toEqual(['leave', 'pick-audio', 'pick-video', 'badge:me', `badge:${bobId}`]);
    expect(stops.filter((s) => !s.visible), 'every stop shows its focus').toEqual([]);
    // The focused badge explains itself.
    const tip = alice.locator(`.tile[data-peer="${bobId}"] .dfd-badge-detail`);
    await expect.poll(() => tip.isVisible(), WAIT).toBe(true);
    expect(await tip.textContent()).toContain('suspicious');

    // An alarm interrupts: "Deepfake likely" goes to the assertive region.
    publishVerdict(bobId, 'Bob', verdict('deepfake-likely', 0.93, 0.85));
    await expect.poll(() => alice.getByTestId('verdict-announcer-assertive').locator('p').last().textContent(), WAIT).toBe('Bob: Deepfake likely (was Suspicious).');
    await alice.screenshot({ path: path.join(artifactsDir, 'a11y-meeting.png') });
  });

  it('meeting page, device error: no serious violation; the choices are buttons reached by keyboard', async () => {
    const page = await (await noDevices.newContext()).newPage();
    await page.goto(`${base}/meet?room=${ROOM}&name=Nora&autojoin=1`);
    await page.waitForFunction(() => document.body.dataset['status'] === 'device-error', undefined, { timeout: 10_000 });
    const violations = await auditPage(page);
    expect(violations, formatViolations(violations)).toEqual([]);
    expect(await page.getByTestId('join-choices').locator('button').count()).toBe(2);
    const stops = await tabTo(page, (f) => f.id === 'join-retry');
    expect(stops.at(-1)).toMatchObject({ id: 'join-retry', visible: true });
    await page.context().close();
  });

  it('dashboard: sign in and act with the keyboard alone; no serious violation with live participants and History; verdicts announced', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const dash = await ctx.newPage();
    await dash.goto(`${base}/dashboard/login`);
    const loginViolations = await auditPage(dash);
    expect(loginViolations, formatViolations(loginViolations)).toEqual([]);
    await tabTo(dash, (f) => f.id === 'password');
    await dash.keyboard.type('test-password');
    await dash.keyboard.press('Enter');
    await dash.waitForURL(`${base}/dashboard`, WAIT);
    await expect.poll(() => dash.getByTestId('feed-status').getAttribute('data-status'), WAIT).toBe('live');
    const room = dash.locator(`[data-testid="room"][data-room="${ROOM}"]`);
    await expect.poll(() => room.getByTestId('participant').count(), WAIT).toBe(2);

    // A change while the dashboard is open is announced with the participant and the room.
    publishVerdict(aliceId, 'Alice', verdict('suspicious', 0.62, 0.7));
    await expect.poll(() => dash.getByTestId('verdict-announcer-polite').locator('p').last().textContent(), WAIT).toBe(`Alice in room ${ROOM}: Suspicious (was Likely genuine).`);

    // Someone leaves: History gets an entry.
    const carol = await join('Carol');
    await expect.poll(() => room.getByTestId('participant').count(), WAIT).toBe(3);
    await carol.context().close();
    await expect.poll(() => dash.getByTestId('history-entry').count(), WAIT).toBe(1);

    const violations = await auditPage(dash);
    expect(violations, formatViolations(violations)).toEqual([]);

    // Keyboard only: Tab to "Challenge now" for Alice and press Enter; the API's answer shows.
    await dash.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const stops = await tabTo(dash, (f) => f.label === 'Challenge now Alice');
    expect(stops.filter((s) => !s.visible && s.id !== 'body'), 'every stop shows its focus').toEqual([]);
    await dash.keyboard.press('Enter');
    // No challenge module runs in this service: the typed error is what the operator gets.
    await expect.poll(() => dash.locator('[data-testid="toast"].error').getAttribute('data-code'), WAIT).toBe('ERR_MODEL_UNAVAILABLE');
    await dash.screenshot({ path: path.join(artifactsDir, 'a11y-dashboard.png') });
    await ctx.close();
  });

  it('call history list and call detail: no serious violation', async () => {
    if (!fs.existsSync(path.resolve('web-dist/calls.html')) || !fs.existsSync(path.resolve('web-dist/call.html'))) {
      console.warn('call history pages are not built: skipping their audit');
      return;
    }
    // A call that ended: one participant over signalling, joined and gone.
    const client = await TestSignallingClient.connect(service.port);
    const issued = service.issueToken(ENDED_ROOM, 'Zoë');
    expect((await client.request('join', { token: issued.token })).ok).toBe(true);
    const callId = service.registry.openCall(ENDED_ROOM)!.callId;
    service.publish(makeEvent('verdict', { roomId: ENDED_ROOM, peerId: issued.peer, displayName: 'Zoë', callId, models: [] }, verdict('suspicious', 0.66, 0.55)));
    client.close();
    await until(async () => service.history?.entry(callId)?.live, (live) => live === false, 'the call to end');

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    expect((await ctx.request.post(`${base}/v1/auth/login`, { data: { username: 'operator', password: 'test-password' } })).status()).toBe(200);
    const page = await ctx.newPage();
    await page.goto(`${base}/dashboard/calls`);
    const row = page.locator(`[data-testid="call-row"][data-call="${callId}"]`);
    await expect.poll(() => row.count(), WAIT).toBe(1);
    const listViolations = await auditPage(page);
    expect(listViolations, formatViolations(listViolations)).toEqual([]);

    await page.goto(`${base}/dashboard/call?id=${callId}`);
    await page.waitForFunction(() => document.body.dataset['status'] === 'ready', undefined, WAIT);
    const detailViolations = await auditPage(page);
    expect(detailViolations, formatViolations(detailViolations)).toEqual([]);
    await ctx.close();
  });
});
