/**
 * Challenge-response acceptance in a live call, end to end through NATS: a Chromium
 * participant is challenged with a specific audio challenge ("whisper this phrase"), sees
 * the prompt text and hears the spoken prompt, and answers through its fake microphone.
 *
 * The microphone file (Chromium plays it from the start of capture, looping) is built so
 * that the timing works without cooperation from the page:
 *   0 .. BASELINE_SEC          the caller's normal speech (the speaker baseline forms)
 *   BASELINE_SEC .. +RESPONSE  the response: whispered (compliant) or the same voice
 *                              speaking normally (non-compliant)
 * The challenge is requested just before the switch (measured from the first audio window
 * of the caller's stream); audio during the spoken prompt is ignored by the manager, so the
 * response window opens after the prompt, well inside the response segment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { artifactsDir, launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import type { Service } from '../../src/Service.js';
import { registry } from '../../kernel/metrics.js';
import type { DfdEvent, EventOfType } from '../../events/schema.js';

/** Seconds of normal speech at the start of the microphone file. */
const BASELINE_SEC = 22;
/** Seconds of response speech after it (covers prompt + response window with a wide margin). */
const RESPONSE_SEC = 50;
/** The challenge is requested this long after capture start (a little before the switch: the prompt plays first). */
const REQUEST_AT_SEC = BASELINE_SEC - 0.5;

const BASELINE_TEXT =
  'Good morning, I wanted to talk about the budget for next year. ' +
  'We should meet again on Tuesday afternoon if that works for you. ' +
  'The report is almost finished and I will send it before the weekend. ' +
  'Let me know if the numbers look right to you.';
const RESPONSE_TEXT = 'The orange boat drifted slowly past the harbour wall. Please bring the yellow umbrella to the station.';

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** espeak-ng speech looped and cut to exactly `seconds`, 48 kHz mono 16-bit. */
function speechSegment(dir: string, name: string, text: string, voiceArgs: string[], seconds: number): string {
  const raw = path.join(dir, `${name}-raw.wav`);
  const out = path.join(dir, `${name}.wav`);
  sh('espeak-ng', [...voiceArgs, '-s', '150', '-w', raw, text]);
  // 0.4 s pause between repetitions, like a speaker taking a breath.
  const reps = Math.ceil(seconds / 4);
  sh('sox', [raw, '-r', '48000', '-c', '1', '-b', '16', out, 'pad', '0', '0.4', 'repeat', String(reps), 'trim', '0', String(seconds)]);
  fs.rmSync(raw);
  return out;
}

