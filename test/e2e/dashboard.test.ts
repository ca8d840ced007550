/**
 * End to end: the operator dashboard and the badge SDK in real headless Chromium against
 * the real service with events on (embedded nats-server). Participants join through the
 * meeting page with fake devices; verdict, score and challenge events are published with
 * `service.publish` and travel through NATS to the SSE feed, the path under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser, artifactsDir } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { makeEvent, type VerdictEvent } from '../../events/schema.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { Service } from '../../src/Service.js';

const ROOM = 'dash-e2e';
const BADGE_ROOM = 'badge-e2e';
const WAIT = { timeout: 20_000 };
/** The real pipeline on two shared cores: decode, VAD, face detection and inference take a while to warm up. */
const PIPELINE_WAIT = { timeout: 45_000 };

async function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    v = await fn();
  }
  return v;
}

function verdictPayload(state: VerdictEvent['payload']['state'], pFake: number, confidence: number, reason?: string): VerdictEvent['payload'] {
  return { state, pFake, confidence, evidence: { speechSeconds: 4, faceFrames: 30 }, quality: { packetLoss: 0 }, dropped: {}, ...(reason ? { reason } : {}) };
}

/** Console errors (a 404 such as a missing favicon is one) and uncaught page errors, per page. */
const consoleErrors = new Map<Page, string[]>();
function watchConsole(page: Page, name: string): Page {
  const errors: string[] = [];
  consoleErrors.set(page, errors);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${name}: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  return page;
}
const errorsOf = (...pages: Page[]): string[] => pages.flatMap((p) => consoleErrors.get(p) ?? []);

/** A dashboard page signed in as the operator (a context of its own, 1440x1000), its console watched. */
async function signedIn(browser: Browser, base: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const dash = watchConsole(await ctx.newPage(), 'dashboard');
  await dash.goto(`${base}/dashboard/login`);
  await dash.getByLabel('User name').fill('operator');
  await dash.getByLabel('Password').fill('test-password');
  await dash.getByRole('button', { name: 'Sign in' }).click();
  await dash.waitForURL(`${base}/dashboard`, WAIT);
  return dash;
}

async function join(browser: Browser, base: string, url: string): Promise<Page> {
  const page = watchConsole(await (await browser.newContext()).newPage(), url);
  await page.goto(`${base}${url}`);
  await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, WAIT);
  return page;
}

