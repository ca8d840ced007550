/**
 * Challenges the service starts by itself in a live call, besides the one a `suspicious` verdict
 * starts: a random spot check on a high-risk call (DFD_CHALLENGE_HIGH_RISK), and a weak-evidence
 * challenge when a `likely-genuine` verdict leans toward fake (DFD_CHALLENGE_LEAN_P). A Chromium
 * caller speaks; the challenge reaches the page with no operator request, and its `issued` and
 * `outcome` events on NATS carry the trigger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { removeDir, voiceOnlyTestModelsDir } from '../helpers/models.js';
import { untilValue } from '../helpers/until.js';
import type { Config } from '../../src/config.js';
import type { Service } from '../../src/Service.js';
import type { EventOfType } from '../../events/schema.js';

function automaticChallenge(name: string, trigger: 'spot-check' | 'weak-evidence', config: Partial<Config>): void {
  describe(name, () => {
    let service: Service;
    let browser: Browser;
    let modelsDir: string;
    const challenges: EventOfType<'challenge'>[] = [];

    beforeAll(async () => {
      modelsDir = voiceOnlyTestModelsDir();
      service = await startTestService({ modelsDir, faceAnalysis: false, ...config }, { events: true, analysis: true });
      service.bus!.subscribe({ type: 'challenge' }, (e) => void (e.type === 'challenge' && challenges.push(e)));
      browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
    });

    afterAll(async () => {
      await browser?.close();
      await service?.close();
      removeDir(modelsDir);
    });

    it(`challenges a speaking caller by itself and records the outcome under the ${trigger} trigger`, async () => {
      const base = `http://127.0.0.1:${service.port}`;
      const caller = await (await browser.newContext()).newPage();
      await caller.goto(`${base}/meet?room=auto&name=Caller&autojoin=1`);
      await caller.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, { timeout: 20_000 });
      const room = service.rooms.get('auto')!;
      const callerId = [...room.peers.values()].find((p) => p.displayName === 'Caller')!.id;
      const ofCaller = (): EventOfType<'challenge'>['payload'][] => challenges.filter((e) => e.peerId === callerId).map((e) => e.payload);

      const issued = await untilValue(`a ${trigger} challenge issued to the caller`, () => ofCaller().find((c) => c.phase === 'issued'), 90_000);
      expect(issued.trigger).toBe(trigger);
      // the caller's page shows the prompt
      await caller.waitForFunction(() => (document.getElementById('prompt')?.textContent ?? '').length > 3, undefined, { timeout: 15_000 });
      // and the challenge ends with an outcome under the same trigger, never stuck
      const outcome = await untilValue('the challenge judged', () => ofCaller().find((c) => c.challengeId === issued.challengeId && c.phase === 'outcome'), 90_000);
      expect(outcome.trigger).toBe(trigger);
      expect(outcome.outcome).toMatch(/^(passed|failed|non-compliant|unclear|timed-out)$/);
      if (trigger === 'weak-evidence') {
        // a browser caller is held to the wideband threshold (0 here); the issued event says so
        expect(issued.basis).toEqual({ pFake: expect.any(Number), threshold: 0, family: 'wideband' });
        // once per call: unless the caller passed (verified), the verdict still leans (threshold 0), yet no second
        // weak-evidence challenge starts after the first ended (cooldown 0: only the once-per-call rule holds it back)
        const verdict = service.pipeline!.participant('auto', callerId)!;
        const since = verdict.current().updatedAt;
        await untilValue('verdict updates 2 s after the outcome', () => verdict.current().updatedAt > since + 2000, 30_000);
        expect(ofCaller().filter((c) => c.phase === 'issued')).toHaveLength(1);
      }
    });
  });
}

// every speaking participant drawn once a second with probability 1: the first round after the caller speaks
automaticChallenge('spot checks on a high-risk call', 'spot-check', { challengeHighRisk: true, challengeSpotCheck: 1, challengeSpotCheckMs: 1000 });
// any likely-genuine verdict leans at threshold 0: the caller's first judged verdict
automaticChallenge('a weak-evidence challenge', 'weak-evidence', { challengeLeanP: 0, challengeCooldownMs: 0 });
