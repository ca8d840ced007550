/**
 * Random spot checks on high-risk calls (DFD_CHALLENGE_HIGH_RISK), in a live call: a Chromium
 * caller who speaks is challenged without any suspicious verdict or operator request, the prompt
 * reaches the page, and the challenge's `issued` and `outcome` events on NATS carry the `spot-check`
 * trigger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { removeDir, voiceOnlyTestModelsDir } from '../helpers/models.js';
import { untilValue } from '../helpers/until.js';
import type { Service } from '../../src/Service.js';
import type { EventOfType } from '../../events/schema.js';

describe('spot checks on a high-risk call', () => {
  let service: Service;
  let browser: Browser;
  let modelsDir: string;
  const challenges: EventOfType<'challenge'>[] = [];

  beforeAll(async () => {
    modelsDir = voiceOnlyTestModelsDir();
    // every speaking participant drawn once a second with probability 1: the first round after the caller speaks
    service = await startTestService(
      { modelsDir, faceAnalysis: false, challengeHighRisk: true, challengeSpotCheck: 1, challengeSpotCheckMs: 1000 },
      { events: true, analysis: true },
    );
    service.bus!.subscribe({ type: 'challenge' }, (e) => void (e.type === 'challenge' && challenges.push(e)));
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    removeDir(modelsDir);
  });

  it('challenges a speaking caller by itself and records the outcome under the spot-check trigger', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const caller = await (await browser.newContext()).newPage();
    await caller.goto(`${base}/meet?room=spot&name=Caller&autojoin=1`);
    await caller.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
    const room = service.rooms.get('spot')!;
    const callerId = [...room.peers.values()].find((p) => p.displayName === 'Caller')!.id;
    const ofCaller = (): EventOfType<'challenge'>['payload'][] => challenges.filter((e) => e.peerId === callerId).map((e) => e.payload);

    const issued = await untilValue('a spot check issued to the caller', () => ofCaller().find((c) => c.phase === 'issued'), 90_000);
    expect(issued.trigger).toBe('spot-check');
    // the caller's page shows the prompt
    await caller.waitForFunction(() => (document.getElementById('prompt')?.textContent ?? '').length > 3, undefined, { timeout: 15_000 });
    // and the challenge ends with an outcome under the same trigger, never stuck
    const outcome = await untilValue('the spot check judged', () => ofCaller().find((c) => c.challengeId === issued.challengeId && c.phase === 'outcome'), 90_000);
    expect(outcome.trigger).toBe('spot-check');
    expect(outcome.outcome).toMatch(/^(passed|failed|non-compliant|unclear|timed-out)$/);
  });
});
