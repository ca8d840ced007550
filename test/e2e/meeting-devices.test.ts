/**
 * End to end: the meeting page when devices fail, the device picker and the automatic
 * rejoin, in real headless Chromium against the real service (real mediasoup, real
 * signalling, embedded NATS for the badges' live verdicts).
 *
 * - A Chromium with no camera or microphone at all (no fake devices) gets the specific
 *   message within seconds and joins listen-only with the keyboard; a fake-device participant
 *   sees it as a listener, and the listener sees and hears them, with badges and a spoken
 *   (live region) verdict change.
 * - A Chromium whose camera permission is refused (only the microphone granted) shows the
 *   permission hint while asking, names the camera and joins with audio only.
 * - The microphone picker swaps the producer's track (replaceTrack: same producer).
 * - Closing the signalling socket from the page shows "Reconnecting…" and the page rejoins;
 *   after the service's shutdown notice it does not.
 * Every wait is a DOM condition or a poll against a deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser, artifactsDir } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { makeEvent } from '../../events/schema.js';
import type { Service } from '../../src/Service.js';
import type { MediaTap } from '../../sfu/MediaTap.js';

const ROOM = 'devices-e2e';
const WAIT = { timeout: 20_000 };

/** Records every `body[data-status]` value (with the hint and notice shown) from the first script on. */
const recordStatuses = (): void => {
  const seen: string[] = [];
  (window as unknown as { dfdStatuses: string[] }).dfdStatuses = seen;
  // The document node exists before any script of the page runs; body does not yet.
  new MutationObserver((records) => {
    if (!records.some((r) => r.target === document.body)) return;
    const s = document.body.dataset['status'] ?? '';
    const hint = document.querySelector('[data-testid="setup"]:not([hidden]) [data-testid="setup-title"]')?.textContent ?? '';
    const notice = document.querySelector('[data-testid="notice"]:not([hidden])')?.textContent ?? '';
    seen.push([s, hint, notice].join('|'));
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
};
const statuses = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { dfdStatuses: string[] }).dfdStatuses);

