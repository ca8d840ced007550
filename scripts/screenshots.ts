/**
 * `npm run screenshots`: the pictures in the README's "Using the dashboard", made by a
 * script rather than by hand. Starts the real service (embedded NATS, no analysis: the
 * verdicts shown are published as events, so every run shows the same states), drives
 * headless Chromium (playwright-core, fake camera and microphone) through each page state and
 * writes 1280x800 PNGs into docs/screenshots/:
 *
 *   meeting-joined.png        a two-person meeting, verdict badges, one badge explaining itself
 *   meeting-device-error.png  a browser with no camera or microphone: the message and the ways to join
 *   dashboard.png             live participants with timelines, alerts and the challenge log
 *   dashboard-history.png     the dashboard's History: who left, with their final state and models
 *   call-history.png          the list of calls (one live, one ended)
 *   call-detail.png           one ended call: the models its verdict rested on, timeline, challenge, decision
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { Service } from '../src/Service.js';
import { setLogLevel } from '../kernel/log.js';
import { makeEvent, type VerdictEvent } from '../events/schema.js';
import { parseManifest, verdictWeightFor, type Manifest } from '../detectors/registry/Manifest.js';
import { launchBrowser } from '../test/helpers/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'docs/screenshots');
const VIEWPORT = { width: 1280, height: 800 };
const MAX_BYTES = 200 * 1024;
const WAIT_MS = 30_000;
const PASSWORD = 'screenshots';

async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const shipped = new Map<string, Manifest>();
/** A shipped model's manifest in detectors/models (what this build's verdicts and scores name), read and checked once. */
function shippedManifest(id: string): Manifest {
  let m = shipped.get(id);
  if (!m) shipped.set(id, (m = parseManifest(JSON.parse(fs.readFileSync(path.join(root, 'detectors/models', id, 'manifest.json'), 'utf8')))));
  return m;
}
const shippedVersion = (id: string): string => shippedManifest(id).version;

/**
 * The models a verdict names after `speechSeconds` of speech (and as many seconds of video), counted as the pipeline
 * counts them with the default settings: a 2 s voice window every second, each scored by voice-antispoof and
 * embedded by speaker-embed, one in 8 by the voice-whisper stage; one face window of 5 frames per second.
 */
function modelsAfter(speechSeconds: number): VerdictEvent['models'] {
  const windows = Math.max(0, speechSeconds - 1);
  return [
    { id: 'voice-antispoof', version: shippedVersion('voice-antispoof'), windows },
    { id: 'voice-whisper', version: shippedVersion('voice-whisper'), windows: Math.floor(windows / 8) },
    { id: 'speaker-embed', version: shippedVersion('speaker-embed'), windows },
    { id: 'face-forgery', version: shippedVersion('face-forgery'), windows: speechSeconds },
  ];
}

function verdict(state: VerdictEvent['payload']['state'], pFake: number, confidence: number, speechSeconds: number, reason?: string): VerdictEvent['payload'] {
  return { state, pFake, confidence, evidence: { speechSeconds, faceFrames: speechSeconds * 5 }, quality: { packetLoss: 0 }, dropped: {}, ...(reason ? { reason } : {}) };
}

async function shoot(page: Page, name: string): Promise<void> {
  const file = path.join(outDir, name);
  await page.screenshot({ path: file });
  const bytes = fs.statSync(file).size;
  console.log(`${path.relative(root, file)}  ${Math.round(bytes / 1024)} kB${bytes > MAX_BYTES ? '  (over 200 kB)' : ''}`);
}

