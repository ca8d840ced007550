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
import type { types } from 'mediasoup';
import { untilAsyncValue, untilValue } from '../helpers/until.js';

async function inboundAudioSsrcs(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const m = (window as unknown as { dfdMeeting: { stats(): Promise<{ inbound: { kind: string; ssrc?: number }[] }> } }).dfdMeeting;
    return (await m.stats()).inbound.filter((i) => i.kind === 'audio').map((i) => i.ssrc ?? -1);
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
    // Let the caller's baseline form from normal speech: wait until the pipeline has heard some of it.
    await untilValue('caller speech analysed', () => (service.pipeline!.participant('chal', callerId)?.current().evidence.speechSeconds ?? 0) >= 2, 60_000);

    const { challengeId, challengeType } = await service.actions.requestChallenge('chal', callerId, { modality: 'audio' }, 'op');
    expect(challengeType).toMatch(/^[a-z-]+$/);
    // Two at once is refused with a typed error.
    await expect(service.actions.requestChallenge('chal', callerId, {}, 'op')).rejects.toSatisfy((e: unknown) => isDfdError(e, 'ERR_CHALLENGE_ACTIVE'));
    await expect(service.actions.requestChallenge('chal', 'nobody', {}, 'op')).rejects.toSatisfy((e: unknown) => isDfdError(e));

    // The prompt text shows on the caller's page.
    await caller.waitForFunction(() => (document.getElementById('prompt')?.textContent ?? '').length > 3, undefined, { timeout: 15_000 });
    // The spoken prompt is a server-side producer consumed by the caller only: the SFU forwards it to the caller
    // and the agent has no consumer of it at all.
    const participantProducers = (): Set<string> => new Set([...room.peers.values()].flatMap((p) => [...p.producers.keys()]));
    const promptConsumers = (peerId: string): types.Consumer[] => {
      const own = participantProducers();
      return [...(room.peers.get(peerId)?.consumers.values() ?? [])].filter((c) => !own.has(c.producerId));
    };
    await untilValue('prompt consumer for the caller', () => promptConsumers(callerId).length === 1, 30_000);
    const agentId = [...room.peers.values()].find((p) => p.displayName === 'Agent')!.id;
    expect(promptConsumers(agentId)).toHaveLength(0);
    const promptConsumer = promptConsumers(callerId)[0]!;
    expect(promptConsumer.kind).toBe('audio');
    const forwarded = async (): Promise<number> =>
      ((await promptConsumer.getStats()) as { type: string; packetCount?: number }[]).filter((st) => st.type === 'outbound-rtp').reduce((n, st) => n + (st.packetCount ?? 0), 0);
    await untilAsyncValue('prompt packets forwarded to the caller', async () => (await forwarded()) >= 50, 60_000);
    // ...and the caller's browser receives it as one more inbound audio stream (matched by SSRC); the agent's has none.
    const promptSsrc = promptConsumer.rtpParameters.encodings?.[0]?.ssrc;
    expect(promptSsrc).toBeTypeOf('number');
    await caller.waitForFunction(
      async (ssrc) => {
        const m = (window as unknown as { dfdMeeting: { stats(): Promise<{ inbound: { kind: string; ssrc?: number; packetsReceived?: number }[] }> } }).dfdMeeting;
        return (await m.stats()).inbound.some((i) => i.kind === 'audio' && i.ssrc === ssrc && (i.packetsReceived ?? 0) > 0);
      },
      promptSsrc,
      { timeout: 60_000, polling: 250 },
    );
    expect(await inboundAudioSsrcs(agent)).not.toContain(promptSsrc);

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