describe('operator dashboard and badge SDK (real Chromium, real NATS)', () => {
  let service: Service;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    if (!fs.existsSync(path.resolve('web-dist/dashboard.html'))) throw new Error('web-dist is not built (run node scripts/build-web.mjs)');
    // Analysis off: this file drives verdicts itself so every assertion is exact; the
    // pipeline's own events take the same publish -> NATS -> SSE path.
    service = await startTestService({}, { events: true, analysis: false });
    base = `http://127.0.0.1:${service.port}`;
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
    fs.mkdirSync(artifactsDir, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('signed out: /dashboard redirects to the login page and the API answers 401 ERR_TOKEN_INVALID', async () => {
    const api = await fetch(`${base}/v1/rooms`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('ERR_TOKEN_INVALID');
    const stream = await fetch(`${base}/v1/stream`);
    expect(stream.status).toBe(401);

    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const error = page.getByTestId('login-error');
    await expect.poll(() => error.getAttribute('data-code'), WAIT).toBe('ERR_TOKEN_INVALID');
    expect(await error.textContent()).toContain('ERR_TOKEN_INVALID');
    await page.screenshot({ path: path.join(artifactsDir, 'dashboard-login-error.png') });
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.context().close();
  });

  it('shows live rooms, participants, badges, timelines, alerts and the challenge log; actions reach the API', async () => {
    const dash = await signedIn(browser, base);
    const ctx = dash.context();
    await expect.poll(() => dash.getByTestId('feed-status').getAttribute('data-status'), WAIT).toBe('live');
    expect(await dash.getByTestId('operator').textContent()).toBe('operator');

    const alice = await join(browser, base, `/meet?room=${ROOM}&name=Alice&autojoin=1`);
    const bob = await join(browser, base, `/meet?room=${ROOM}&name=Bob&autojoin=1`);

    const room = dash.locator(`[data-testid="room"][data-room="${ROOM}"]`);
    await expect.poll(() => room.getByTestId('participant').count(), WAIT).toBe(2);
    expect((await room.getByTestId('participant-name').allTextContents()).sort()).toEqual(['Alice', 'Bob']);
    expect(await room.getByTestId('presence').allTextContents()).toEqual(['in call', 'in call']);
    expect(await room.getByTestId('badge').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset['state']))).toEqual(['collecting', 'collecting']);
    expect(await room.getByTestId('badge-label').allTextContents()).toEqual(['Not enough evidence yet', 'Not enough evidence yet']);
    // Every page loaded without a console error (no 404 for the favicon or anything else).
    expect(errorsOf(dash, alice, bob)).toEqual([]);
    for (const icon of ['/favicon.ico', '/web/favicon.svg']) {
      const r = await fetch(`${base}${icon}`);
      expect(r.status, icon).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/svg+xml');
    }
    expect(await dash.locator('link[rel="icon"]').getAttribute('href')).toBe('/web/favicon.svg');
    expect(await alice.locator('link[rel="icon"]').getAttribute('href')).toBe('/web/favicon.svg');

    const call = service.registry.openCall(ROOM)!;
    const peers = [...call.participants.values()];
    const aliceId = peers.find((p) => p.displayName === 'Alice')!.peerId;
    const bobId = peers.find((p) => p.displayName === 'Bob')!.peerId;
    const baseOf = (peerId: string, displayName: string) => ({ roomId: ROOM, peerId, displayName, callId: call.callId, models: [{ id: 'fusion', version: 'test' }] });
    const card = (peerId: string) => room.locator(`[data-testid="participant"][data-peer="${peerId}"]`);
    const points = async (peerId: string) => Number(await card(peerId).getByTestId('timeline').getAttribute('data-points'));

    const now = Date.now();
    const at = (s: number) => new Date(now + s * 1000);
    const score = (peerId: string, name: string, detector: string, pFake: number, s: number) =>
      makeEvent('score', baseOf(peerId, name), { detector, pFake, evidence: 1, windowSeq: s, queueMs: 2, inferenceMs: 40 }, at(s));
    for (let s = 0; s < 4; s++) {
      service.publish(score(aliceId, 'Alice', 'voice-antispoof', 0.1 + 0.02 * s, s));
      service.publish(score(aliceId, 'Alice', 'face-forgery', 0.15, s));
      service.publish(score(bobId, 'Bob', 'voice-antispoof', 0.5 + 0.1 * s, s));
      service.publish(score(bobId, 'Bob', 'face-forgery', 0.6 + 0.08 * s, s));
    }
    // Weak evidence is never shown as a reassurance: likely-genuine at P(fake) 49 %, confidence 30 %.
    service.publish(makeEvent('verdict', baseOf(aliceId, 'Alice'), verdictPayload('likely-genuine', 0.49, 0.3), at(1)));
    await expect.poll(() => card(aliceId).getByTestId('badge').getAttribute('data-display'), WAIT).toBe('not-enough-evidence');
    expect(await card(aliceId).getByTestId('badge-label').textContent()).toBe('Not enough evidence yet');
    expect(await card(aliceId).getByTestId('badge').getAttribute('data-state')).toBe('likely-genuine');
    expect(await card(aliceId).getByTestId('verdict-detail').textContent()).toContain('evidence is still thin');
    service.publish(makeEvent('verdict', baseOf(aliceId, 'Alice'), verdictPayload('likely-genuine', 0.12, 0.7), at(2)));
    service.publish(makeEvent('verdict', baseOf(bobId, 'Bob'), verdictPayload('suspicious', 0.58, 0.5), at(2)));
    // Bob's last verdict names the models that ran, one of them thinned under load.
    const bobModels = [
      { id: 'voice-antispoof', version: 'test', windows: 12 },
      { id: 'face-forgery', version: 'test', windows: 30, dropped: 4 },
    ];
    service.publish(makeEvent('verdict', { ...baseOf(bobId, 'Bob'), models: bobModels }, verdictPayload('deepfake-likely', 0.91, 0.84, 'voice and face detectors agree'), at(4)));

    await expect.poll(() => card(aliceId).getByTestId('badge').getAttribute('data-display'), WAIT).toBe('likely-genuine');
    expect(await card(aliceId).getByTestId('badge-label').textContent()).toBe('Likely genuine');
    await expect.poll(() => card(bobId).getByTestId('badge').getAttribute('data-state'), WAIT).toBe('deepfake-likely');
    // Icon and text, never colour alone; the badge is described by the explanation under it.
    expect(await card(bobId).getByTestId('badge').textContent()).toBe('✕ Deepfake likely');
    const bobDetail = card(bobId).getByTestId('verdict-detail');
    expect(await card(bobId).getByTestId('badge').getAttribute('aria-describedby')).toBe(await bobDetail.getAttribute('id'));
    expect(await bobDetail.textContent()).toContain('voice and face detectors agree');
    // 8 scores + 2 verdicts x (pFake, confidence) for each.
    await expect.poll(() => points(bobId), WAIT).toBe(12);
    await expect.poll(() => points(aliceId), WAIT).toBe(12);
    expect(await card(bobId).locator('[data-testid="timeline"] canvas').count()).toBe(1);
    expect(await card(bobId).locator('.u-legend .u-series .u-label').allTextContents()).toEqual(['P(fake) verdict', 'confidence', 'face-forgery', 'voice-antispoof']);
    expect(await card(bobId).getByTestId('numbers').textContent()).toBe('P(fake) 91% · confidence 84%');

    const alerts = dash.getByTestId('alerts').getByTestId('alert');
    await expect.poll(() => alerts.count(), WAIT).toBe(2);
    expect(await alerts.evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset['peer']}:${(e as HTMLElement).dataset['value']}`))).toEqual([
      `${bobId}:deepfake-likely`,
      `${bobId}:suspicious`,
    ]);
    expect(await alerts.first().textContent()).toContain('Bob');

    const challenge = (phase: 'issued' | 'outcome', s: number, outcome?: 'failed') =>
      makeEvent(
        'challenge',
        baseOf(bobId, 'Bob'),
        {
          challengeId: 'ch-e2e-1',
          challengeType: 'read-digits',
          modality: 'audio',
          phase,
          ...(outcome ? { outcome, measurements: { werDigits: 0.8 } } : { trigger: 'weak-evidence' as const, basis: { pFake: 0.562, threshold: 0.55, family: 'wideband' as const } }),
        },
        at(s),
      );
    service.publish(challenge('issued', 5));
    service.publish(challenge('outcome', 9, 'failed'));
    const log = dash.getByTestId('challenge-log').getByTestId('challenge-entry');
    await expect.poll(() => log.count(), WAIT).toBe(2);
    expect(await log.evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset['phase']}:${(e as HTMLElement).dataset['outcome']}`))).toEqual(['outcome:failed', 'issued:']);
    // why it was started, as the issued event says
    expect(await log.nth(1).getByTestId('challenge-trigger').textContent()).toBe(' · weak-evidence (pFake 0.56 ≥ 0.55)');
    await expect.poll(() => dash.locator('[data-testid="alert"][data-kind="challenge"][data-value="failed"]').count(), WAIT).toBe(1);

    // "Challenge now": no challenge module is attached in this service, so the API's typed error must be visible.
    await card(aliceId).getByRole('button', { name: 'Challenge now Alice' }).click();
    const errorToast = dash.locator('[data-testid="toast"].error');
    await expect.poll(() => errorToast.getAttribute('data-code'), WAIT).toBe('ERR_MODEL_UNAVAILABLE');
    expect(await errorToast.textContent()).toContain('ERR_MODEL_UNAVAILABLE');

    // "Dismiss" on Bob: a decision event through NATS, visible in the API and on the card.
    await card(bobId).getByRole('button', { name: 'Dismiss Bob' }).click();
    const login = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
    const { token } = (await login.json()) as { token: string };
    const decisions = await until(
      async () => {
        const r = await fetch(`${base}/v1/rooms/${ROOM}/participants/${bobId}`, { headers: { authorization: `Bearer ${token}` } });
        return ((await r.json()) as { decisions: { decision: string; tagState: string; operator: string }[] }).decisions;
      },
      (d) => d.length > 0,
    );
    expect(decisions).toEqual([expect.objectContaining({ decision: 'dismiss', tagState: 'deepfake-likely', operator: 'operator' })]);
    await expect.poll(() => card(bobId).getByTestId('decision').getAttribute('data-decision'), WAIT).toBe('dismiss');
    await dash.screenshot({ path: path.join(artifactsDir, 'dashboard-live.png'), fullPage: true });

    // Bob leaves: his live card goes (with its buttons); History keeps his final state and the decision.
    await bob.context().close();
    const history = dash.getByTestId('history').getByTestId('history-entry');
    const bobGone = dash.locator(`[data-testid="history-entry"][data-peer="${bobId}"]`);
    await expect.poll(() => bobGone.count(), WAIT).toBe(1);
    expect(await card(bobId).count()).toBe(0);
    expect(await bobGone.getAttribute('data-state')).toBe('deepfake-likely');
    expect(await bobGone.getAttribute('data-ended')).toBe('left');
    expect(await bobGone.getByTestId('badge-label').textContent()).toBe('Deepfake likely');
    expect(await bobGone.getByTestId('decision').getAttribute('data-decision')).toBe('dismiss');
    expect(await bobGone.getByTestId('coverage').textContent()).toBe('Analysed by voice-antispoof test (12 windows), face-forgery test (30 windows, 4 dropped under load)');
    expect(await bobGone.getByTestId('coverage').getAttribute('data-dropped')).toBe('4');
    expect(await bobGone.getByRole('button').count()).toBe(0);
    expect(await dash.getByTestId('no-history').isVisible()).toBe(false);

    // Bob joins again (a new session under the same name) and leaves again: one live card while he is in, none after.
    const bob2 = await join(browser, base, `/meet?room=${ROOM}&name=Bob&autojoin=1`);
    const liveBobs = room.locator('[data-testid="participant"]', { has: dash.getByTestId('participant-name').getByText('Bob', { exact: true }) });
    await expect.poll(() => liveBobs.count(), WAIT).toBe(1);
    expect(await history.count()).toBe(1);
    await bob2.context().close();
    await expect.poll(() => history.count(), WAIT).toBe(2);
    expect(await liveBobs.count()).toBe(0);
    expect(await room.getByTestId('participant').count()).toBe(1);
    expect(await dash.getByTestId('history').getByRole('button').count()).toBe(0);
    await dash.screenshot({ path: path.join(artifactsDir, 'dashboard-history.png'), fullPage: true });

    // Sign out ends the session: back to the login page, and /dashboard redirects again.
    await dash.getByTestId('sign-out').click();
    await dash.waitForURL(`${base}/dashboard/login`, WAIT);
    await dash.goto(`${base}/dashboard`);
    expect(new URL(dash.url()).pathname).toBe('/dashboard/login');
    await alice.context().close();
    await ctx.close();
  });

  it('the calibration panel lists a tenant calibration with its evidence, rolls it back, and says why a refit is refused', async () => {
    const dash = await signedIn(browser, base);
    const ctx = dash.context();
    // A version as a refit on any node stores it (the round trip itself: test/e2e/tenant-calibration.test.ts).
    const group = { detector: 'voice-antispoof', channel: 'telephone' as const, status: 'applied' as const, counts: { fake: 40, genuine: 68 }, a: 0.8, b: -0.4, atBound: false, cllr: { shipped: 0.91, heldOut: 0.62 }, folds: 5 };
    await service.calibration!.store.put({
      tenant: 'acme',
      version: 1,
      createdAt: new Date().toISOString(),
      createdBy: 'alice',
      action: 'refit',
      entries: [{ detector: 'voice-antispoof', channel: 'telephone', a: 0.8, b: -0.4 }],
      evidence: { decisions: 120, labelled: { fake: 40, genuine: 70 }, unlabelled: 10, withoutScores: 2, superseded: 0, groups: [group], guardrails: { minPerClass: 30, maxScale: 2, maxShift: 1.5, minGainBits: 0.02, priorCalls: 1, folds: 5, minEvidence: 2 } },
    });
    await dash.reload();
    const acme = dash.locator('[data-testid="calibration"][data-tenant="acme"]');
    await expect.poll(() => acme.getAttribute('data-version'), WAIT).toBe('1');
    expect(await acme.textContent()).toContain("Cllr 0.91 -> 0.62 bits held out, z' = 0.80 z - 0.40");
    await acme.getByTestId('calibration-rollback').click();
    await expect.poll(() => acme.getAttribute('data-version'), WAIT).toBe('2');
    expect(await dash.getByTestId('calibration-status').textContent()).toBe('acme: Version 2, rolled back to the shipped calibration by operator: shipped calibration.');
    expect(service.calibration!.store.current('acme')).toMatchObject({ version: 2, entries: [] });
    // A tenant without decisions: the refit is refused and the panel says why.
    await dash.getByTestId('calibration-tenant').fill('globex');
    await dash.getByRole('button', { name: 'Refit from decisions' }).click();
    await expect.poll(() => dash.getByTestId('calibration-status').getAttribute('data-code'), WAIT).toBe('ERR_CALIBRATION_REJECTED');
    expect(await dash.getByTestId('calibration-status').textContent()).toContain('globex: Refit refused (no decided call of this tenant carries call-level scores)');
    await dash.screenshot({ path: path.join(artifactsDir, 'dashboard-calibration.png'), fullPage: true });
    // The browser logs the refused refit's 422 itself; nothing else went wrong.
    expect(errorsOf(dash).filter((e) => !e.includes('status of 422'))).toEqual([]);
    await ctx.close();
  });

  it('the badge SDK on the meeting page follows its participant\'s verdicts', async () => {
    const carolJoin = service.issueToken(BADGE_ROOM, 'Carol');
    const page = await join(browser, base, `/meet?room=${BADGE_ROOM}&name=Carol&token=${encodeURIComponent(carolJoin.token)}&autojoin=1`);
    const call = service.registry.openCall(BADGE_ROOM)!;
    const carol = { roomId: BADGE_ROOM, peerId: carolJoin.peer, displayName: 'Carol', callId: call.callId, models: [] };
    // A verdict before the badge mounts reaches it through the stream's snapshot.
    service.publish(makeEvent('verdict', carol, verdictPayload('suspicious', 0.6, 0.4)));
    await until(
      () => service.registry.participant(BADGE_ROOM, carolJoin.peer)?.verdict?.state,
      (s) => s === 'suspicious',
    );

    // The meeting page mounts the badge SDK itself (one badge per tile, its own included).
    await until(
      () => service.feed.clients,
      (n) => n > 0,
    );
    const badge = page.locator('.tile[data-peer="me"] .dfd-badge');
    await expect.poll(() => badge.getAttribute('data-state'), WAIT).toBe('suspicious');

    // Someone else's verdict in the same room does not touch Carol's badge; hers does.
    service.publish(makeEvent('verdict', { ...carol, peerId: 'p-other', displayName: 'Other' }, verdictPayload('verified', 0.02, 0.99)));
    service.publish(makeEvent('verdict', carol, verdictPayload('deepfake-likely', 0.95, 0.9, 'lip-sync mismatch')));
    await expect.poll(() => badge.getAttribute('data-state'), WAIT).toBe('deepfake-likely');
    expect(await badge.textContent()).toBe('✕ Deepfake likely');
    const title = await badge.getAttribute('title');
    expect(title).toContain('P(fake) 95%, confidence 90%');
    expect(title).toContain('lip-sync mismatch');
    expect(title).toContain('4 s of speech and 30 face frames');
    expect(await badge.count()).toBe(1);

    // The badge explains itself on hover and on keyboard focus (state, evidence, what would change it).
    const tip = page.locator('.tile[data-peer="me"] .dfd-badge-detail');
    expect(await badge.getAttribute('aria-describedby')).toBe(await tip.getAttribute('id'));
    expect(await tip.isVisible()).toBe(false);
    await badge.hover();
    await expect.poll(() => tip.isVisible(), WAIT).toBe(true);
    expect(await tip.textContent()).toBe(title);
    await page.mouse.move(0, 0);
    await expect.poll(() => tip.isVisible(), WAIT).toBe(false);
    await badge.focus();
    await expect.poll(() => tip.isVisible(), WAIT).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => tip.isVisible(), WAIT).toBe(false);

    // The meeting page uses the same honest wording: weak evidence is not "Likely genuine".
    service.publish(makeEvent('verdict', carol, verdictPayload('likely-genuine', 0.49, 0.3)));
    await expect.poll(() => badge.getAttribute('data-display'), WAIT).toBe('not-enough-evidence');
    expect(await badge.textContent()).toBe('… Not enough evidence yet');
    await page.screenshot({ path: path.join(artifactsDir, 'dashboard-badge-sdk.png') });
    await page.context().close();
  });
});

