/**
 * Security of the running service, end to end: HTTPS and WSS with an operator certificate
 * (a throwaway one from openssl), the meeting page, sign-in page, dashboard and call history
 * in real Chromium under the strict Content-Security-Policy with no violation, operator
 * sign-in lockout, and per-client rate limits on sign-in, tokens and joins (the clients are
 * told apart by X-Forwarded-For, which the service trusts here as it would behind a proxy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import fs from 'node:fs';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { startTestService } from '../helpers/service.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixtures } from '../fixtures/build.js';
import { makeTestCert, type TestCert } from '../helpers/tls.js';
import type { Service } from '../../src/Service.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const WAIT = { timeout: 60_000 };

describe('security of the running service (HTTPS, CSP, lockout, rate limits)', () => {
  let cert: TestCert;
  let service: Service;
  let browser: Browser;
  let base: string;

  const call = (method: string, path: string, opts: { body?: unknown; client?: string; headers?: Record<string, string> } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = https.request(
        `${base}${path}`,
        {
          method,
          ca: cert.cert,
          headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(opts.client ? { 'x-forwarded-for': opts.client } : {}), ...opts.headers },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const codeOf = (a: Answer): string | undefined => (JSON.parse(a.body || '{}') as { error?: { code?: string } }).error?.code;

  beforeAll(async () => {
    if (!fs.existsSync('web-dist/login.js')) throw new Error('web-dist is not built (run node scripts/build-web.mjs)');
    cert = makeTestCert();
    service = await startTestService(
      { tlsCert: cert.certFile, tlsKey: cert.keyFile, trustProxy: true, authRatePerMin: 5, joinRatePerMin: 5, loginMaxFailures: 3, loginLockoutSec: 600 },
      { events: true, analysis: false },
    );
    base = `https://localhost:${service.port}`;
    browser = await launchBrowser({ wav: fixtures.speechWav, y4m: fixtures.testY4m });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    if (cert) fs.rmSync(cert.dir, { recursive: true, force: true });
  });

  it('serves the meeting page, sign-in, dashboard and call history over HTTPS/WSS under a strict CSP with no violation', async () => {
    expect(service.baseUrl).toMatch(/^https:\/\//);
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    // Every CSP violation of every page, from the page itself and from Chromium's console.
    await ctx.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const consoleViolations: string[] = [];
    const watch = (p: Page): Page => {
      p.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) consoleViolations.push(m.text());
      });
      return p;
    };
    const violations = (p: Page): Promise<string[]> => p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

    const meet = watch(await ctx.newPage());
    const doc = await meet.goto(`${base}/meet?room=sec&name=Alice&autojoin=1`);
    expect(doc?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(doc?.headers()['strict-transport-security']).toContain('max-age=');
    // Joined: the demo token came over HTTPS and signalling over WSS (the page picks wss: on https:).
    await meet.waitForFunction(() => document.body.dataset['status'] === 'joined', undefined, WAIT);
    expect(await violations(meet)).toEqual([]);

    const dash = watch(await ctx.newPage());
    await dash.goto(`${base}/dashboard`);
    expect(new URL(dash.url()).pathname).toBe('/dashboard/login');
    await dash.getByLabel('Password').fill('test-password');
    await dash.getByRole('button', { name: 'Sign in' }).click();
    await dash.waitForURL(/\/dashboard$/, WAIT);
    await dash.locator('[data-testid="room"][data-room="sec"]').waitFor(WAIT);
    expect(await violations(dash)).toEqual([]);

    const calls = watch(await ctx.newPage());
    await calls.goto(`${base}/dashboard/calls`);
    await calls.getByTestId('filters').waitFor(WAIT);
    expect(await violations(calls)).toEqual([]);
    expect(await violations(meet)).toEqual([]);
    expect(consoleViolations).toEqual([]);
    // Control: the policy is enforced and the collector sees it (an injected inline script is blocked).
    await calls.addScriptTag({ content: 'window.injected = 1' }).catch(() => undefined);
    await calls.waitForFunction(() => (window as unknown as { cspViolations: string[] }).cspViolations.length > 0, undefined, WAIT);
    expect(await calls.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
    expect((await violations(calls)).join()).toMatch(/script-src/);
    await ctx.close();
  });

  it('locks out an address after repeated wrong passwords, even for the right one, and tells it when to retry', async () => {
    const attacker = '203.0.113.7';
    for (let i = 0; i < 3; i++) {
      const r = await call('POST', '/v1/auth/login', { client: attacker, body: { username: 'operator', password: `guess-${i}` } });
      expect(r.status).toBe(401);
      expect(codeOf(r)).toBe('ERR_TOKEN_INVALID');
    }
    const locked = await call('POST', '/v1/auth/login', { client: attacker, body: { username: 'operator', password: 'test-password' } });
    expect(locked.status).toBe(429);
    expect(codeOf(locked)).toBe('ERR_LOCKED_OUT');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(500);
    expect(locked.headers['set-cookie']).toBeUndefined();
    // The operator at another address still signs in.
    const ok = await call('POST', '/v1/auth/login', { client: '198.51.100.20', body: { username: 'operator', password: 'test-password' } });
    expect(ok.status).toBe(200);
    expect(String(ok.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('rate-limits sign-in, token requests and joins per client, without touching other clients', async () => {
    const noisy = '203.0.113.8';
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) answers.push((await call('POST', '/v1/auth/login', { client: noisy, body: { username: 'x', password: 'y' } })).status);
    // 5 per minute: three wrong passwords, then the lockout (both count), then the rate limit.
    expect(answers.slice(0, 5).every((s) => s === 401 || s === 429)).toBe(true);
    const sixth = await call('POST', '/v1/auth/login', { client: noisy, body: { username: 'x', password: 'y' } });
    expect(sixth.status).toBe(429);
    expect(codeOf(sixth)).toBe('ERR_RATE_LIMITED');
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const joiner = '203.0.113.9';
    for (let i = 0; i < 5; i++) expect((await call('GET', '/v1/demo/token?room=sec2', { client: joiner })).status).toBe(200);
    const tooMany = await call('GET', '/v1/demo/token?room=sec2', { client: joiner });
    expect(tooMany.status).toBe(429);
    expect(codeOf(tooMany)).toBe('ERR_RATE_LIMITED');
    // The same client's next WebSocket upgrade (signalling) is refused before any socket exists.
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`wss://localhost:${service.port}/ws`, { ca: cert.cert, headers: { 'x-forwarded-for': joiner } });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('upgrade was accepted')));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(429);
    // Another client joins over WSS at once.
    const opened = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`wss://localhost:${service.port}/ws`, { ca: cert.cert, headers: { 'x-forwarded-for': '198.51.100.30' } });
      ws.on('open', () => {
        resolve(true);
        ws.close();
      });
      ws.on('unexpected-response', () => resolve(false));
      ws.on('error', () => resolve(false));
    });
    expect(opened).toBe(true);
  });
});
