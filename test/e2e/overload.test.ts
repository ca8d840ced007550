/**
 * Overload: the inference queue is flooded (many analysed streams, a one-window queue)
 * while two Chromium participants talk. Every packet the SFU receives from one is sent to the
 * other (the SFU's own producer and consumer counters, not the browsers' rates, which depend on
 * how busy the machine is), and every window the analysis could not take is counted. Forwarding
 * delay under load is a benchmark (`npm run bench -- --only media-impact`), not a test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import { OVERLOAD_OPTIONS, startSpeechFlood } from '../helpers/flood.js';
import { exposition } from '../../kernel/metrics.js';
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

/** Windows dropped, as /metrics reports them (the detectors run in the media worker threads: their counters are merged there). */
async function droppedWindows(): Promise<number> {
  const { text } = await exposition();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('dfd_windows_dropped_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

describe('overload: analysis drops windows, the call does not notice', () => {
  let service: Service;
  let browser: Browser;
  let sender: RtpLoadSender | undefined;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    // A one-window queue and a short hop: the detectors cannot keep up.
    service = await startTestService({ modelsDir, ...OVERLOAD_OPTIONS }, { events: false, analysis: true });
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
  });

  afterAll(async () => {
    sender?.close();
    await browser?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('forwards every packet it receives while windows are dropped and counted', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const alice = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    await alice.goto(`${base}/meet?room=flood&name=Alice&autojoin=1`);
    await bob.goto(`${base}/meet?room=flood&name=Bob&autojoin=1`);
    for (const p of [alice, bob]) await p.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });

    // What the SFU itself counts, per kind: packets received from Alice's producers and packets
    // sent to Bob on the consumers of those producers. The browsers' own rates depend on how busy
    // the machine is (Chromium's encoder starves under load); the SFU's accounting does not.
    // Alice's packets into the SFU and out to Bob. The two counters are read one after the other, and on a
    // saturated machine this thread may wait a while in between: `outFirst` reads Bob's first (the start of an
    // interval), else Alice's first (its end), so the "out" interval always spans the "in" one and a packet
    // forwarded within the interval is never missed by the comparison.
    const sfu = async (outFirst = false): Promise<Record<'audio' | 'video', { in: number; out: number }>> => {
      const room = service.rooms.get('flood')!;
      const peers = [...room.peers.values()];
      const a = peers.find((p) => p.displayName === 'Alice')!;
      const b = peers.find((p) => p.displayName === 'Bob')!;
      const counts = { audio: { in: 0, out: 0 }, video: { in: 0, out: 0 } };
      const readIn = async () => {
        for (const p of a.producers.values()) for (const st of (await p.getStats()) as { type: string; packetCount?: number }[]) if (st.type === 'inbound-rtp') counts[p.kind].in += st.packetCount ?? 0;
      };
      const readOut = async () => {
        for (const c of b.consumers.values()) {
          if (!a.producers.has(c.producerId)) continue;
          for (const st of (await c.getStats()) as { type: string; packetCount?: number }[]) if (st.type === 'outbound-rtp') counts[c.kind].out += st.packetCount ?? 0;
        }
      };
      if (outFirst) {
        await readOut();
        await readIn();
      } else {
        await readIn();
        await readOut();
      }
      return counts;
    };
    // Wait (with a deadline: Chromium is slow to start consuming on a saturated machine) until
    // Alice's audio reaches the SFU and is forwarded to Bob.
    for (const t = Date.now(); ; await new Promise((r) => setTimeout(r, 250))) {
      const c = await sfu();
      if (c.audio.in > 50 && c.audio.out > 50) break;
      if (Date.now() - t > 180_000) {
        const room = service.rooms.get('flood')!;
        const bob = [...room.peers.values()].find((p) => p.displayName === 'Bob')!;
        const consumers = [...bob.consumers.values()].map((x) => ({ kind: x.kind, paused: x.paused, producerPaused: x.producerPaused }));
        throw new Error(`Alice's audio was never forwarded to Bob before the flood: ${JSON.stringify(c)}; Bob's consumers ${JSON.stringify(consumers)}`);
      }
    }
    const droppedBefore = await droppedWindows();

    // Flood: 16 more speech streams, all analysed, in another room (the inference queue is
    // shared by every room; Bob's browser should only receive Alice).
    sender = await startSpeechFlood(service, 'flood-load', 16, 5000);
    // Measure while windows are being dropped: from the first drop, over at least 6 s and 150 audio packets.
    for (const t = Date.now(); (await droppedWindows()) === droppedBefore; await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() - t > 60_000) throw new Error('the flood never made the pipeline drop a window');
    }
    const c0 = await sfu(true);
    const bob0 = sum(await inbound(bob), 'audio', (i) => i.packetsReceived);
    const t0 = Date.now();
    let c1 = c0;
    for (; Date.now() - t0 < 6000 || c1.audio.in - c0.audio.in < 150; await new Promise((r) => setTimeout(r, 250))) {
      if (Date.now() - t0 > 90_000) break;
      c1 = await sfu();
    }
    const bob1 = sum(await inbound(bob), 'audio', (i) => i.packetsReceived);
    const dropped = (await droppedWindows()) - droppedBefore;
    const delta = (k: 'audio' | 'video') => ({ in: c1[k].in - c0[k].in, out: c1[k].out - c0[k].out });
    const audio = delta('audio');
    const video = delta('video');
    const detail = JSON.stringify({ audio, video, bobAudioPackets: bob1 - bob0, dropped });

    // Forwarding is untouched by the overloaded analysis: every packet that came in went out
    // (a few in flight at the edges of the interval).
    expect(audio.in, detail).toBeGreaterThanOrEqual(150);
    expect(audio.out, detail).toBeGreaterThanOrEqual(audio.in - 5);
    if (video.in > 0) expect(video.out, detail).toBeGreaterThanOrEqual(video.in * 0.95 - 5);
    // And they reached Bob's browser.
    expect(bob1 - bob0, detail).toBeGreaterThan(0);
    expect(dropped, 'windows dropped and counted under overload').toBeGreaterThan(0);
    // The participants' verdicts say what was missed.
    const v = service.pipeline!.verdicts().filter((x) => x.peerId.startsWith('load-'));
    expect(v.some((x) => x.dropped.windows > 0)).toBe(true);
    process.stdout.write(`overload-e2e ${detail}\n`);
  }, 420_000);
});
