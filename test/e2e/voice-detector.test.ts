/**
 * The committed voice detectors, alone, in a live call: two Chromium participants in one room,
 * one whose microphone speaks neural TTS (Piper, a VITS voice), one speaking real recorded
 * speech (a LibriVox reader and the Asterisk prompt voice). Their audio takes the real path:
 * WebRTC -> mediasoup -> tap -> Opus decode -> VAD -> speech windows -> voice-antispoof on every
 * window and its cascade stage voice-whisper on one 2 s window in 8 of each stream
 * (detectors/models/, copied as committed) -> ParticipantVerdict.
 *
 * Challenges are off and no face model is loaded, so only the voice detector can move a
 * verdict. Both callers are observed until each has MIN_SPEECH_SEC of speech evidence. The real
 * speaker must never enter `suspicious` or `deepfake-likely` and must be judged `likely-genuine`;
 * the TTS caller's windows must score clearly higher than the real speaker's. Both pages run
 * Chromium's noise suppressor (getUserMedia's default) and say so, so every window must be scored
 * with the detectors' calibration for noise-suppressed senders (quality.channel 'suppressed').
 * Flagging the TTS caller with no challenge is NOT asserted: at the verdict weights the genuine-
 * drift check allows (docs/models.md, voice-antispoof 0.3.0: SpecNet 0.2, the stage 0.1 for browser
 * callers since 2026-12-06, both with their calibration for suppressed senders) its windows sit
 * near 0.65 and it is not flagged (fused pFake at most 0.519-0.534 in three runs); with 0.2.0 at 0.25 / 0.1 (no such calibration) it reached
 * `suspicious` at a fused pFake of 0.600-0.609 against the 0.60 threshold. When it is flagged, the flag must come from the
 * voice detectors. The logged line says what happened.
 *
 * This checks the shipped model's accuracy on two recordings, unlike the other end-to-end
 * tests (small test graphs). Fixtures: test/fixtures/build.ts `ensureVoiceFixtures` (Piper is
 * installed by `scripts/bootstrap.sh --test`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { loadConfig } from '../../src/config.js';
import { launchBrowser } from '../helpers/browser.js';
import { ensureVoiceFixtures, fixtures } from '../fixtures/build.js';
import { modelsDirOf, removeDir } from '../helpers/models.js';
import { repoRoot } from '../../src/config.js';
import type { Manifest } from '../../detectors/registry/Manifest.js';
import type { Service } from '../../src/Service.js';
import type { Verdict } from '../../pipeline/verdict/ParticipantVerdict.js';
import type { VerdictState } from '../../pipeline/verdict/VerdictMachine.js';
import type { DetectorScore } from '../../pipeline/inference/InferenceBackend.js';

const MODEL_DIR = path.join(repoRoot, 'detectors/models/voice-antispoof');
/** The second stage (manifest `cascade`): scores one window in N of each stream. */
const STAGE_DIR = path.join(repoRoot, 'detectors/models/voice-whisper');
const ROOM = 'voice';
/** From joining to both callers' MIN_SPEECH_SEC (a loaded 2-core machine runs two browsers and the SFU). */
const DEADLINE_MS = 180_000;
/** Each caller is observed for at least this much speech (seconds, not window-summed). */
const MIN_SPEECH_SEC = 20;
/** The TTS caller's mean window pFake must exceed the real speaker's by this much. */
const MIN_SEPARATION = 0.1;
const FLAGGED: readonly VerdictState[] = ['suspicious', 'deepfake-likely'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mean = (xs: readonly number[]): number => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

describe('voice detector end to end (Piper TTS vs real speech, Chromium -> SFU -> voice-antispoof -> verdict)', () => {
  let service: Service;
  let modelsDir: string;
  let manifest: Manifest;
  let stage: Manifest;
  let mics: ReturnType<typeof ensureVoiceFixtures>;
  const browsers: Browser[] = [];
  const verdicts: Verdict[] = [];
  const scores: DetectorScore[] = [];
  /** Per participant, the channels its audio windows were marked with (the calibration the detectors used). */
  const channels = new Map<string, Set<string>>();

  beforeAll(async () => {
    // Fails (never skips) with the install command when Piper or the recordings are missing.
    mics = ensureVoiceFixtures();
    // The committed voice models only: no face models, so nothing else can score.
    const only = await modelsDirOf([MODEL_DIR, STAGE_DIR]);
    modelsDir = only.dir;
    [manifest, stage] = only.manifests as [Manifest, Manifest];
    service = await startTestService({ modelsDir, faceAnalysis: false, challenges: false }, { events: false, analysis: true });
    service.pipeline!.on('verdict', (v) => verdicts.push(v));
    service.pipeline!.on('score', (s) => scores.push(s));
    service.pipeline!.on('audio-window', (w) => channels.set(w.stream.peerId, (channels.get(w.stream.peerId) ?? new Set()).add(w.quality.channel ?? 'wideband')));
    browsers.push(await launchBrowser({ wav: mics.ttsWav, y4m: fixtures.testY4m }));
    browsers.push(await launchBrowser({ wav: mics.realSpeechWav, y4m: fixtures.testY4m }));
  });

  afterAll(async () => {
    for (const b of browsers) await b.close().catch(() => undefined);
    await service?.close();
    removeDir(modelsDir);
  });

  it('a real speaker is judged genuine and a TTS caller scores clearly higher, by the voice detector alone', async () => {
    expect(service.challenges, 'challenges must be off: the detector alone moves the verdict').toBeUndefined();
    const base = `http://127.0.0.1:${service.port}`;
    const join = async (browser: Browser, name: string): Promise<Page> => {
      const page = await browser.newPage();
      await page.goto(`${base}/meet?room=${ROOM}&name=${name}&autojoin=1`);
      return page;
    };
    const pages = [await join(browsers[0]!, 'Tts'), await join(browsers[1]!, 'Real')];
    for (const p of pages) await p.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 30_000 });
    const room = service.rooms.get(ROOM)!;
    const peerOf = (name: string): { id: string; joinedAt: number } => [...room.peers.values()].find((p) => p.displayName === name)!;
    // Times count from each participant's join on the server.
    const { id: ttsId, joinedAt: ttsJoinedAt } = peerOf('Tts');
    const { id: realId, joinedAt: realJoinedAt } = peerOf('Real');

    // Verdicts sum the speech of overlapping windows; this turns that back into seconds of speech.
    const overlap = service.config.audioWindowSec / service.config.audioHopSec;
    const evidenceOf = (peerId: string): number => service.pipeline!.participant(ROOM, peerId)?.current().evidence.speechSeconds ?? 0;
    const flagOf = (): Verdict | undefined => verdicts.find((v) => v.peerId === ttsId && FLAGGED.includes(v.state));
    const target = MIN_SPEECH_SEC * overlap;

    // Wait until both callers have spoken long enough (no fixed sleeps).
    const deadline = Math.max(ttsJoinedAt, realJoinedAt) + DEADLINE_MS;
    while (Date.now() < deadline && !(evidenceOf(ttsId) >= target && evidenceOf(realId) >= target)) await sleep(250);

    const flag = flagOf();
    const of = (peerId: string): { scores: DetectorScore[]; stage: DetectorScore[]; verdicts: Verdict[]; current: Verdict } => ({
      scores: scores.filter((s) => s.stream.peerId === peerId && s.detector === manifest.id),
      stage: scores.filter((s) => s.stream.peerId === peerId && s.detector === stage.id),
      verdicts: verdicts.filter((v) => v.peerId === peerId),
      current: service.pipeline!.participant(ROOM, peerId)!.current(),
    });
    const tts = of(ttsId);
    const real = of(realId);
    const states = (vs: Verdict[]): VerdictState[] => vs.map((v) => v.state).filter((s, i, a) => i === 0 || a[i - 1] !== s);
    const brief = (v: Verdict): Record<string, unknown> => ({ state: v.state, pFake: round(v.pFake), speechSec: round(v.evidence.speechSeconds / overlap, 1), sinceJoinMs: v.updatedAt - (v.peerId === ttsId ? ttsJoinedAt : realJoinedAt) });
    const realFlags = real.verdicts.filter((v) => FLAGGED.includes(v.state)).map(brief);
    // what the service's weak-evidence challenge (DFD_CHALLENGE_LEAN_P, off in this test) would have done
    const leanP = loadConfig({}).challengeLeanP;
    const leaning = (vs: Verdict[]): { maxGenuinePFake: number | null; wouldChallenge: boolean } => {
      const ps = vs.filter((v) => v.state === 'likely-genuine').map((v) => v.pFake);
      const max = ps.length > 0 ? Math.max(...ps) : null;
      return { maxGenuinePFake: max === null ? null : round(max), wouldChallenge: max !== null && max >= leanP };
    };
    const summary = {
      model: { id: manifest.id, version: manifest.version, weight: manifest.verdict?.weight ?? 1 },
      stage: { id: stage.id, version: stage.version, weight: stage.verdict?.weight ?? 1, everyNthWindow: stage.cascade?.everyNthWindow },
      tts: {
        joinToFlagMs: flag ? flag.updatedAt - ttsJoinedAt : null,
        flaggedAs: flag?.state ?? null,
        fusedPFakeAtFlag: flag ? round(flag.pFake) : null,
        speechSecAtFlag: flag ? round(flag.evidence.speechSeconds / overlap, 1) : null,
        meanPFake: round(mean(tts.scores.map((s) => s.pFake))),
        windows: tts.scores.length,
        windowPFakes: tts.scores.map((s) => round(s.pFake, 2)),
        stageMeanPFake: round(mean(tts.stage.map((s) => s.pFake))),
        stagePFakes: tts.stage.map((s) => round(s.pFake, 2)),
        speechSec: round(tts.current.evidence.speechSeconds / overlap, 1),
        states: states(tts.verdicts),
        channels: [...(channels.get(ttsId) ?? [])],
        weakEvidence: { leanP, ...leaning(tts.verdicts) },
      },
      real: {
        meanPFake: round(mean(real.scores.map((s) => s.pFake))),
        maxFusedPFake: round(Math.max(0, ...real.verdicts.map((v) => v.pFake))),
        windows: real.scores.length,
        windowPFakes: real.scores.map((s) => round(s.pFake, 2)),
        stageMeanPFake: round(mean(real.stage.map((s) => s.pFake))),
        stagePFakes: real.stage.map((s) => round(s.pFake, 2)),
        speechSec: round(real.current.evidence.speechSeconds / overlap, 1),
        neededSpeechSec: MIN_SPEECH_SEC,
        states: states(real.verdicts),
        firstFlag: realFlags[0] ?? null,
        final: { state: real.current.state, pFake: round(real.current.pFake) },
        channels: [...(channels.get(realId) ?? [])],
        weakEvidence: { leanP, ...leaning(real.verdicts) },
      },
    };
    console.log(`voice-detector-e2e ${JSON.stringify(summary)}`);
    const info = JSON.stringify(summary);

    // Scores arrived for both, from the committed voice detectors with their verdict weights.
    expect(tts.scores.length, `no voice scores for the TTS caller: ${info}`).toBeGreaterThan(0);
    expect(real.scores.length, `no voice scores for the real speaker: ${info}`).toBeGreaterThan(0);
    const sources = [...new Set(scores.map((s) => JSON.stringify({ kind: s.stream.kind, detector: s.detector, task: s.task, version: s.modelVersion, weight: s.weight })))].sort();
    expect(sources, `score sources: ${sources.join(' ')}`).toEqual(
      [
        JSON.stringify({ kind: 'audio', detector: 'voice-antispoof', task: 'voice-antispoof', version: manifest.version, weight: manifest.verdict?.weight ?? 1 }),
        JSON.stringify({ kind: 'audio', detector: stage.id, task: 'voice-antispoof', version: stage.version, weight: stage.verdict?.weight ?? 1 }),
      ].sort(),
    );
    // The second stage scored some windows of each caller, and at most one in N of them (the first stage scores them all).
    const every = stage.cascade?.everyNthWindow ?? 1;
    for (const c of [tts, real]) {
      expect(c.stage.length, `no second-stage scores: ${info}`).toBeGreaterThan(0);
      expect(c.stage.length, `the second stage scored more than one window in ${every}: ${info}`).toBeLessThanOrEqual(Math.ceil(c.scores.length / every));
      // the verdict itself says which detectors ran and on how many windows
      const ran = new Map(c.current.models.map((m) => [m.id, m.windows]));
      expect(ran.get('voice-antispoof') ?? 0, `verdict models ${JSON.stringify(c.current.models)}: ${info}`).toBeGreaterThan(0);
      expect(ran.get(stage.id) ?? 0, `verdict models ${JSON.stringify(c.current.models)}: ${info}`).toBeGreaterThan(0);
      expect(ran.get(stage.id) ?? 0, `verdict models ${JSON.stringify(c.current.models)}: ${info}`).toBeLessThanOrEqual(Math.ceil((ran.get('voice-antispoof') ?? 0) / every));
    }
    // The meeting page told the service that Chromium's noise suppressor runs (getUserMedia's default), so every
    // window was scored with the detectors' calibration for noise-suppressed senders.
    expect(summary.tts.channels, info).toEqual(['suppressed']);
    expect(summary.real.channels, info).toEqual(['suppressed']);
    expect(manifest.verdict?.weight ?? 1, `voice-antispoof's manifest verdict.weight is 0: it is scored but cannot move a verdict. ${info}`).toBeGreaterThan(0);

    // Both spoke long enough to be judged.
    expect(tts.current.evidence.speechSeconds, `the TTS caller did not reach ${MIN_SPEECH_SEC} s of speech: ${info}`).toBeGreaterThanOrEqual(target);
    expect(real.current.evidence.speechSeconds, `the real speaker did not reach ${MIN_SPEECH_SEC} s of speech: ${info}`).toBeGreaterThanOrEqual(target);

    // The real speaker is never flagged, and is judged genuine.
    expect(realFlags, `the real speaker was flagged: ${info}`).toEqual([]);
    expect(FLAGGED, info).not.toContain(real.current.state);
    expect(real.verdicts.map((v) => v.state), `the real speaker was never judged (quality or evidence): ${info}`).toContain('likely-genuine');

    // The detector separates the two callers through the live path.
    const separation = summary.tts.meanPFake - summary.real.meanPFake;
    expect(separation, `TTS mean pFake ${summary.tts.meanPFake} vs real ${summary.real.meanPFake}: ${info}`).toBeGreaterThan(MIN_SEPARATION);

    // A flag, if the verdict raises one at these weights, is the voice detectors', not a challenge's.
    if (flag) {
      // (the speaker model is listed too, with the embeddings the takeover check received; it scores nothing)
      for (const m of flag.models.filter((x) => x.id !== 'speaker-embed')) expect([`voice-antispoof@${manifest.version}`, `${stage.id}@${stage.version}`], info).toContain(`${m.id}@${m.version}`);
      expect(flag.reason ?? '', info).not.toMatch(/challenge|presentation-attack/);
    }
  }, 300_000);
});