async function open(context: BrowserContext, url: string): Promise<Page> {
  await context.addInitScript(recordStatuses);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

const statusIs = (page: Page, status: string, timeout = WAIT.timeout): Promise<unknown> =>
  page.waitForFunction((s) => document.body.dataset['status'] === s, status, { timeout });

interface Stats {
  inbound: { kind: string; packetsReceived?: number; framesDecoded?: number; totalSamplesReceived?: number }[];
  outbound: { kind: string; packetsSent?: number }[];
}
const stats = (page: Page): Promise<Stats> =>
  page.evaluate(async () => {
    const m = (window as unknown as { dfdMeeting?: { stats(): Promise<unknown> } }).dfdMeeting;
    return (m ? await m.stats() : { inbound: [], outbound: [] }) as Stats;
  });
const receivesBoth = (s: Stats): boolean =>
  s.inbound.some((i) => i.kind === 'audio' && (i.totalSamplesReceived ?? 0) > 24000) && s.inbound.some((i) => i.kind === 'video' && (i.framesDecoded ?? 0) > 5);

async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, what: string, timeoutMs = WAIT.timeout): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('meeting page: device problems, device picker, reconnect (real Chromium, real service)', () => {
  let service: Service;
  let noDevices: Browser;
  let withDevices: Browser;
  let askFirst: Browser;
  let base: string;
  let alice: Page;
  let listener: Page;

  const producersOf = (name: string): { kind: string; id: string }[] => {
    const peer = [...(service.rooms.get(ROOM)?.peers.values() ?? [])].find((p) => p.displayName === name);
    return [...(peer?.producers.values() ?? [])].map((p) => ({ kind: p.kind, id: p.id }));
  };
  const peerIdOf = (name: string): string | undefined => [...(service.rooms.get(ROOM)?.peers.values() ?? [])].find((p) => p.displayName === name)?.id;

  beforeAll(async () => {
    service = await startTestService({}, { events: true, analysis: false });
    base = `http://127.0.0.1:${service.port}`;
    noDevices = await launchBrowser({ fakeDevices: false });
    withDevices = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
    askFirst = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m, autoAllow: false });
    fs.mkdirSync(artifactsDir, { recursive: true });
  });

  afterAll(async () => {
    for (const b of [noDevices, withDevices, askFirst]) await b?.close();
    await service?.close();
  });

  it('no camera or microphone: a specific message within seconds, then listen-only, seen by others as a listener', async () => {
    listener = await open(await noDevices.newContext(), `${base}/meet?room=${ROOM}&name=Lena&autojoin=1`);
    await statusIs(listener, 'device-error', 10_000);
    expect(await listener.getByTestId('setup-title').textContent()).toBe('No camera or microphone was found.');
    expect(await listener.getByTestId('setup-detail').textContent()).toContain('listen only');
    const choices = listener.getByTestId('join-choices').getByRole('button');
    expect(await choices.allTextContents()).toEqual(['Listen only', 'Try again']);
    // Keyboard first: focus is on the first way in, Enter takes it.
    expect(await listener.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['testid'])).toBe('join-listen-only');
    await listener.screenshot({ path: path.join(artifactsDir, 'meeting-no-devices.png') });
    await listener.keyboard.press('Enter');
    await statusIs(listener, 'joined');
    expect(await listener.getByTestId('status').textContent()).toBe('joined, listening only');
    expect(await listener.locator('.tile[data-peer="me"]').getAttribute('data-media')).toBe('listen-only');
    expect(producersOf('Lena')).toEqual([]);
    expect(await listener.getByTestId('pick-audio').isDisabled()).toBe(true);

    alice = await open(await withDevices.newContext(), `${base}/meet?room=${ROOM}&name=Alice&autojoin=1`);
    await statusIs(alice, 'joined');
    const lenaId = peerIdOf('Lena')!;
    // Alice sees Lena as a listener: a tile that says so, and no media from her.
    const lenaTile = alice.locator(`.tile[data-peer="${lenaId}"]`);
    await expect.poll(() => lenaTile.getAttribute('data-media'), WAIT).toBe('listen-only');
    expect(await lenaTile.getByTestId('tile-media').textContent()).toBe('Listening only (no camera or microphone)');
    expect(await lenaTile.locator('.dfd-badge').count()).toBe(1);

    // Lena sees and hears Alice, with Alice's badge, and hears verdict changes in the live region.
    await until(() => stats(listener), receivesBoth, 'Lena receiving audio and video', 30_000);
    const aliceId = peerIdOf('Alice')!;
    const aliceTile = listener.locator(`.tile[data-peer="${aliceId}"]`);
    expect(await aliceTile.getAttribute('data-media')).toBe('audio-video');
    await until(() => service.feed.clients, (n) => n >= 2, 'both pages on the live feed');
    const call = service.registry.openCall(ROOM)!;
    service.publish(
      makeEvent('verdict', { roomId: ROOM, peerId: aliceId, displayName: 'Alice', callId: call.callId, models: [] }, {
        state: 'deepfake-likely',
        pFake: 0.93,
        confidence: 0.85,
        evidence: { speechSeconds: 14, faceFrames: 60 },
        quality: { packetLoss: 0 },
        dropped: {},
      }),
    );
    await expect.poll(() => aliceTile.locator('.dfd-badge').getAttribute('data-state'), WAIT).toBe('deepfake-likely');
    await expect.poll(() => listener.getByTestId('verdict-announcer-assertive').locator('p').last().textContent(), WAIT).toBe('Alice: Deepfake likely.');
    // The badge itself stays quiet (the page names who changed); it is not a second live region.
    expect(await aliceTile.locator('.dfd-badge').getAttribute('aria-live')).toBe('off');
    await listener.screenshot({ path: path.join(artifactsDir, 'meeting-listen-only.png') });
  });

  it('permission prompts: the hint while the browser asks; a refused camera is named and audio only offered', async () => {
    // Nothing granted yet: the page shows the hint while the browser asks (headless Chromium then refuses both).
    const asked = await open(await askFirst.newContext(), `${base}/meet?room=${ROOM}&name=Dora&autojoin=1`);
    await statusIs(asked, 'device-error', 10_000);
    const askedSeen = await statuses(asked);
    expect(askedSeen[0]).toBe("awaiting-permission|Allow camera and microphone access in your browser's prompt|");
    expect(askedSeen.some((s) => s.startsWith('joining'))).toBe(false);
    expect(await asked.getByTestId('setup-title').textContent()).toBe('Camera and microphone access is blocked for this page.');
    expect(await asked.getByTestId('setup-detail').textContent()).toContain('site settings');
    expect(await asked.getByTestId('join-choices').getByRole('button').allTextContents()).toEqual(['Listen only', 'Try again']);
    await asked.context().close();

    // The microphone allowed and the camera refused (no prompt left to answer: no hint).
    const context = await askFirst.newContext();
    await context.grantPermissions(['microphone'], { origin: base });
    const bob = await open(context, `${base}/meet?room=${ROOM}&name=Bob&autojoin=1`);
    await statusIs(bob, 'device-error', 10_000);
    expect((await statuses(bob))[0]).toBe('starting-media||');
    expect(await bob.getByTestId('setup-title').textContent()).toBe('Camera access is blocked for this page.');
    expect(await bob.getByTestId('join-choices').getByRole('button').allTextContents()).toEqual(['Join with audio only', 'Listen only', 'Try again']);
    await bob.getByRole('button', { name: 'Join with audio only' }).click();
    await statusIs(bob, 'joined');
    expect(await bob.getByTestId('status').textContent()).toBe('joined with audio only');
    expect(producersOf('Bob').map((p) => p.kind)).toEqual(['audio']);
    const bobId = peerIdOf('Bob')!;
    await expect.poll(() => alice.locator(`.tile[data-peer="${bobId}"]`).getAttribute('data-media'), WAIT).toBe('audio-only');
    await bob.context().close();
    await expect.poll(() => alice.locator(`.tile[data-peer="${bobId}"]`).count(), WAIT).toBe(0);
  });

  it('the microphone picker sends another device through the same producer (replaceTrack)', async () => {
    const picker = alice.getByTestId('pick-audio');
    expect(await picker.isDisabled()).toBe(false);
    const options = await picker.locator('option').evaluateAll((els) => els.map((e) => ({ value: (e as HTMLOptionElement).value, label: e.textContent ?? '' })));
    expect(options.length).toBeGreaterThan(1);
    const current = await picker.inputValue();
    const other = options.find((o) => o.value !== current && o.value !== 'default')!;
    const before = producersOf('Alice');
    expect(before.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    await picker.selectOption(other.value);
    const sentLabel = () =>
      alice.evaluate(() => {
        const m = (window as unknown as { dfdMeeting: { producers: Map<string, { kind: string; track: MediaStreamTrack | null }> } }).dfdMeeting;
        return [...m.producers.values()].find((p) => p.kind === 'audio')?.track?.label;
      });
    await expect.poll(sentLabel, WAIT).toBe(other.label);
    expect(await picker.inputValue()).toBe(other.value);
    // Same producers on the server: the track was replaced, nothing renegotiated.
    expect(producersOf('Alice')).toEqual(before);
    const sent = async () => (await stats(alice)).outbound.find((o) => o.kind === 'audio')?.packetsSent ?? 0;
    const at = await sent();
    await until(sent, (n) => n > at + 25, 'audio still flowing after the switch');
  });

  it('a microphone track without the noise suppressor goes out as a new producer that says so', async () => {
    // The service calibrates voice detectors by whether the sender's noise suppressor runs (signalling `produce`
    // noiseSuppression), a property of the producer: a track that differs cannot be swapped into the old one.
    const taps: MediaTap[] = [];
    const onTap = (tap: MediaTap): void => void taps.push(tap);
    service.rooms.on('tapopen', onTap);
    try {
      const audioOf = () => producersOf('Alice').filter((p) => p.kind === 'audio');
      const before = audioOf();
      expect(before).toHaveLength(1);
      const said = await alice.evaluate(async () => {
        const track = (await navigator.mediaDevices.getUserMedia({ audio: { noiseSuppression: false } })).getAudioTracks()[0]!;
        await (window as unknown as { dfdMeeting: { replaceTrack(t: MediaStreamTrack): Promise<boolean> } }).dfdMeeting.replaceTrack(track);
        return track.getSettings().noiseSuppression;
      });
      expect(said).toBe(false);
      const [now] = await until(audioOf, (a) => a.length === 1 && a[0]!.id !== before[0]!.id, 'a new audio producer');
      const tap = await until(() => taps.find((t) => t.info.producerId === now!.id), (t) => t !== undefined, 'its tap');
      expect(tap!.info.senderNoiseSuppression).toBeUndefined(); // scored with the unsuppressed (wideband) calibration
      expect(tap!.info.gatewayLeg).toBeUndefined(); // a browser's leg, weighed as one (not as an Opus SIP leg)
      // every audio sender's count (the closed producer's may linger in the report, frozen)
      const sent = async () => (await stats(alice)).outbound.filter((o) => o.kind === 'audio').reduce((n, o) => n + (o.packetsSent ?? 0), 0);
      const at = await sent();
      await until(sent, (n) => n > at + 25, 'audio flowing through the new producer');
    } finally {
      service.rooms.off('tapopen', onTap);
    }
  });

  it('a dropped signalling socket shows "Reconnecting…" and the page rejoins on its own', async () => {
    const aliceId = peerIdOf('Alice')!;
    await alice.evaluate(() => (window as unknown as { dfdStatuses: string[] }).dfdStatuses.splice(0));
    // Close the socket under the page, as a network drop would: the page did not ask to leave.
    await alice.evaluate(() => (window as unknown as { dfdMeeting: { signalling: { close(): void } } }).dfdMeeting.signalling.close());
    await alice.waitForFunction(
      () => {
        const seen = (window as unknown as { dfdStatuses: string[] }).dfdStatuses;
        return seen.some((s) => s.startsWith('reconnecting')) && seen.at(-1)?.startsWith('joined') === true;
      },
      undefined,
      WAIT,
    );
    const seen = await statuses(alice);
    expect(seen[0]).toBe('reconnecting||The connection to the meeting was lost. Reconnecting…');
    expect(seen.at(-1)).toBe('joined||');
    expect(await alice.getByTestId('notice').isHidden()).toBe(true);
    // Same participant again (same token), sending both kinds; media flows both ways again.
    expect(peerIdOf('Alice')).toBe(aliceId);
    await until(() => producersOf('Alice').map((p) => p.kind).sort().join(), (k) => k === 'audio,video', 'Alice producing again');
    await until(() => stats(listener), (s) => s.inbound.some((i) => i.kind === 'video' && (i.framesDecoded ?? 0) > 5), 'Lena receiving Alice again', 30_000);
    await expect.poll(() => listener.locator(`.tile[data-peer="${aliceId}"]`).getAttribute('data-media'), WAIT).toBe('audio-video');
    await alice.screenshot({ path: path.join(artifactsDir, 'meeting-after-rejoin.png') });
  });

  it('after the service\'s shutdown notice the page says so and does not rejoin', async () => {
    await alice.evaluate(() => (window as unknown as { dfdStatuses: string[] }).dfdStatuses.splice(0));
    await service.close();
    await statusIs(alice, 'shutting-down', 10_000);
    expect(await alice.getByTestId('notice').textContent()).toContain('The service is shutting down');
    // Once the socket's close has been handled (the page's handler runs before this await
    // returns), a rejoin would already show as "reconnecting": none did.
    await alice.evaluate(() => (window as unknown as { dfdMeeting: { signalling: { closed: Promise<unknown> } } }).dfdMeeting.signalling.closed);
    expect((await statuses(alice)).filter((s) => s.startsWith('reconnecting'))).toEqual([]);
    expect(await alice.evaluate(() => document.body.dataset['status'])).toBe('shutting-down');
  });
});
