/**
 * The committed face-forgery model, alone, in a live video call: one Chromium participant whose
 * camera shows a real face (a photo shipped inside @vladmandic/face-api, gently panned:
 * test/fixtures/build.ts `faceY4m`) and whose microphone speaks. The video takes the real path:
 * WebRTC -> mediasoup -> tap -> VP8 decode -> BlazeFace + FaceMesh + FaceAligner -> 5-frame
 * face windows -> face-forgery (detectors/models/face-forgery, copied as committed) ->
 * ParticipantVerdict.
 *
 * Challenges are off and no voice model is loaded, so only the face model can move the verdict.
 * The participant is observed until MIN_FACE_FRAMES face frames were scored. A real face must
 * never enter `suspicious` or `deepfake-likely`. The logged line gives the window scores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { modelsDirOf, removeDir } from '../helpers/models.js';
import { repoRoot } from '../../src/config.js';
import { exposition } from '../../kernel/metrics.js';
import type { Manifest } from '../../detectors/registry/Manifest.js';
import type { Service } from '../../src/Service.js';
import type { Verdict } from '../../pipeline/verdict/ParticipantVerdict.js';
import type { VerdictState } from '../../pipeline/verdict/VerdictMachine.js';
import type { DetectorScore } from '../../pipeline/inference/InferenceBackend.js';

const MODEL_DIR = path.join(repoRoot, 'detectors/models/face-forgery');
const ROOM = 'face';
/** From joining to MIN_FACE_FRAMES (a loaded 2-core machine runs a browser, the SFU and the face path). */
const DEADLINE_MS = 180_000;
/** Scored face frames to observe: 12 windows of 5 frames, about 12 s at the analysis rate. */
const MIN_FACE_FRAMES = 60;
const FLAGGED: readonly VerdictState[] = ['suspicious', 'deepfake-likely'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

describe('face detector end to end (real face, Chromium -> SFU -> face-forgery -> verdict)', () => {
  let service: Service;
  let modelsDir: string;
  let manifest: Manifest;
  let browser: Browser;
  const verdicts: Verdict[] = [];
  const scores: DetectorScore[] = [];

  beforeAll(async () => {
    // The committed face-forgery model only: no voice model, so nothing else can score.
    const only = await modelsDirOf([MODEL_DIR]);
    modelsDir = only.dir;
    manifest = only.manifests[0]!;
    service = await startTestService({ modelsDir, challenges: false }, { events: false, analysis: true });
    service.pipeline!.on('verdict', (v) => verdicts.push(v));
    service.pipeline!.on('score', (s) => scores.push(s));
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.faceY4m });
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await service?.close();
    removeDir(modelsDir);
  });

  it('a real face is scored by the face model and never becomes suspicious from it', async () => {
    expect(service.challenges, 'challenges must be off: the detector alone moves the verdict').toBeUndefined();
    const page: Page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${service.port}/meet?room=${ROOM}&name=Face&autojoin=1`);
    await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 30_000 });
    const peer = [...service.rooms.get(ROOM)!.peers.values()].find((p) => p.displayName === 'Face')!;
    const framesOf = (): number => service.pipeline!.participant(ROOM, peer.id)?.current().evidence.faceFrames ?? 0;
    const deadline = peer.joinedAt + DEADLINE_MS;
    while (Date.now() < deadline && framesOf() < MIN_FACE_FRAMES) await sleep(250);

    const faceScores = scores.filter((s) => s.stream.peerId === peer.id && s.stream.kind === 'video');
    const mine = verdicts.filter((v) => v.peerId === peer.id);
    const flagged = mine.filter((v) => FLAGGED.includes(v.state));
    const summary = {
      model: { id: manifest.id, version: manifest.version, weight: manifest.verdict?.weight ?? 1 },
      faceFrames: framesOf(),
      windows: faceScores.length,
      windowPFakes: faceScores.map((s) => round(s.pFake, 2)),
      states: mine.map((v) => v.state).filter((s, i, a) => i === 0 || a[i - 1] !== s),
      maxFusedPFake: round(Math.max(0, ...mine.map((v) => v.pFake))),
      firstFlag: flagged[0] ? { state: flagged[0].state, pFake: round(flagged[0].pFake), reason: flagged[0].reason ?? null } : null,
    };
    console.log(`face detector e2e: ${JSON.stringify(summary)}`);
    expect(framesOf(), 'face frames scored before the deadline').toBeGreaterThanOrEqual(MIN_FACE_FRAMES);
    expect(faceScores.every((s) => s.task === 'face-forgery'), 'only the face-forgery model scores').toBe(true);
    expect(flagged, 'a real face must not become suspicious from the face model').toEqual([]);
    // Service defaults: the face-forgery model scores 2 frames of each 5-frame window (DFD_FACE_FORGERY_FRAMES),
    // counted where the media workers' metrics reach /metrics.
    const notScored = async (): Promise<number> => {
      const m = /^dfd_face_frames_not_scored_total\{detector="face-forgery"\} (\d+)/m.exec((await exposition()).text);
      return m ? Number(m[1]) : 0;
    };
    const metricDeadline = Date.now() + 30_000;
    while (Date.now() < metricDeadline && (await notScored()) === 0) await sleep(250);
    expect(await notScored(), 'face frames the face-forgery model left out by design').toBeGreaterThan(0);
  });
});
