/**
 * A small HTTP(S) server on node:http: exact or prefix routes, JSON helpers, static files,
 * body-size limits and typed errors (DfdError -> status + { error: { code, message } }).
 * Security on every response: a strict Content-Security-Policy on HTML pages, nosniff, no
 * framing, no referrer, HSTS under TLS; CORS only for the configured origins (none by
 * default); `Retry-After` on retryable refusals (rate limits, lockouts).
 */
import http, { type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DfdError, toDfdError } from '../errors.js';
import { createLogger } from '../log.js';
import { counter } from '../metrics.js';
import { retryAfterSec } from './refuseUpgrade.js';

const log = createLogger('http');
const httpRequests = counter<'route' | 'status'>({ name: 'dfd_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'status'] });

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Parsed JSON body (bounded by maxBodyBytes); throws ERR_BAD_JSON / ERR_MESSAGE_TOO_LARGE. */
  json(): Promise<unknown>;
}

export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown;

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
}

const mime: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface HttpServerOptions {
  maxBodyBytes: number;
  /** PEM certificate chain and key: the server speaks HTTPS (and its upgrades WSS) only. */
  tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  /** Origins (scheme://host[:port]) whose pages may call this server cross-origin; empty: none. */
  corsOrigins: readonly string[];
  /** Content-Security-Policy sent with every HTML page. */
  contentSecurityPolicy: string;
}

/**
 * The pages load only their own scripts, styles, images and media (no inline code, no eval),
 * connect only to this origin (HTTP and WebSocket), are never framed, and post forms only here.
 */
export const DEFAULT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const defaultHttpServerOptions: HttpServerOptions = {
  maxBodyBytes: 1 << 20,
  tls: undefined,
  corsOrigins: [],
  contentSecurityPolicy: DEFAULT_CSP,
};

const ORIGIN_RE = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:]+\](:\d{1,5})?$/;

/** A handler's return value written as-is (status, headers, body). */
export class RawResponse {
  constructor(
    readonly status: number,
    readonly body: string | Buffer,
    readonly headers: Record<string, string> = {},
  ) {}

