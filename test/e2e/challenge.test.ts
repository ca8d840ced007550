/**
 * Challenge-response in a live call: an operator challenges a Chromium participant; the
 * prompt text reaches the participant's page over signalling, the spoken prompt reaches
 * only that participant's browser as an audio track, the response is judged and an
 * outcome is recorded, and the verdict reflects it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { testModelsDir, removeDir } from '../helpers/models.js';
import { isDfdError } from '../../kernel/errors.js';
import type { Service } from '../../src/Service.js';

async function inboundAudioPackets(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const m = (window as unknown as { dfdMeeting: { stats(): Promise<{ inbound: { kind: string; packetsReceived?: number }[] }> } }).dfdMeeting;
    return (await m.stats()).inbound.filter((i) => i.kind === 'audio').reduce((n, i) => n + (i.packetsReceived ?? 0), 0);
  });
}

describe('challenge-response in a live call', () => {
  let service: Service;
  let browser: Browser;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    service = await startTestService({ modelsDir, faceAnalysis: false }, { events: false, analysis: true });
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('delivers the prompt to the challenged participant only and records an outcome', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const caller = await (await browser.newContext()).newPage();
    const agent = await (await browser.newContext()).newPage();
    await caller.goto(`${base}/meet?room=chal&name=Caller&autojoin=1`);
    await agent.goto(`${base}/meet?room=chal&name=Agent&autojoin=1`);
    for (const p of [caller, agent]) await p.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
    const room = service.rooms.get('chal')!;
    const callerId = [...room.peers.values()].find((p) => p.displayName === 'Caller')!.id;
    // Let the caller's baseline form from normal speech.
    await new Promise((r) => setTimeout(r, 4000));
    const agentAudioBefore = await inboundAudioPackets(agent);
    const callerAudioBefore = await inboundAudioPackets(caller);

    const { challengeId, challengeType } = await service.actions.requestChallenge('chal', callerId, { modality: 'audio' }, 'op');
    expect(challengeType).toMatch(/^[a-z-]+$/);
    // Two at once is refused with a typed error.
    await expect(service.actions.requestChallenge('chal', callerId, {}, 'op')).rejects.toSatisfy((e: unknown) => isDfdError(e, 'ERR_CHALLENGE_ACTIVE'));
    await expect(service.actions.requestChallenge('chal', 'nobody', {}, 'op')).rejects.toSatisfy((e: unknown) => isDfdError(e));

    // The prompt text shows on the caller's page.
    await caller.waitForFunction(() => (document.getElementById('prompt')?.textContent ?? '').length > 3, undefined, { timeout: 15_000 });
    // The spoken prompt is an extra audio stream for the caller only: caller's inbound audio grows by more than the agent's stream.
    await new Promise((r) => setTimeout(r, 3000));
    const callerGain = (await inboundAudioPackets(caller)) - callerAudioBefore;
    const agentGain = (await inboundAudioPackets(agent)) - agentAudioBefore;
    expect(callerGain, `caller ${callerGain} vs agent ${agentGain}`).toBeGreaterThan(agentGain + 50);

    // An outcome arrives (whatever the fake microphone did), never a stuck challenge.
    const participant = (): ReturnType<typeof service.registry.participant> => service.registry.participant('chal', callerId);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !participant()?.challenges.some((c) => c.challengeId === challengeId && c.phase === 'outcome')) await new Promise((r) => setTimeout(r, 500));
    const phases = participant()!.challenges.filter((c) => c.challengeId === challengeId);
    expect(phases.map((c) => c.phase)).toContain('issued');
    const outcome = phases.find((c) => c.phase === 'outcome');
    expect(outcome?.outcome).toMatch(/^(passed|failed|non-compliant|unclear|timed-out)$/);
    const verdict = service.pipeline!.participant('chal', callerId)!.current();
    if (outcome?.outcome === 'passed') expect(verdict.state).toBe('verified');
    if (outcome?.outcome === 'failed' || outcome?.outcome === 'non-compliant') expect(verdict.state).toBe('deepfake-likely');
    // The prompt is gone from the page once judged.
    await caller.waitForFunction(() => (document.getElementById('prompt')?.textContent ?? '') === '', undefined, { timeout: 5000 });
  });
});
