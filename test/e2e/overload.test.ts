/**
 * Overload: the inference queue is flooded (many analysed streams, a one-window queue)
 * while two Chromium participants talk. Forwarded media between them keeps its rate,
 * and every window the analysis could not take is counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import { readWav, encodeOpus } from '../../pipeline/testing/audioSupport.js';
import { Peer } from '../../sfu/Peer.js';
import { registry } from '../../kernel/metrics.js';
import type { Service } from '../../src/Service.js';

interface Inbound {
  kind: string;
  packetsReceived?: number;
  framesDecoded?: number;
}

async function inbound(page: Page): Promise<Inbound[]> {
  return page.evaluate(async () => {
    const m = (window as unknown as { dfdMeeting: { stats(): Promise<{ inbound: unknown[] }> } }).dfdMeeting;
    return (await m.stats()).inbound as Inbound[];
  });
}

const sum = (xs: Inbound[], kind: string, f: (i: Inbound) => number | undefined): number => xs.filter((i) => i.kind === kind).reduce((n, i) => n + (f(i) ?? 0), 0);

async function droppedWindows(): Promise<number> {
  const m = await registry.getSingleMetric('dfd_windows_dropped_total')?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

describe('overload: analysis drops windows, the call does not notice', () => {
  let service: Service;
  let browser: Browser;
  let sender: RtpLoadSender | undefined;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    // A one-window queue and a short hop: the detectors cannot keep up.
    service = await startTestService({ modelsDir, maxPeersPerRoom: 32, inferenceQueue: 1, audioHopSec: 0.25, minSpeechSec: 0.2, faceAnalysis: false }, { events: false, analysis: true });
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
  });

  afterAll(async () => {
    sender?.close();
    await browser?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('keeps forwarding at full rate while windows are dropped and counted', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const alice = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    await alice.goto(`${base}/meet?room=flood&name=Alice&autojoin=1`);
    await bob.goto(`${base}/meet?room=flood&name=Bob&autojoin=1`);
    for (const p of [alice, bob]) await p.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
    // Baseline: Bob's receive rate from Alice, no flood. Chromium's fake capture can take a
    // while to start on a loaded machine, so wait (with a deadline) for a 2 s window in which
    // audio flows at its nominal rate, then measure the baseline over 4 s.
    const rate = async (ms: number): Promise<{ audio: number; video: number }> => {
      const a = await inbound(bob);
      await new Promise((r) => setTimeout(r, ms));
      const b = await inbound(bob);
      return {
        audio: ((sum(b, 'audio', (i) => i.packetsReceived) - sum(a, 'audio', (i) => i.packetsReceived)) * 1000) / ms,
        video: ((sum(b, 'video', (i) => i.packetsReceived) - sum(a, 'video', (i) => i.packetsReceived)) * 1000) / ms,
      };
    };
    let probe = { audio: 0, video: 0 };
    for (const t = Date.now(); Date.now() - t < 60_000; ) {
      probe = await rate(2000);
      if (probe.audio > 40 && probe.video > 10) break;
    }
    expect(probe.audio, `media never flowed at its nominal rate before the flood: ${JSON.stringify(probe)}`).toBeGreaterThan(40);
    const before = await rate(4000);
    const droppedBefore = await droppedWindows();

    // Flood: 16 more speech streams, all analysed, in another room (the inference queue is
    // shared by every room; Bob's browser should only receive Alice).
    const room = await service.rooms.getOrCreate('flood-load');
    const frames = encodeOpus(readWav(fixtures.speechWav).samples);
    sender = new RtpLoadSender({ frames });
    for (let i = 0; i < 16; i++) {
      const gw = new Peer({ id: `load-${i}`, displayName: `Load ${i}`, role: 'participant', notify: () => {} });
      room.join(gw);
      const t = await room.createRtpIngest(gw, { kind: 'audio', ssrc: 5000 + i, payloadType: 111 });
      sender.add({ ip: t.ip, port: t.port, ssrc: 5000 + i, payloadType: 111 });
    }
    sender.start();
    await new Promise((r) => setTimeout(r, 3000));
    const during = await rate(6000);
    const dropped = (await droppedWindows()) - droppedBefore;

    // Opus at 20 ms is 50 packets/s. Packets received (not decoded) measure what the SFU
    // forwarded, independent of how busy the browser itself is on this small machine.
    expect(before.audio).toBeGreaterThan(40);
    expect(before.video).toBeGreaterThan(10);
    expect(during.audio, JSON.stringify({ before, during })).toBeGreaterThan(before.audio * 0.9);
    expect(during.video, JSON.stringify({ before, during })).toBeGreaterThan(before.video * 0.8);
    expect(dropped, 'windows dropped and counted under overload').toBeGreaterThan(0);
    // The participants' verdicts say what was missed.
    const v = service.pipeline!.verdicts().filter((x) => x.peerId.startsWith('load-'));
    expect(v.some((x) => x.dropped.windows > 0)).toBe(true);
  }, 240_000);
});