/** Builds the microphone file: normal speech, then the response segment. */
function micFile(dir: string, name: string, responseVoice: string[]): string {
  const base = speechSegment(dir, `${name}-baseline`, BASELINE_TEXT, ['-v', 'en-us'], BASELINE_SEC);
  const resp = speechSegment(dir, `${name}-response`, RESPONSE_TEXT, responseVoice, RESPONSE_SEC);
  const out = path.join(dir, `${name}.wav`);
  sh('sox', [base, resp, out]);
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Inbound audio tracks of the page and their packets. */
async function inboundAudio(page: Page): Promise<{ tracks: number; packets: number }> {
  return page.evaluate(async () => {
    const m = (window as unknown as { dfdMeeting: { stats(): Promise<{ inbound: { kind: string; packetsReceived?: number }[] }> } }).dfdMeeting;
    const audio = (await m.stats()).inbound.filter((i) => i.kind === 'audio');
    return { tracks: audio.length, packets: audio.reduce((n, i) => n + (i.packetsReceived ?? 0), 0) };
  });
}

interface RunResult {
  outcome: EventOfType<'challenge'>;
  verdicts: EventOfType<'verdict'>[];
  timings: Record<string, number>;
}

describe('challenge-response acceptance (whisper-phrase, live call, NATS)', () => {
  let service: Service;
  let modelsDir: string;
  let workDir: string;
  const events: DfdEvent[] = [];
  const browsers: Browser[] = [];
  /** Measured timings and checker measurements of each run, written to test-artifacts/ for the docs. */
  const report: Record<string, unknown> = {};

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-chal-'));
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, faceAnalysis: false }, { events: true, analysis: true });
    service.bus!.subscribe({ type: 'challenge' }, (e) => void events.push(e));
    service.bus!.subscribe({ type: 'verdict' }, (e) => void events.push(e));
  }, 60_000);

  afterAll(async () => {
    // Inputs the challenge manager dropped (e.g. a baseline chunk skipped while the previous one was analysed).
    const degraded = (await registry.getSingleMetric('dfd_challenge_input_degraded_total')?.get())?.values ?? [];
    report['degraded'] = Object.fromEntries(degraded.map((v) => [String(v.labels['reason']), v.value]));
    fs.mkdirSync(artifactsDir, { recursive: true });
    fs.writeFileSync(path.join(artifactsDir, 'challenge-response-e2e.json'), JSON.stringify(report, null, 2));
    for (const b of browsers) await b.close().catch(() => undefined);
    await service?.close();
    removeDir(modelsDir);
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** Joins `roomId` with `wav` as the microphone, challenges the caller with whisper-phrase, returns the outcome. */
  async function challengeRun(roomId: string, wav: string): Promise<RunResult> {
    const browser = await launchBrowser({ wav, y4m: fixtures.testY4m });
    browsers.push(browser);
    const page = await (await browser.newContext()).newPage();
    // The first audio window of the caller's stream marks the start of capture (its file starts with speech).
    let firstWindowWall = 0;
    let callerId = '';
    const onWindow = (w: { stream: { roomId: string; peerId: string }; wallStart: number }): void => {
      if (w.stream.roomId === roomId && firstWindowWall === 0) {
        firstWindowWall = w.wallStart;
        callerId = w.stream.peerId;
      }
    };
    service.pipeline!.on('audio-window', onWindow);
    await page.goto(`http://127.0.0.1:${service.port}/meet?room=${roomId}&name=Caller&autojoin=1`);
    await page.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
    const joinedAt = Date.now();
    const deadline = Date.now() + 15_000;
    while (firstWindowWall === 0 && Date.now() < deadline) await sleep(100);
    service.pipeline!.off('audio-window', onWindow);
    expect(firstWindowWall, 'no speech window from the caller').toBeGreaterThan(0);
    expect(callerId).toBe([...service.rooms.get(roomId)!.peers.values()].find((p) => p.displayName === 'Caller')!.id);

    await sleep(Math.max(0, firstWindowWall + REQUEST_AT_SEC * 1000 - Date.now()));
    const before = await inboundAudio(page);
    // Alone in the room, the caller receives no audio until the prompt track is added.
    expect(before.tracks).toBe(0);
    const requestedAt = Date.now();
    const { challengeId, challengeType } = service.challenges!.request(roomId, callerId, 'audio', 'whisper-phrase');
    expect(challengeType).toBe('whisper-phrase');

    // The prompt text shows on the caller's page, the spoken prompt arrives as an extra audio track.
    await page.waitForFunction(() => /whisper/i.test(document.getElementById('prompt')?.textContent ?? ''), undefined, { timeout: 15_000 });
    let after = await inboundAudio(page);
    for (const until = Date.now() + 15_000; !(after.tracks >= 1 && after.packets - before.packets > 30) && Date.now() < until; after = await inboundAudio(page)) await sleep(200);
    // An extra inbound audio track (the spoken prompt) with packets flowing.
    expect(after.tracks).toBe(1);
    expect(after.packets - before.packets, 'prompt audio packets').toBeGreaterThan(30);

    const mine = (e: DfdEvent): boolean => e.roomId === roomId && e.peerId === callerId;
    const outDeadline = Date.now() + 60_000;
    let outcome: EventOfType<'challenge'> | undefined;
    while (!outcome && Date.now() < outDeadline) {
      outcome = events.find((e): e is EventOfType<'challenge'> => mine(e) && e.type === 'challenge' && e.payload.challengeId === challengeId && e.payload.phase === 'outcome');
      if (!outcome) await sleep(250);
    }
    expect(outcome, 'no outcome event on NATS').toBeDefined();
    // The verdict event the outcome leads to (verified or deepfake-likely) crosses the bus after it: wait for it.
    const verdictsAfterOutcome = (): EventOfType<'verdict'>[] => events.filter((e): e is EventOfType<'verdict'> => mine(e) && e.type === 'verdict' && Date.parse(e.ts) >= Date.parse(outcome!.ts) - 50);
    const judgedByChallenge = (): boolean => verdictsAfterOutcome().some((v) => v.payload.state === 'verified' || v.payload.state === 'deepfake-likely');
    for (const until = Date.now() + 15_000; !judgedByChallenge() && Date.now() < until; ) await sleep(100);
    const phases = events.filter((e): e is EventOfType<'challenge'> => mine(e) && e.type === 'challenge' && e.payload.challengeId === challengeId);
    const issued = phases.find((e) => e.payload.phase === 'issued')!;
    const response = phases.find((e) => e.payload.phase === 'response');
    const expected = issued.payload.expectedDurationSec ?? 0;
    const responseAt = response ? Date.parse(response.ts) : Number.NaN;
    // The manager closes the response window `expected + 3 s` after it opened and judges 1 s later.
    const responseOpened = responseAt - 1000 - (expected + 3) * 1000;
    const timings = {
      joinToFirstWindowMs: firstWindowWall - joinedAt,
      requestAtFileSec: (requestedAt - firstWindowWall) / 1000,
      responseOpensAtFileSec: (responseOpened - firstWindowWall) / 1000,
      responseClosesAtFileSec: (responseAt - 1000 - firstWindowWall) / 1000,
      promptSec: (responseOpened - requestedAt) / 1000,
      expectedDurationSec: expected,
      requestToOutcomeSec: (Date.parse(outcome!.ts) - requestedAt) / 1000,
    };
    const verdicts = verdictsAfterOutcome();
    await browser.close();
    return { outcome: outcome!, verdicts, timings };
  }

  it('run 1: a whispered answer passes and the caller is verified', async () => {
    const wav = micFile(workDir, 'compliant', ['-v', 'en-us+whisper']);
    const r = await challengeRun('chal-ok', wav);
    const info = JSON.stringify({ timings: r.timings, outcome: r.outcome.payload });
    report['compliant'] = { timings: r.timings, outcome: r.outcome.payload, verdicts: r.verdicts.map((v) => v.payload.state) };
    // The whole response window lies inside the whispered segment of the file.
    expect(r.timings.responseOpensAtFileSec, info).toBeGreaterThan(BASELINE_SEC);
    expect(r.timings.responseClosesAtFileSec, info).toBeLessThan(BASELINE_SEC + RESPONSE_SEC);
    expect(r.outcome.payload.outcome, info).toBe('passed');
    expect(r.outcome.payload.measurements?.['baselinePersonal'], info).toBe(1);
    expect(r.verdicts.map((v) => v.payload.state), info).toContain('verified');
  }, 120_000);

  it('run 2: a normally voiced answer is non-compliant and the caller is deepfake-likely', async () => {
    const wav = micFile(workDir, 'noncompliant', ['-v', 'en-us']);
    const r = await challengeRun('chal-bad', wav);
    const info = JSON.stringify({ timings: r.timings, outcome: r.outcome.payload });
    report['nonCompliant'] = { timings: r.timings, outcome: r.outcome.payload, verdicts: r.verdicts.map((v) => v.payload.state) };
    expect(r.timings.responseOpensAtFileSec, info).toBeGreaterThan(BASELINE_SEC);
    expect(r.timings.responseClosesAtFileSec, info).toBeLessThan(BASELINE_SEC + RESPONSE_SEC);
    expect(r.outcome.payload.outcome, info).toMatch(/^(non-compliant|failed)$/);
    expect(r.outcome.payload.measurements?.['baselinePersonal'], info).toBe(1);
    expect(r.verdicts.map((v) => v.payload.state), info).toContain('deepfake-likely');
  }, 120_000);
});