  static file(file: string): RawResponse {
    if (!fs.existsSync(file)) throw new DfdError('ERR_NOT_FOUND', 'no such file');
    return new RawResponse(200, fs.readFileSync(file), { 'content-type': mime[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  }
}

export class HttpServer {
  /** The node server (an https.Server under TLS: same request and upgrade events). */
  readonly server: http.Server;
  readonly #routes: Route[] = [];
  readonly #options: HttpServerOptions;
  readonly #cors: ReadonlySet<string>;

  constructor(options: Partial<HttpServerOptions> = {}) {
    this.#options = { ...defaultHttpServerOptions, ...options };
    for (const o of this.#options.corsOrigins) {
      if (!ORIGIN_RE.test(o)) throw new DfdError('ERR_CONFIG', 'a CORS origin must be scheme://host[:port] with no path', { origin: o.slice(0, 200) });
    }
    this.#cors = new Set(this.#options.corsOrigins.map((o) => o.toLowerCase()));
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    const tls = this.#options.tls;
    this.server = tls ? (https.createServer({ cert: tls.cert, key: tls.key }, handler) as unknown as http.Server) : http.createServer(handler);
    this.server.keepAliveTimeout = 5000;
  }

  /** True when the server speaks HTTPS/WSS. */
  get secure(): boolean {
    return this.#options.tls !== undefined;
  }

  /** `pattern` like `/v1/rooms/:roomId`; a trailing `*` matches any rest as params['*']. */
  route(method: string, pattern: string, handler: Handler): this {
    const keys: string[] = [];
    const re = pattern
      .split('/')
      .map((seg) => {
        if (seg === '*') {
          keys.push('*');
          return '(.*)';
        }
        if (seg.startsWith(':')) {
          keys.push(seg.slice(1));
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.#routes.push({ method, pattern, regex: new RegExp(`^${re}$`), keys, handler });
    return this;
  }

  /** Serves files under `dir` at `prefix` (no directory listing, no path escape). */
  static(prefix: string, dir: string): this {
    return this.route('GET', `${prefix}/*`, ({ params }) => {
      const rel = path.normalize(params['*'] ?? '').replace(/^(\.\.(\/|\\|$))+/, '');
      const file = path.join(dir, rel);
      if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) throw new DfdError('ERR_NOT_FOUND', 'no such file');
      return RawResponse.file(file);
    });
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Headers every response carries (security, and CORS for an allowed origin). */
  #baseHeaders(req: IncomingMessage): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = {
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'permissions-policy': 'camera=(self), microphone=(self), geolocation=(), payment=(), usb=()',
    };
    if (this.secure) h['strict-transport-security'] = 'max-age=31536000';
    const origin = req.headers.origin;
    if (typeof origin === 'string' && this.#cors.has(origin.toLowerCase())) {
      h['access-control-allow-origin'] = origin;
      h['vary'] = 'Origin';
    }
    return h;
  }

  /** Writes the head; the base headers are already set on `res` (#handle), so streams that write their own head get them too. */
  #writeHead(res: ServerResponse, status: number, headers: Record<string, string>): void {
    const h: Record<string, string> = { ...headers };
    if ((h['content-type'] ?? '').startsWith('text/html')) h['content-security-policy'] = this.#options.contentSecurityPolicy;
    res.writeHead(status, h);
  }

  /** A CORS preflight: answered for an allowed origin, refused (403) for any other. */
  #preflight(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !this.#cors.has(origin.toLowerCase())) {
      const err = new DfdError('ERR_FORBIDDEN', 'cross-origin requests from this origin are not allowed');
      this.#writeHead(res, err.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: err.toJSON() }));
      httpRequests.inc({ route: 'preflight', status: String(err.status) });
      return;
    }
    this.#writeHead(res, 204, {
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'authorization, content-type',
      'access-control-max-age': '600',
    });
    res.end();
    httpRequests.inc({ route: 'preflight', status: '204' });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let routeName = 'none';
    for (const [k, v] of Object.entries(this.#baseHeaders(req))) if (v !== undefined) res.setHeader(k, v);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      this.#preflight(req, res);
      return;
    }
    try {
      let matched: { route: Route; params: Record<string, string> } | undefined;
      let pathMatched = false;
      for (const route of this.#routes) {
        const m = route.regex.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) continue;
        const params: Record<string, string> = {};
        route.keys.forEach((k, i) => {
          try {
            params[k] = decodeURIComponent(m[i + 1] ?? '');
          } catch {
            throw new DfdError('ERR_BAD_REQUEST', 'malformed percent-encoding in the path', { param: k });
          }
        });
        matched = { route, params };
        break;
      }
      if (!matched) {
        throw new DfdError(pathMatched ? 'ERR_METHOD_NOT_ALLOWED' : 'ERR_NOT_FOUND', url.pathname.slice(0, 200));
      }
      routeName = matched.route.pattern;
      const ctx: RequestContext = { req, res, url, params: matched.params, json: () => this.#readJson(req) };
      const out = await matched.route.handler(ctx);
      if (res.headersSent) return;
      if (out instanceof RawResponse) {
        this.#writeHead(res, out.status, out.headers);
        res.end(req.method === 'HEAD' ? undefined : out.body);
      } else {
        this.#writeHead(res, 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out ?? {}));
      }
      httpRequests.inc({ route: routeName, status: String(res.statusCode) });
    } catch (e) {
      const err = toDfdError(e);
      if (err.code === 'ERR_INTERNAL') log.error('handler failed', { route: routeName, error: e });
      const status = err.status;
      httpRequests.inc({ route: routeName, status: String(status) });
      if (!res.headersSent) {
        const retryAfter = retryAfterSec(err);
        this.#writeHead(res, status, { 'content-type': 'application/json', ...(retryAfter !== undefined && status === 429 ? { 'retry-after': String(retryAfter) } : {}) });
        res.end(JSON.stringify({ error: err.toJSON() }));
      } else res.end();
    }
  }

  #readJson(req: IncomingMessage): Promise<unknown> {
    const limit = this.#options.maxBodyBytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size > limit) {
          // The typed answer (413) goes out now and the rest of the body is read and dropped:
          // destroying the socket instead would leave the client with a reset, not the answer.
          req.off('data', onData);
          req.resume();
          chunks.length = 0;
          reject(new DfdError('ERR_MESSAGE_TOO_LARGE', undefined, { limit }));
          return;
        }
        chunks.push(c);
      };
      req.on('data', onData);
      req.on('end', () => {
        try {
          resolve(size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new DfdError('ERR_BAD_JSON'));
        }
      });
      req.on('error', reject);
    });
  }
}
