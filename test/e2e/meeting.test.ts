/**
 * End to end: the service, two headless Chromium participants with fake devices fed from
 * a speech WAV and a Y4M video, one room. Each must receive the other's audio and decode
 * the other's video (from getStats), and the taps must deliver RTP for all four producers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser, artifactsDir } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import type { Service } from '../../src/Service.js';
import type { MediaTap } from '../../sfu/MediaTap.js';

interface Stats {
  inbound: { kind: string; packetsReceived?: number; framesDecoded?: number; totalSamplesReceived?: number }[];
}

async function pollStats(page: Page, until: (s: Stats) => boolean, timeoutMs = 30_000): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  let last: Stats = { inbound: [] };
  while (Date.now() < deadline) {
    last = await page.evaluate(async () => {
      const m = (window as unknown as { dfdMeeting?: { stats(): Promise<unknown> } }).dfdMeeting;
      return (m ? await m.stats() : { inbound: [] }) as Stats;
    });
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

const receivesBoth = (s: Stats): boolean =>
  s.inbound.some((i) => i.kind === 'audio' && (i.totalSamplesReceived ?? 0) > 48000) && s.inbound.some((i) => i.kind === 'video' && (i.framesDecoded ?? 0) > 10);

describe('meeting end to end (real Chromium, real mediasoup)', () => {
  let service: Service;
  let browser: Browser;
  const taps: MediaTap[] = [];

  beforeAll(async () => {
    service = await startTestService();
    // Stand-in tap consumer for this test: resume every tap and count packets.
    service.rooms.on('tapopen', (tap) => {
      taps.push(tap);
      void tap.resume();
    });
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
  });

  it('two participants hear and see each other, and every producer is tapped', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const alice = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    await alice.goto(`${base}/meet?room=e2e&name=Alice&autojoin=1`);
    await alice.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
    await bob.goto(`${base}/meet?room=e2e&name=Bob&autojoin=1`);
    await bob.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });

    const [a, b] = await Promise.all([pollStats(alice, receivesBoth), pollStats(bob, receivesBoth)]);
    fs.mkdirSync(artifactsDir, { recursive: true });
    await alice.screenshot({ path: path.join(artifactsDir, 'meeting-alice.png') });
    expect(receivesBoth(a), JSON.stringify(a)).toBe(true);
    expect(receivesBoth(b), JSON.stringify(b)).toBe(true);

    const room = service.rooms.get('e2e');
    expect(room?.peers.size).toBe(2);
    expect(taps.length).toBe(4);
    expect(new Set(taps.map((t) => t.info.producerId)).size).toBe(4);
    for (const t of taps) {
      expect(t.packets, `${t.info.kind} tap of ${t.info.peerId}`).toBeGreaterThan(20);
    }
    expect(taps.filter((t) => t.info.kind === 'audio').every((t) => t.info.codec.mimeType === 'audio/opus')).toBe(true);
    expect(taps.filter((t) => t.info.kind === 'video').every((t) => t.info.codec.mimeType === 'video/VP8')).toBe(true);
  });
});
