/**
 * The analysis worker role (`npm run worker`): no SFU, no pages, no API. It connects to the
 * service nodes' NATS (NATS_URL), loads the detector models, runs their inference threads
 * (cluster/AnalysisWorkerNode.ts on a local InferencePool) and serves /healthz and /metrics.
 * Start as many as the load needs, on any machine that reaches NATS; stop or lose any of them:
 * the service nodes retry their windows on the others (docs/scaling.md).
 */
import type { AddressInfo } from 'node:net';
import { connect, type NatsConnection } from 'nats';
import { DfdError } from '../kernel/errors.js';
import { HttpServer, RawResponse } from '../kernel/http/HttpServer.js';
import { createLogger } from '../kernel/log.js';
import { collectDefaultMetrics, exposition } from '../kernel/metrics.js';
import { ModelRegistry } from '../detectors/registry/ModelRegistry.js';
import { InferencePool } from '../pipeline/inference/InferencePool.js';
import { withCascadeSetting } from '../pipeline/inference/cascade.js';
import { AnalysisWorkerNode } from '../cluster/AnalysisWorkerNode.js';
import { analysisPriority, inferencePoolOptions } from './analysisOptions.js';
import type { Config } from './config.js';

const log = createLogger('worker');

export class WorkerService {
  readonly config: Config;
  readonly #nc: NatsConnection;
  readonly pool: InferencePool;
  readonly node: AnalysisWorkerNode;
  readonly http = new HttpServer();
  #address: AddressInfo | undefined;
  #closed = false;

  private constructor(config: Config, nc: NatsConnection, pool: InferencePool) {
    this.config = config;
    this.#nc = nc;
    this.pool = pool;
    this.node = new AnalysisWorkerNode(nc, pool, { subjectPrefix: config.subjectPrefix, maxPending: config.workerMaxPending });
    this.http
      .route('GET', '/healthz', () => {
        const h = this.health();
        return new RawResponse(h.ok ? 200 : 503, JSON.stringify(h), { 'content-type': 'application/json' });
      })
      .route('GET', '/metrics', async () => {
        const m = await exposition();
        return new RawResponse(200, m.text, { 'content-type': m.contentType });
      });
  }

  static async start(config: Config): Promise<WorkerService> {
    if (config.natsUrl.length === 0) throw new DfdError('ERR_CONFIG', 'an analysis worker needs NATS_URL: the NATS server its service nodes use');
    collectDefaultMetrics();
    const registry = new ModelRegistry({ dir: config.modelsDir });
    for (const s of await registry.load()) if (!s.available) log.warn('detector unavailable', { id: s.id, code: s.error?.code });
    const models = withCascadeSetting(registry.available(), config.voiceCascadeEvery).filter((m) => config.speakerContinuity || m.manifest.task !== 'speaker-embed');
    const pool = new InferencePool(models, inferencePoolOptions(config, analysisPriority(config)));
    await pool.ready();
    const auth = config.natsToken ? { token: config.natsToken } : config.natsUser ? { user: config.natsUser, pass: config.natsPass } : {};
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: config.natsUrl, name: 'dfd-analysis-worker', reconnect: true, maxReconnectAttempts: -1, ...auth });
    } catch (e) {
      await pool.close();
      throw new DfdError('ERR_CONFIG', 'cannot connect to NATS_URL', { servers: config.natsUrl.join(',') }, { cause: e });
    }
    const w = new WorkerService(config, nc, pool);
    try {
      w.#address = await w.http.listen(config.workerPort, config.host);
      w.node.start();
    } catch (e) {
      await w.close();
      throw e;
    }
    log.info('analysis worker ready', { port: w.port, detectors: pool.detectors().map((d) => d.id) });
    return w;
  }

  get port(): number {
    return this.#address?.port ?? 0;
  }

  health(): { ok: boolean; nats: boolean; detectors: string[]; pending: number } {
    const detectors = this.pool.detectors().map((d) => d.id);
    const nats = !this.#nc.isClosed();
    return { ok: nats && detectors.length > 0, nats, detectors, pending: this.node.pending };
  }

  /** Stops taking work, lets the windows in progress answer, then closes threads, NATS and HTTP. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.node.close();
    await this.pool.close();
    await this.#nc.drain().catch(() => undefined);
    await this.http.close();
  }
}
