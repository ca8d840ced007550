/**
 * The service's own HTTP routes, beside the REST API (api/routes.ts) and the call history
 * (api/callRoutes.ts), registered by `Service` on its HTTP server:
 *
 *   GET /, /meet                 the meeting page (/ redirects to it)
 *   GET /dashboard               the dashboard (signed out: redirect to /dashboard/login)
 *   GET /dashboard/login         the sign-in page
 *   GET /favicon.ico, /web/...   the built browser code and assets (web-dist)
 *   GET /healthz                 the service's health checks: 200 all ok, 503 otherwise
 *   GET /metrics                 Prometheus exposition
 *   GET /v1/demo/token           a participant join token (DFD_DEMO_TOKENS; joins rate-limited)
 */
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { RawResponse, type HttpServer } from '../kernel/http/HttpServer.js';
import { exposition } from '../kernel/metrics.js';
import { DfdError } from '../kernel/errors.js';
import type { OperatorAuth } from '../api/OperatorAuth.js';
import type { Config } from './config.js';
import { repoRoot } from './config.js';

/** What the routes need of the service. */
export interface ServiceRoutesDeps {
  /** Read per request. */
  config: Pick<Config, 'demoTokens' | 'demoRoom'>;
  auth: OperatorAuth;
  health(): Promise<{ ok: boolean; checks: Record<string, unknown> }>;
  /** True once shutdown began: demo tokens are refused (ERR_SHUTTING_DOWN). */
  shuttingDown(): boolean;
  /** The per-client join limit; throws ERR_RATE_LIMITED. */
  admitJoin(req: IncomingMessage): void;
  issueToken(room: string, name: string): { token: string; room: string; peer: string };
}

export function registerServiceRoutes(http: HttpServer, deps: ServiceRoutesDeps): void {
  const webDir = path.join(repoRoot, 'web-dist');
  http
    .route('GET', '/', () => new RawResponse(302, '', { location: '/meet' }))
    .route('GET', '/meet', () => RawResponse.file(path.join(webDir, 'meet.html')))
    .route('GET', '/dashboard', ({ req }) => {
      try {
        deps.auth.authenticate(req);
      } catch {
        return new RawResponse(302, '', { location: '/dashboard/login' });
      }
      return RawResponse.file(path.join(webDir, 'dashboard.html'));
    })
    .route('GET', '/dashboard/login', () => RawResponse.file(path.join(webDir, 'login.html')))
    // Every page links /web/favicon.svg; browsers that ask for /favicon.ico get the same icon.
    .route('GET', '/favicon.ico', () => RawResponse.file(path.join(webDir, 'favicon.svg')))
    .static('/web', webDir)
    .route('GET', '/healthz', async () => {
      const h = await deps.health();
      return new RawResponse(h.ok ? 200 : 503, JSON.stringify(h), { 'content-type': 'application/json' });
    })
    .route('GET', '/metrics', async () => {
      const m = await exposition();
      return new RawResponse(200, m.text, { 'content-type': m.contentType });
    })
    .route('GET', '/v1/demo/token', ({ url, req }) => {
      if (!deps.config.demoTokens) throw new DfdError('ERR_FORBIDDEN', 'demo tokens are disabled');
      if (deps.shuttingDown()) throw new DfdError('ERR_SHUTTING_DOWN');
      deps.admitJoin(req);
      const room = url.searchParams.get('room') ?? deps.config.demoRoom;
      const name = (url.searchParams.get('name') ?? 'Guest').slice(0, 80) || 'Guest';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) throw new DfdError('ERR_BAD_REQUEST', 'room must match [A-Za-z0-9_-]{1,64}');
      return deps.issueToken(room, name);
    });
}
