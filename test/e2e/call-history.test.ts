/**
 * End to end: call history and evidence bundles against the real service (real mediasoup
 * worker, real WebSocket signalling, embedded nats-server with JetStream) and real Chromium.
 *
 * A participant joins over signalling, the call's verdict/score/challenge events go through
 * NATS into the audit trail (analysis is off so every value is exact; the pipeline's events take
 * the same publish path), an operator decision goes through the REST API, and the participant
 * leaves. Then: `GET /v1/calls` lists the ended call with its final state, `GET /v1/calls/{id}`
 * has the timeline, the models the last verdict named, the challenge and the decision, the
 * evidence bundle passes `npm run verify-evidence` (a child process, as a recipient would run it)
 * and a copy with one changed byte fails with its position. The dashboard's history pages show the call and download the same bundle.
 * Every wait polls a condition against a deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { TestSignallingClient } from '../helpers/wsClient.js';
import { launchBrowser, artifactsDir } from '../helpers/browser.js';
import { auditPage, formatViolations } from '../helpers/axe.js';
import { makeEvent } from '../../events/schema.js';
import { verifyEvidence } from '../../evidence/verifyEvidence.js';
import type { Service } from '../../src/Service.js';

const ROOM = 'history-e2e';
const WAIT = { timeout: 20_000 };

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function bearer(port: number): Promise<Record<string, string>> {
  const login = await fetch(`http://127.0.0.1:${port}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
  return { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
}

/** Runs `npm run verify-evidence -- FILE` as its own process. */
function verifyCli(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'verify-evidence', '--', file], { cwd: path.resolve('.'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('call history and evidence bundles (real service, real NATS, real Chromium)', () => {
  let service: Service;
  let base: string;
  let auth: Record<string, string>;
  let dir: string;
  let callId: string;
  let peer: string;

  const get = async (p: string): Promise<{ status: number; json: Record<string, unknown>; text: string }> => {
    const r = await fetch(`${base}${p}`, { headers: auth });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = {};
    }
    return { status: r.status, json, text };
  };

  beforeAll(async () => {
    service = await startTestService({}, { events: true, analysis: false });
    base = `http://127.0.0.1:${service.port}`;
    const login = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
    auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-history-e2e-'));
  });

  afterAll(async () => {
    await service?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a participant joins and leaves: the call is listed with its final state, detail and a bundle that verifies offline', async () => {
    const client = await TestSignallingClient.connect(service.port);
    const issued = service.issueToken(ROOM, 'Zoë');
    peer = issued.peer;
    expect((await client.request('join', { token: issued.token })).ok).toBe(true);
    const room = await until(() => get(`/v1/rooms/${ROOM}`), (r) => r.status === 200, 'the room');
    callId = String(room.json['callId']);

    const envelope = { roomId: ROOM, peerId: peer, displayName: 'Zoë', callId, models: [{ id: 'voice-antispoof', version: '0.2.0' }] };
    const t0 = Date.now();
    const at = (s: number) => new Date(t0 + s * 1000);
    for (let i = 0; i < 4; i++) service.publish(makeEvent('score', envelope, { detector: 'voice-antispoof', pFake: 0.5 + 0.1 * i, evidence: 2, windowSeq: i, queueMs: 1, inferenceMs: 2, weight: 0.25 }, at(i)));
    // A verdict names every model that ran, with its windows and (when any) its windows dropped under load.
    const ran = (s: number) => [
      { id: 'voice-antispoof', version: '0.2.0', task: 'voice-antispoof', windows: 2 * s },
      { id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 2 * s - 1, dropped: 1 },
    ];
    const verdict = (state: 'collecting' | 'suspicious', pFake: number, s: number) =>
      makeEvent('verdict', { ...envelope, models: ran(s) }, { state, pFake, confidence: 0.55, evidence: { speechSeconds: 2 * s, faceFrames: 0 }, quality: { packetLoss: 0 }, dropped: {} }, at(s));
    service.publish(verdict('collecting', 0.5, 1));
    service.publish(verdict('suspicious', 0.66, 3));
    const challenge = { challengeId: 'ch-e2e', challengeType: 'hum-melody', modality: 'audio' as const };
    service.publish(makeEvent('challenge', envelope, { ...challenge, phase: 'issued', trigger: 'weak-evidence', basis: { pFake: 0.571, threshold: 0.56, family: 'telephone' }, promptText: 'Hum the melody you hear.' }, at(4)));
    service.publish(makeEvent('challenge', envelope, { ...challenge, phase: 'outcome', outcome: 'failed', reason: 'pitch contour does not follow', measurements: { contourCorr: 0.12 } }, at(9)));
    // The decision goes through the API, while the participant is still in the call.
    await until(() => get(`/v1/rooms/${ROOM}/participants/${peer}`), (r) => (r.json['verdict'] as { state?: string } | undefined)?.state === 'suspicious', 'the verdict in the registry');
    const decision = await fetch(`${base}/v1/rooms/${ROOM}/participants/${peer}/decision`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'confirm', note: 'caller could not hum' }) });
    expect(decision.status).toBe(200);

    client.close();
    const listed = await until(
      () => get(`/v1/calls?room=${ROOM}&status=ended`),
      (r) => (r.json['calls'] as unknown[] | undefined)?.length === 1 && ((r.json['calls'] as { decisions: unknown[] }[])[0]?.decisions.length ?? 0) === 1,
      'the ended call in GET /v1/calls',
    );
    const entry = (listed.json['calls'] as Record<string, unknown>[])[0]!;
    expect(entry).toMatchObject({
      callId,
      roomId: ROOM,
      kind: 'room',
      live: false,
      worstState: 'suspicious',
      // the last verdict's speaker-embed dropped 1 window under load: the speaker model's, not the verdict's evidence
      participants: [{ peerId: peer, displayName: 'Zoë', finalState: 'suspicious', pFake: 0.66, dropped: 1, droppedSpeaker: 1 }],
      challenges: { total: 1, passed: 0, failed: 1, other: 0 },
      decisions: [{ decision: 'confirm', tagState: 'suspicious', operator: 'operator' }],
    });
    expect(entry['endedAt']).toEqual(expect.any(String));
    expect(entry['durationSec']).toEqual(expect.any(Number));
    // Filters: by state, time range; bad values are typed 400s.
    expect(((await get(`/v1/calls?state=suspicious&room=${ROOM}`)).json['calls'] as unknown[]).length).toBe(1);
    expect(((await get(`/v1/calls?state=verified&room=${ROOM}`)).json['calls'] as unknown[]).length).toBe(0);
    expect(((await get(`/v1/calls?analysis=thinned&room=${ROOM}`)).json['calls'] as unknown[]).length).toBe(1);
    expect(((await get(`/v1/calls?analysis=complete&room=${ROOM}`)).json['calls'] as unknown[]).length).toBe(0);
    expect(((await get(`/v1/calls?analysis=evidence-thinned&room=${ROOM}`)).json['calls'] as unknown[]).length).toBe(0);
    expect(((await get(`/v1/calls?room=${ROOM}&to=${encodeURIComponent(new Date(t0 - 3_600_000).toISOString())}`)).json['calls'] as unknown[]).length).toBe(0);
    for (const bad of ['state=maybe', 'analysis=partial', 'from=yesterday', 'limit=0', 'room=a.b', 'colour=red', 'to=2026-02-30T00:00:00Z']) {
      const r = await get(`/v1/calls?${bad}`);
      expect(r.status, bad).toBe(400);
      expect((r.json['error'] as { code: string }).code, bad).toBe('ERR_BAD_REQUEST');
    }
    expect((await fetch(`${base}/v1/calls`)).status).toBe(401);
    expect((await get('/v1/calls/c-does-not-exist')).status).toBe(404);
    for (const badId of ['a.b', '%E0%A4%A']) {
      const r = await get(`/v1/calls/${badId}`);
      expect(r.status, badId).toBe(400);
      expect((r.json['error'] as { code: string }).code).toBe('ERR_BAD_REQUEST');
    }

    const detail = await get(`/v1/calls/${callId}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({ source: 'audit-trail', events: 9 });
    const zoe = (detail.json['participants'] as Record<string, unknown>[])[0]!;
    expect((zoe['timeline'] as { kind: string }[]).map((p) => p.kind)).toEqual(['score', 'score', 'verdict', 'score', 'score', 'verdict']);
    // what the last verdict rested on
    expect(zoe['models']).toEqual([
      { id: 'voice-antispoof', version: '0.2.0', task: 'voice-antispoof', windows: 6, dropped: 0 },
      { id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 5, dropped: 1 },
    ]);
    expect(zoe['challenges']).toEqual([expect.objectContaining({ challengeId: 'ch-e2e', trigger: 'weak-evidence', basis: { pFake: 0.571, threshold: 0.56, family: 'telephone' }, outcome: 'failed', measurements: { contourCorr: 0.12 } })]);
    expect(zoe['decisions']).toEqual([expect.objectContaining({ decision: 'confirm', note: 'caller could not hum' })]);

    const evidence = await until(
      () => get(`/v1/calls/${callId}/evidence`),
      (r) => r.status === 200 && verifyEvidence(r.text).ok && (verifyEvidence(r.text) as { summary: { anchors: { callEndCoversHead: boolean } } }).summary.anchors.callEndCoversHead,
      'a bundle covered by the call-end anchor',
    );
    const bundle = evidence.json as { events: { type: string; payload: Record<string, unknown> }[]; seal: { keyFingerprint: string } };
    expect(bundle.events.map((e) => e.type)).toEqual(['score', 'score', 'score', 'score', 'verdict', 'verdict', 'challenge', 'challenge', 'decision']);
    // No media: no field that could hold samples or pictures, anywhere in the file.
    const keys = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
      }
    };
    walk(bundle);
    for (const k of ['samples', 'pcm', 'media', 'rtp', 'frames', 'image', 'jpeg', 'png', 'wav', 'opus']) expect(keys.has(k), k).toBe(false);
    expect(evidence.text.length).toBeLessThan(64 * 1024);
    const key = await get('/v1/evidence/key');
    expect(key.json['keyFingerprint']).toBe(bundle.seal.keyFingerprint);

    const good = path.join(dir, 'bundle.json');
    fs.writeFileSync(good, evidence.text);
    const ok = await verifyCli(good);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('VALID');
    expect(ok.out).toContain('written at call end');

    // One changed byte inside the third event (windowSeq 2 -> 7): rejected, with the event and its bytes.
    const text = evidence.text;
    const eventStart = (n: number): number => {
      let at = text.indexOf('"events": [');
      for (let i = 0; i <= n; i++) at = text.indexOf('\n    {', at + 1);
      return Buffer.byteLength(text.slice(0, at + 5));
    };
    const flipAt = Buffer.byteLength(text.slice(0, text.indexOf('"windowSeq": 2') + '"windowSeq": '.length));
    const tampered = Buffer.from(text);
    tampered[flipAt] = '7'.charCodeAt(0);
    const bad = path.join(dir, 'bundle-tampered.json');
    fs.writeFileSync(bad, tampered);
    const ko = await verifyCli(bad);
    expect(ko.code, ko.out).toBe(1);
    expect(ko.out).toContain('ERR_EVIDENCE_CHAIN');
    expect(ko.out).toContain(`at byte ${eventStart(2)}`);
    expect(ko.out).toContain('event 2');
    const report = verifyEvidence(tampered);
    expect(report.ok).toBe(false);
    if (!report.ok) expect(report.problem.byteOffset <= flipAt && flipAt < report.problem.byteEnd).toBe(true);
  });

  it('keeps the history and the evidence key across a restart of the service', async () => {
    const dataDir = path.join(dir, 'data');
    const first = await startTestService({ dataDir }, { events: true, analysis: false });
    let firstCall: string;
    let fingerprint: string;
    try {
      const client = await TestSignallingClient.connect(first.port);
      expect((await client.request('join', { token: first.issueToken('restart-room', 'Ana').token })).ok).toBe(true);
      firstCall = first.registry.openCall('restart-room')!.callId;
      client.close();
      await until(async () => first.history?.entry(firstCall)?.live, (live) => live === false, 'the call to end');
      const key = (await (await fetch(`http://127.0.0.1:${first.port}/v1/evidence/key`, { headers: await bearer(first.port) })).json()) as { keyFingerprint: string };
      fingerprint = key.keyFingerprint;
    } finally {
      await first.close();
    }
    const second = await startTestService({ dataDir }, { events: true, analysis: false });
    try {
      const headers = await bearer(second.port);
      const list = (await (await fetch(`http://127.0.0.1:${second.port}/v1/calls?room=restart-room`, { headers })).json()) as { calls: { callId: string; live: boolean; participants: { displayName: string }[] }[] };
      expect(list.calls).toEqual([expect.objectContaining({ callId: firstCall, live: false, participants: [expect.objectContaining({ displayName: 'Ana' })] })]);
      const text = await (await fetch(`http://127.0.0.1:${second.port}/v1/calls/${firstCall}/evidence`, { headers })).text();
      const report = verifyEvidence(text, { expectedKeyFingerprint: fingerprint });
      expect(report, JSON.stringify(report)).toMatchObject({ ok: true, summary: { callId: firstCall, keyFingerprint: fingerprint } });
    } finally {
      await second.close();
    }
  });

  describe('dashboard history pages', () => {
    let browser: Browser;
    beforeAll(async () => {
      if (!fs.existsSync(path.resolve('web-dist/calls.html'))) throw new Error('web-dist is not built (run node scripts/build-web.mjs)');
      browser = await launchBrowser();
      fs.mkdirSync(artifactsDir, { recursive: true });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('lists the call, filters, shows its timeline and challenge, and downloads a bundle that verifies', async () => {
      expect(callId).toBeDefined();
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
      const signedOut = await ctx.newPage();
      await signedOut.goto(`${base}/dashboard/calls`);
      expect(new URL(signedOut.url()).pathname).toBe('/dashboard/login');
      expect((await ctx.request.post(`${base}/v1/auth/login`, { data: { username: 'operator', password: 'test-password' } })).status()).toBe(200);

      const dash = await ctx.newPage();
      await dash.goto(`${base}/dashboard`);
      await dash.getByTestId('history-link').click();
      await dash.waitForURL(`${base}/dashboard/calls`, WAIT);
      const row = dash.locator(`[data-testid="call-row"][data-call="${callId}"]`);
      await expect.poll(() => row.count(), WAIT).toBe(1);
      expect(await row.getAttribute('data-live')).toBe('false');
      expect(await row.getByTestId('final-state').getAttribute('data-state')).toBe('suspicious');
      expect(await row.getByTestId('call-challenges').textContent()).toBe('1 issued, 1 failed');
      expect(await row.getByTestId('call-decisions').textContent()).toContain('confirm');
      expect(await row.getByTestId('call-dropped').textContent()).toBe('1 speaker check dropped under load');

      // Filters go to the API and into the page URL; a bad room shows the typed error, not a crash.
      // Analysis thinned under load: the call is listed; complete: it is not.
      await dash.getByTestId('filter-analysis').selectOption('complete');
      await dash.getByTestId('apply-filters').click();
      await expect.poll(() => dash.getByTestId('calls-summary').textContent(), WAIT).toBe('No calls match these filters.');
      expect(new URL(dash.url()).searchParams.get('analysis')).toBe('complete');
      // Only the speaker model's window was dropped: the verdict's evidence is whole.
      await dash.getByTestId('filter-analysis').selectOption('evidence-thinned');
      await dash.getByTestId('apply-filters').click();
      await expect.poll(() => dash.getByTestId('calls-summary').textContent(), WAIT).toBe('No calls match these filters.');
      expect(new URL(dash.url()).searchParams.get('analysis')).toBe('evidence-thinned');
      await dash.getByTestId('filter-analysis').selectOption('thinned');
      await dash.getByTestId('apply-filters').click();
      await expect.poll(() => row.count(), WAIT).toBe(1);
      await dash.getByTestId('filter-analysis').selectOption('');
      await dash.getByTestId('filter-state').selectOption('verified');
      await dash.getByTestId('apply-filters').click();
      await expect.poll(() => dash.getByTestId('calls-summary').textContent(), WAIT).toBe('No calls match these filters.');
      expect(new URL(dash.url()).searchParams.get('state')).toBe('verified');
      await dash.getByTestId('filter-state').selectOption('suspicious');
      await dash.getByTestId('filter-room').fill('no such room!');
      await dash.getByTestId('apply-filters').click();
      await expect.poll(() => dash.getByTestId('history-error').getAttribute('data-code'), WAIT).toBe('ERR_BAD_REQUEST');
      expect(await dash.getByTestId('filter-room').getAttribute('aria-invalid')).toBe('true');
      await dash.getByTestId('filter-room').fill(ROOM);
      await dash.getByTestId('apply-filters').click();
      await expect.poll(() => row.count(), WAIT).toBe(1);
      await dash.screenshot({ path: path.join(artifactsDir, 'call-history.png'), fullPage: true });
      expect(formatViolations(await auditPage(dash))).toBe('');

      await row.getByTestId('call-link').click();
      await dash.waitForURL(`${base}/dashboard/call?id=${callId}`, WAIT);
      await dash.waitForFunction(() => document.body.dataset['status'] === 'ready', undefined, WAIT);
      expect(await dash.getByTestId('meta-status').textContent()).toBe('ended');
      const p = dash.locator(`[data-testid="participant"][data-peer="${peer}"]`);
      expect(await p.getByTestId('final-state').getAttribute('data-state')).toBe('suspicious');
      expect(Number(await p.getByTestId('timeline').getAttribute('data-points'))).toBe(8);
      expect(await p.getByTestId('coverage').textContent()).toBe('Analysed by voice-antispoof 0.2.0 (6 windows), speaker-embed 1.1.0 (5 windows, 1 dropped under load)');
      expect(await p.getByTestId('coverage').getAttribute('data-dropped')).toBe('1');
      expect(await p.locator('[data-testid="timeline"] canvas').count()).toBe(1);
      expect(await p.locator('.u-legend .u-series .u-label').allTextContents()).toEqual(['P(fake) verdict', 'confidence', 'voice-antispoof (weight 0.25)']);
      expect(await p.getByTestId('challenge').getAttribute('data-outcome')).toBe('failed');
      // a weak-evidence challenge shows what it acted on
      expect(await p.getByTestId('challenge').textContent()).toContain('weak-evidence (pFake 0.57 ≥ 0.56, phone-leg threshold)');
      expect(await p.getByTestId('decision').getAttribute('data-decision')).toBe('confirm');
      await dash.screenshot({ path: path.join(artifactsDir, 'call-detail.png'), fullPage: true });
      expect(formatViolations(await auditPage(dash))).toBe('');

      const [download] = await Promise.all([dash.waitForEvent('download', WAIT), dash.getByTestId('download-evidence').click()]);
      expect(download.suggestedFilename()).toBe(`evidence-${ROOM}-${callId}.json`);
      const saved = path.join(dir, download.suggestedFilename());
      await download.saveAs(saved);
      const report = verifyEvidence(fs.readFileSync(saved));
      expect(report.ok, JSON.stringify(report)).toBe(true);
      await expect.poll(() => dash.getByTestId('download-status').textContent(), WAIT).toContain('verify-evidence');

      const missing = await ctx.newPage();
      await missing.goto(`${base}/dashboard/call?id=c-nope`);
      await expect.poll(() => missing.getByTestId('history-error').getAttribute('data-code'), WAIT).toBe('ERR_NOT_FOUND');
      await ctx.close();
    });
  });
});
