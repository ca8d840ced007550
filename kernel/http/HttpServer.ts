/**
 * A small HTTP server on node:http: exact or prefix routes, JSON helpers, static files,
 * body-size limits and typed errors (DfdError -> status + { error: { code, message } }).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DfdError, toDfdError } from '../errors.js';
import { createLogger } from '../log.js';
import { counter } from '../metrics.js';

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
}

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
  readonly server: http.Server;
  readonly #routes: Route[] = [];
  readonly #options: HttpServerOptions;

  constructor(options: Partial<HttpServerOptions> = {}) {
    this.#options = { maxBodyBytes: 1 << 20, ...options };
    this.server = http.createServer((req, res) => void this.#handle(req, res));
    this.server.keepAliveTimeout = 5000;
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

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let routeName = 'none';
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
        res.writeHead(out.status, out.headers);
        res.end(req.method === 'HEAD' ? undefined : out.body);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out ?? {}));
      }
      httpRequests.inc({ route: routeName, status: String(res.statusCode) });
    } catch (e) {
      const err = toDfdError(e);
      if (err.code === 'ERR_INTERNAL') log.error('handler failed', { route: routeName, error: e });
      const status = err.status;
      httpRequests.inc({ route: routeName, status: String(status) });
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'application/json' });
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
