/**
 * End to end through the analysis pipeline: real Chromium participants publish a speech
 * WAV with a real face video, and silence with a face-less test pattern. Audio and video
 * are tapped, decoded, VAD-gated, face-detected and scored by real ONNX models; the
 * speaker reaches a verdict other than `collecting`, the silent one does not.
 * (Detectors here are small real ONNX graphs built by the test set-up, so the test does
 * not depend on the trained models' accuracy.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { Service } from '../../src/Service.js';
import type { Verdict } from '../../pipeline/verdict/ParticipantVerdict.js';
import type { WindowScore } from '../../pipeline/messages.js';

describe('analysis pipeline end to end (Chromium -> SFU -> taps -> detectors -> verdict)', () => {
  let service: Service;
  const browsers: Browser[] = [];
  const verdicts: Verdict[] = [];
  const scores: WindowScore[] = [];
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, audioHopSec: 1, audioWindowSec: 2 }, { events: false, analysis: true });
    service.pipeline!.on('verdict', (v) => verdicts.push(v));
    service.pipeline!.on('score', (s) => scores.push(s));
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
    while (Date.now() < deadline && !(decided() && scored('audio') && scored('video'))) await new Promise((r) => setTimeout(r, 250));

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
  });
});