async function main(): Promise<void> {
  setLogLevel('warn');
  fs.mkdirSync(outDir, { recursive: true });
  const config = loadConfig({}, { host: '127.0.0.1', port: 0, numWorkers: 1, operatorPassword: PASSWORD, dataDir: '', sipPort: 0 });
  const service = await Service.start(config, { events: true, analysis: false });
  const base = `http://127.0.0.1:${service.port}`;
  const browsers: Browser[] = [];
  try {
    // Chromium's own fake camera and microphone (a test pattern and a beep): no local file names in the pictures.
    const browser = await launchBrowser();
    browsers.push(browser);
    const noDevices = await launchBrowser({ fakeDevices: false });
    browsers.push(noDevices);
    const newContext = (b: Browser = browser): Promise<BrowserContext> => b.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    const join = async (room: string, name: string): Promise<Page> => {
      const page = await (await newContext()).newPage();
      await page.goto(`${base}/meet?room=${room}&name=${encodeURIComponent(name)}&autojoin=1`);
      await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: WAIT_MS });
      return page;
    };
    const peerOf = (room: string, name: string): string => {
      const peer = [...(service.rooms.get(room)?.peers.values() ?? [])].find((p) => p.displayName === name);
      if (!peer) throw new Error(`${name} is not in ${room}`);
      return peer.id;
    };
    const envelope = (room: string, peerId: string, name: string) => ({ roomId: room, peerId, displayName: name, callId: service.registry.openCall(room)?.callId ?? '', models: [{ id: 'voice-antispoof', version: shippedVersion('voice-antispoof') }] });
    /** A verdict's envelope names every model that ran, with its windows (as the pipeline's verdicts do). */
    const publishVerdict = (env: ReturnType<typeof envelope>, payload: VerdictEvent['payload']): void => service.publish(makeEvent('verdict', { ...env, models: modelsAfter(payload.evidence.speechSeconds) }, payload));
    /** A detector score, as the analysis pipeline publishes one per speech window. */
    const score = (room: string, peerId: string, name: string, pFake: number, seq: number): void =>
      service.publish(makeEvent('score', envelope(room, peerId, name), { detector: 'voice-antispoof', pFake, evidence: 2, windowSeq: seq, queueMs: 2, inferenceMs: 2, weight: verdictWeightFor(shippedManifest('voice-antispoof').verdict, 'wideband') }));
    const sleepUntil = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
    const receivingVideo = (page: Page): Promise<unknown> =>
      page.waitForFunction(
        async () => {
          const m = (window as unknown as { dfdMeeting?: { stats(): Promise<{ inbound: { kind: string; framesDecoded?: number }[] }> } }).dfdMeeting;
          return ((await m?.stats())?.inbound ?? []).some((i) => i.kind === 'video' && (i.framesDecoded ?? 0) > 30);
        },
        undefined,
        { timeout: WAIT_MS, polling: 250 },
      );

    // The operator signs in first and watches everything that follows.
    const ops = await newContext();
    const login = await ops.request.post(`${base}/v1/auth/login`, { data: { username: config.operatorUser, password: PASSWORD } });
    if (login.status() !== 200) throw new Error(`operator sign-in failed: ${login.status()}`);
    const dash = await ops.newPage();
    await dash.goto(`${base}/dashboard`);
    await until('the live feed', () => dash.getByTestId('feed-status').getAttribute('data-status'), (s) => s === 'live');

    // Two calls: Alice and Bob in a stand-up, Carol alone in an interview.
    const alice = await join('standup', 'Alice');
    const bob = await join('standup', 'Bob');
    const carol = await join('interview', 'Carol');
    const aliceId = peerOf('standup', 'Alice');
    const bobId = peerOf('standup', 'Bob');
    const carolId = peerOf('interview', 'Carol');
    const carolCall = service.registry.openCall('interview')!.callId;
    await until('the badges on the live feed', () => service.feed.clients, (n) => n >= 4);

    // Someone whose browser has no camera or microphone at all.
    const lost = await (await newContext(noDevices)).newPage();
    await lost.goto(`${base}/meet?room=standup&name=Lena&autojoin=1`);
    await lost.waitForFunction(() => document.body.dataset['status'] === 'device-error', undefined, { timeout: WAIT_MS });
    await shoot(lost, 'meeting-device-error.png');
    await lost.context().close();
    await receivingVideo(alice);
    await receivingVideo(bob);

    // A minute of the call in real time (the charts span a minute): scores every 2 s, verdicts
    // as the evidence grows. Alice stays genuine, Bob's voice scores climb, Carol is challenged,
    // fails, the operator confirms and she hangs up.
    const challenge = { challengeId: 'ch-demo-1', challengeType: 'hum-melody', modality: 'audio' as const };
    const carolEnv = envelope('interview', carolId, 'Carol');
    const t0 = Date.now();
    for (let s = 0; s <= 60; s += 2) {
      score('standup', aliceId, 'Alice', 0.12 + 0.04 * Math.sin(s / 5), s);
      score('standup', bobId, 'Bob', Math.min(0.9, 0.3 + s / 90), s);
      if (s <= 48) score('interview', carolId, 'Carol', Math.min(0.95, 0.4 + s / 60), s);
      if (s === 6) {
        publishVerdict(envelope('standup', aliceId, 'Alice'), verdict('collecting', 0.14, 0.2, 3));
        publishVerdict(envelope('standup', bobId, 'Bob'), verdict('collecting', 0.35, 0.2, 3));
        publishVerdict(carolEnv, verdict('collecting', 0.42, 0.2, 3));
      }
      if (s === 20) publishVerdict(carolEnv, verdict('suspicious', 0.66, 0.55, 16, 'voice anti-spoofing score rising'));
      if (s === 22) service.publish(makeEvent('challenge', carolEnv, { ...challenge, phase: 'issued', trigger: 'suspicious', promptText: 'Hum the melody you hear.' }));
      if (s === 30) service.publish(makeEvent('challenge', carolEnv, { ...challenge, phase: 'outcome', outcome: 'failed', reason: 'pitch contour does not follow', measurements: { contourCorr: 0.12 } }));
      if (s === 32) publishVerdict(carolEnv, verdict('deepfake-likely', 0.91, 0.83, 26, 'failed challenge: hum-melody'));
      if (s === 34) publishVerdict(envelope('standup', bobId, 'Bob'), verdict('suspicious', 0.63, 0.61, 26, 'voice anti-spoofing score rising'));
      if (s === 40) publishVerdict(envelope('standup', aliceId, 'Alice'), verdict('likely-genuine', 0.11, 0.78, 32));
      if (s === 44) {
        const decision = await ops.request.post(`${base}/v1/rooms/interview/participants/${carolId}/decision`, { data: { decision: 'confirm', note: 'could not hum the melody' } });
        if (decision.status() !== 200) throw new Error(`decision failed: ${decision.status()}`);
      }
      if (s === 50) await carol.context().close();
      await sleepUntil(t0 + (s + 2) * 1000);
    }

    const bobBadge = alice.locator(`.tile[data-peer="${bobId}"] .dfd-badge`);
    await until("Bob's badge", () => bobBadge.getAttribute('data-state'), (s) => s === 'suspicious');
    await until("Alice's own badge", () => alice.locator('.tile[data-peer="me"] .dfd-badge').getAttribute('data-display'), (s) => s === 'likely-genuine');
    // Keyboard focus on Bob's badge: it explains itself.
    await bobBadge.focus();
    await shoot(alice, 'meeting-joined.png');

    await until('the interview call to end', () => service.history?.entry(carolCall)?.live, (live) => live === false);
    await until('Carol in History', () => dash.getByTestId('history-entry').count(), (n) => n === 1);
    await until('the ended room to leave the live list', () => dash.locator('[data-testid="room"][data-room="interview"]').count(), (n) => n === 0);
    await until('the timelines', () => dash.locator(`[data-testid="participant"][data-peer="${bobId}"] [data-testid="timeline"]`).getAttribute('data-points'), (p) => Number(p) >= 31);
    await dash.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await shoot(dash, 'dashboard.png');
    await dash.locator('#history-title').scrollIntoViewIfNeeded();
    await dash.evaluate(() => document.getElementById('history-title')?.scrollIntoView({ block: 'start' }));
    await shoot(dash, 'dashboard-history.png');

    // Call history and the ended call.
    await dash.goto(`${base}/dashboard/calls`);
    await until('the call list', () => dash.locator('[data-testid="call-row"]').count(), (n) => n >= 2);
    await shoot(dash, 'call-history.png');
    await dash.goto(`${base}/dashboard/call?id=${carolCall}`);
    await dash.waitForFunction(() => document.body.dataset['status'] === 'ready', undefined, { timeout: WAIT_MS });
    await shoot(dash, 'call-detail.png');

    await alice.context().close();
    await bob.context().close();
  } finally {
    for (const b of browsers) await b.close();
    await service.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