describe('dashboard fed by the real analysis pipeline', () => {
  let service: Service;
  let browser: Browser;
  let modelsDir: string;

  beforeAll(async () => {
    // Small real ONNX detectors built by the test set-up (as in pipeline.test.ts).
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, audioHopSec: 1, audioWindowSec: 2 }, { events: true, analysis: true });
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.faceY4m });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('a speaking participant\'s detector scores and verdicts reach the dashboard chart and badge', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const login = await ctx.request.post(`${base}/v1/auth/login`, { data: { username: 'operator', password: 'test-password' } });
    expect(login.status()).toBe(200);
    const dash = await ctx.newPage();
    await dash.goto(`${base}/dashboard`);
    expect(new URL(dash.url()).pathname).toBe('/dashboard');

    await join(browser, base, '/meet?room=dash-pipe&name=Talker&autojoin=1');
    const talker = dash.locator('[data-testid="room"][data-room="dash-pipe"] [data-testid="participant"]');
    await expect.poll(() => talker.count(), WAIT).toBe(1);
    const timeline = talker.getByTestId('timeline');
    await expect.poll(async () => Number(await timeline.getAttribute('data-points')), PIPELINE_WAIT).toBeGreaterThan(0);
    await expect.poll(() => timeline.locator('.u-legend .u-series .u-label').allTextContents(), PIPELINE_WAIT).toEqual(expect.arrayContaining(['test-voice', 'test-face']));
    await expect.poll(() => talker.getByTestId('badge').getAttribute('data-state'), PIPELINE_WAIT).not.toBe('collecting');
    // The verdict says which models analysed the talker and how many windows each scored.
    await expect.poll(() => talker.getByTestId('coverage').textContent(), PIPELINE_WAIT).toMatch(/^Analysed by .*test-voice \S+ \(\d+ windows?/);
    expect(await talker.getByTestId('coverage').isVisible()).toBe(true);
    await dash.screenshot({ path: path.join(artifactsDir, 'dashboard-pipeline.png'), fullPage: true });
    await ctx.close();
  }, 150_000);
});
