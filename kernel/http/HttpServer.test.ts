/**
 * The HTTP server's security behaviour on a real socket: headers on every answer, the
 * Content-Security-Policy on pages, CORS only for configured origins, Retry-After on 429,
 * and HTTPS with an operator certificate (a throwaway one from openssl).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { HttpServer, RawResponse, DEFAULT_CSP } from './HttpServer.js';
import { DfdError } from '../errors.js';
import { makeTestCert, type TestCert } from '../../test/helpers/tls.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(mod: typeof http | typeof https, url: string, options: https.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = mod.request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function routes(s: HttpServer): HttpServer {
  return s
    .route('GET', '/json', () => ({ ok: true }))
    .route('GET', '/page', () => new RawResponse(200, '<!doctype html><p>hi</p>', { 'content-type': 'text/html; charset=utf-8' }))
    .route('POST', '/limited', () => {
      throw new DfdError('ERR_RATE_LIMITED', 'test', { retryAfterSec: 7 });
    });
}

describe('HttpServer security (plain HTTP)', () => {
  const server = routes(new HttpServer({ corsOrigins: ['https://crm.example.com'] }));
  let base = '';
  beforeAll(async () => {
    const a = await server.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${a.port}`;
  });
  afterAll(() => server.close());

  it('sends the security headers on every answer and the CSP on pages only', async () => {
    const json = await request(http, `${base}/json`);
    expect(json.status).toBe(200);
    expect(json.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
    expect(json.headers['content-security-policy']).toBeUndefined();
    expect(json.headers['strict-transport-security']).toBeUndefined();
    const page = await request(http, `${base}/page`);
    expect(page.headers['content-security-policy']).toBe(DEFAULT_CSP);
    expect(DEFAULT_CSP).toContain("script-src 'self'");
    expect(DEFAULT_CSP).not.toContain('unsafe-inline');
    expect(DEFAULT_CSP).toContain("frame-ancestors 'none'");
    // Errors carry them too.
    const missing = await request(http, `${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
  });

  it('allows cross-origin reads only from configured origins (closed by default)', async () => {
    const other = await request(http, `${base}/json`, { headers: { origin: 'https://evil.example' } });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const crm = await request(http, `${base}/json`, { headers: { origin: 'https://crm.example.com' } });
    expect(crm.headers['access-control-allow-origin']).toBe('https://crm.example.com');
    expect(crm.headers['vary']).toBe('Origin');
    const preflight = await request(http, `${base}/json`, { method: 'OPTIONS', headers: { origin: 'https://crm.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    const refused = await request(http, `${base}/json`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.code).toBe('ERR_FORBIDDEN');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const closed = routes(new HttpServer());
    const a = await closed.listen(0, '127.0.0.1');
    try {
      const r = await request(http, `http://127.0.0.1:${a.port}/json`, { headers: { origin: 'https://crm.example.com' } });
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await closed.close();
    }
  });

  it('answers a retryable refusal with 429, its code and Retry-After', async () => {
    const r = await request(http, `${base}/limited`, { method: 'POST' });
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('7');
    expect(JSON.parse(r.body).error.code).toBe('ERR_RATE_LIMITED');
  });

  it('refuses a CORS origin that is not scheme://host[:port]', () => {
    expect(() => new HttpServer({ corsOrigins: ['https://crm.example.com/path'] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => new HttpServer({ corsOrigins: ['*'] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('HttpServer over TLS with an operator certificate', () => {
  let cert: TestCert;
  let server: HttpServer;
  let port = 0;
  beforeAll(async () => {
    cert = makeTestCert();
    server = routes(new HttpServer({ tls: { cert: cert.cert, key: fs.readFileSync(cert.keyFile) } }));
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(cert.dir, { recursive: true, force: true });
  });

  it('serves HTTPS with HSTS, and plain HTTP on that port gets no answer', async () => {
    expect(server.secure).toBe(true);
    const r = await request(https, `https://localhost:${port}/json`, { ca: cert.cert });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
    expect(r.headers['strict-transport-security']).toContain('max-age=');
    await expect(request(http, `http://127.0.0.1:${port}/json`)).rejects.toThrow();
    // A client that does not trust the certificate is refused by its own TLS check.
    await expect(request(https, `https://localhost:${port}/json`)).rejects.toThrow(/self-signed|self signed/);
  });
});
