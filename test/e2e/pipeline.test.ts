/**
 * End to end through the analysis pipeline: real Chromium participants publish a speech
 * WAV with a real face video, and silence with a face-less test pattern. Audio and video
 * are tapped, decoded, VAD-gated, face-detected and scored by real ONNX models; the
 * speaker reaches a verdict other than `collecting`, the silent one does not.
 * (Detectors here are small real ONNX graphs built by the test set-up, so the test does
 * not depend on the trained models' accuracy.)
 */
import fs from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { Service } from '../../src/Service.js';
import type { Verdict } from '../../pipeline/verdict/ParticipantVerdict.js';
import type { AudioWindow, WindowScore } from '../../pipeline/messages.js';
import { currentThreadId, threadPriorityOf } from '../../kernel/threadPriority.js';

/** Nice value and policy of every thread of this process (threads that end while we look are left out). */
function threadPriorities(): { nice: number; policy: string }[] {
  return fs.readdirSync('/proc/self/task').flatMap((tid) => threadPriorityOf(Number(tid)) ?? []);
}

describe('analysis pipeline end to end (Chromium -> SFU -> taps -> detectors -> verdict)', () => {
  let service: Service;
  const browsers: Browser[] = [];
  const verdicts: Verdict[] = [];
  const scores: WindowScore[] = [];
  const audioWindows: { window: Pick<AudioWindow, 'stream' | 'samples' | 'sampleRate' | 'speechSeconds'>; length: number }[] = [];
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, audioHopSec: 1, audioWindowSec: 2, analysisNice: 10 }, { events: false, analysis: true });
    service.pipeline!.on('verdict', (v) => verdicts.push(v));
    service.pipeline!.on('score', (s) => scores.push(s));
    service.pipeline!.on('audio-window', (w) => audioWindows.push({ window: w, length: w.samples.length / w.sampleRate }));
    browsers.push(await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.faceY4m }));
    browsers.push(await launchBrowser({ wav: fixtures.silenceWav, y4m: fixtures.testY4m }));
  });

  afterAll(async () => {
    for (const b of browsers) await b.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('a speaking face reaches a verdict; a silent, face-less participant stays collecting', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const talker = await browsers[0]!.newPage();
    const quiet = await browsers[1]!.newPage();
    await talker.goto(`${base}/meet?room=pipe&name=Talker&autojoin=1`);
    await quiet.goto(`${base}/meet?room=pipe&name=Quiet&autojoin=1`);
    for (const p of [talker, quiet]) await p.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
    const room = service.rooms.get('pipe')!;
    const idOf = (name: string): string => [...room.peers.values()].find((p) => p.displayName === name)!.id;
    const talkerId = idOf('Talker');
    const quietId = idOf('Quiet');

    const deadline = Date.now() + 45_000;
    const decided = (): boolean => verdicts.some((v) => v.peerId === talkerId && v.state !== 'collecting');
    const scored = (kind: string): boolean => scores.some((s) => s.stream.peerId === talkerId && s.stream.kind === kind);
    // The first verdict can come from the early 1 s window alone; wait for a window of the 2 s grid too.
    const gridWindow = (): boolean => audioWindows.some((w) => w.window.stream.peerId === talkerId && Math.abs(w.length - service.config.audioWindowSec) < 1e-6);
    while (Date.now() < deadline && !(decided() && scored('audio') && scored('video') && gridWindow())) await new Promise((r) => setTimeout(r, 250));

    const talkerScores = scores.filter((s) => s.stream.peerId === talkerId);
    expect(talkerScores.some((s) => s.stream.kind === 'audio'), 'voice detector scored the talker').toBe(true);
    expect(talkerScores.some((s) => s.stream.kind === 'video'), 'face detector scored the talker').toBe(true);
    for (const s of talkerScores) {
      expect(s.pFake).toBeGreaterThanOrEqual(0);
      expect(s.pFake).toBeLessThanOrEqual(1);
    }
    expect(verdicts.some((v) => v.peerId === talkerId && v.state !== 'collecting')).toBe(true);
    const final = service.pipeline!.participant('pipe', talkerId)!.current();
    expect(final.state).not.toBe('collecting');
    expect(final.evidence.speechSeconds).toBeGreaterThan(0);
    expect(final.confidence).toBeGreaterThan(0);
    expect(scores.filter((s) => s.stream.peerId === quietId)).toHaveLength(0);
    expect(verdicts.filter((v) => v.peerId === quietId).every((v) => v.state === 'collecting')).toBe(true);
    expect(service.pipeline!.participant('pipe', quietId)!.current().state).toBe('collecting');

    // The talker's voice is first judged on the early window (DFD_AUDIO_FIRST_WINDOW_SEC, 1 s, at least
    // 60 % speech): no grid window with that much speech came before it. The 2 s grid follows.
    const talkerWindows = audioWindows.filter((w) => w.window.stream.peerId === talkerId);
    const early = talkerWindows.findIndex((w) => Math.abs(w.length - service.config.audioFirstWindowSec) < 1e-6);
    expect(early).toBeGreaterThanOrEqual(0);
    expect(talkerWindows[early]!.window.speechSeconds).toBeGreaterThanOrEqual(0.6 * service.config.audioFirstWindowSec);
    expect(talkerWindows.slice(0, early).every((w) => w.window.speechSeconds < 0.6 * service.config.audioFirstWindowSec)).toBe(true);
    expect(talkerWindows.slice(1).some((w) => Math.abs(w.length - service.config.audioWindowSec) < 1e-6)).toBe(true);
  });

  it.runIf(os.platform() === 'linux')('analysis threads run at DFD_ANALYSIS_NICE, below the signalling thread and the mediasoup worker', () => {
    const main = threadPriorityOf(currentThreadId()!)!;
    expect(main.policy).toBe('normal');
    // (The service default, DFD_ANALYSIS_NICE=10; test services run analysis at 0, test/helpers/service.ts.)
    expect(service.config).toMatchObject({ analysisNice: 10, analysisSched: 'normal' });
    // At least the audio and video media workers and the inference worker (and onnxruntime's threads
    // they started) run at the analysis nice value; the thread running this test keeps its own.
    // (Under a nice value above 10 without root, the workers cannot go lower and keep the inherited one.)
    const expected = main.nice <= 10 || process.getuid?.() === 0 ? 10 : main.nice;
    expect(threadPriorities().filter((t) => t.nice === expected && t.policy === 'normal').length).toBeGreaterThanOrEqual(3);
    for (const slot of service.pool.slots) {
      expect(os.getPriority(slot.worker.pid)).toBe(service.config.sfuNice);
    }
  });
});
