/**
 * The whole service, wired: mediasoup workers -> rooms -> signalling (WebSocket) and
 * HTTP (meeting page, health, metrics, API) -> media taps -> analysis pipeline.
 * `main.ts` starts it from the environment; tests start it with overrides.
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { repoRoot } from './config.js';
import { HttpServer, RawResponse } from './http/HttpServer.js';
import { registry, collectDefaultMetrics } from './metrics.js';
import { createLogger } from './log.js';
import { DfdError } from './errors.js';
import { WorkerPool } from '../sfu/WorkerPool.js';
import { RoomManager } from '../sfu/RoomManager.js';
import { SignallingServer } from '../sfu/signalling/SignallingServer.js';
import { TokenSigner } from '../sfu/tokens.js';
import type { MediaTap } from '../sfu/MediaTap.js';
import type { Room } from '../sfu/Room.js';

const log = createLogger('service');

export type HealthCheck = () => Promise<{ ok: boolean; [k: string]: unknown }> | { ok: boolean; [k: string]: unknown };

export interface TapConsumer {
  /** Called for every new tap; the consumer attaches its sink and resumes the tap. */
  onTap(tap: MediaTap, room: Room): void;
}

export class Service {
  readonly config: Config;
  readonly http: HttpServer;
  readonly pool: WorkerPool;
  readonly rooms: RoomManager;
  readonly signalling: SignallingServer;
  readonly tokens: TokenSigner;
  readonly #health = new Map<string, HealthCheck>();
  readonly #closers: (() => Promise<void> | void)[] = [];
  #address: AddressInfo | undefined;

  private constructor(config: Config, pool: WorkerPool) {
    this.config = config;
    this.pool = pool;
    this.http = new HttpServer();
    this.tokens = new TokenSigner(config.tokenSecret || undefined);
    this.rooms = new RoomManager(pool, {
      maxPeers: config.maxPeersPerRoom,
      maxTransportsPerPeer: config.maxTransportsPerPeer,
      maxProducersPerPeer: config.maxProducersPerPeer,
      listenIp: config.listenIp,
      announcedIp: config.announcedIp || undefined,
    });
    this.signalling = new SignallingServer(this.http.server, this.rooms, this.tokens, {
      maxMessageBytes: config.maxMessageBytes,
      joinTimeoutMs: config.joinTimeoutMs,
    });
    this.addHealthCheck('mediasoup', () => ({ ok: pool.alive() === pool.slots.length, alive: pool.alive(), total: pool.slots.length }));
    this.#routes();
  }

  static async start(config: Config): Promise<Service> {
    collectDefaultMetrics();
    const pool = await WorkerPool.create({ numWorkers: config.numWorkers, rtcMinPort: config.rtcMinPort, rtcMaxPort: config.rtcMaxPort });
    const service = new Service(config, pool);
    try {
      service.#address = await service.http.listen(config.port, config.host);
    } catch (e) {
      pool.close();
      throw e;
    }
    log.info('service listening', { port: service.#address.port });
    return service;
  }

  get port(): number {
    return this.#address?.port ?? 0;
  }

  get baseUrl(): string {
    if (this.config.publicUrl) return this.config.publicUrl.replace(/\/$/, '');
    return `http://localhost:${this.port}`;
  }

  addHealthCheck(name: string, check: HealthCheck): void {
    this.#health.set(name, check);
  }

  /** Registers something to close (in reverse order) when the service closes. */
  onClose(fn: () => Promise<void> | void): void {
    this.#closers.push(fn);
  }

  /** Routes every tap to the consumer (the analysis pipeline). */
  attachTapConsumer(consumer: TapConsumer): void {
    this.rooms.on('tapopen', (tap, room) => consumer.onTap(tap, room));
  }

  issueToken(room: string, name: string, role: 'participant' | 'observer' | 'operator' = 'participant', peer?: string): { token: string; room: string; peer: string } {
    const peerId = peer ?? `p-${randomUUID().slice(0, 8)}`;
    return { token: this.tokens.sign({ room, peer: peerId, name, role }, this.config.tokenTtlSec), room, peer: peerId };
  }

  async health(): Promise<{ ok: boolean; checks: Record<string, unknown> }> {
    const checks: Record<string, unknown> = {};
    let ok = true;
    for (const [name, check] of this.#health) {
      try {
        const r = await check();
        checks[name] = r;
        ok &&= r.ok;
      } catch (e) {
        checks[name] = { ok: false, error: e instanceof Error ? e.message : String(e) };
        ok = false;
      }
    }
    return { ok, checks };
  }

  #routes(): void {
    const webDir = path.join(repoRoot, 'web-dist');
    this.http
      .route('GET', '/', () => new RawResponse(302, '', { location: '/meet' }))
      .route('GET', '/meet', () => RawResponse.file(path.join(webDir, 'meet.html')))
      .static('/web', webDir)
      .route('GET', '/healthz', async () => {
        const h = await this.health();
        return new RawResponse(h.ok ? 200 : 503, JSON.stringify(h), { 'content-type': 'application/json' });
      })
      .route('GET', '/metrics', async () => new RawResponse(200, await registry.metrics(), { 'content-type': registry.contentType }))
      .route('GET', '/v1/demo/token', ({ url }) => {
        if (!this.config.demoTokens) throw new DfdError('ERR_FORBIDDEN', 'demo tokens are disabled');
        const room = url.searchParams.get('room') ?? this.config.demoRoom;
        const name = (url.searchParams.get('name') ?? 'Guest').slice(0, 80) || 'Guest';
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) throw new DfdError('ERR_BAD_REQUEST', 'room must match [A-Za-z0-9_-]{1,64}');
        return this.issueToken(room, name);
      });
  }

  async close(): Promise<void> {
    this.signalling.close();
    for (const fn of this.#closers.reverse()) {
      try {
        await fn();
      } catch (e) {
        log.warn('close step failed', { error: e });
      }
    }
    this.rooms.close();
    this.pool.close();
    await this.http.close();
  }
}
