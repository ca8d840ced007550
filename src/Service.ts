/**
 * The whole service, wired: mediasoup workers -> rooms -> signalling (WebSocket) and
 * HTTP (meeting page, health, metrics, API) -> media taps -> analysis pipeline.
 * `main.ts` starts it from the environment; tests start it with overrides.
 *
 * Here: the wiring and the lifecycle (start, events and call history, analysis and
 * challenge-response, health checks, shutdown). The service's own routes (pages, /healthz,
 * /metrics, demo tokens) are in serviceRoutes.ts, the phone-ingest endpoints in phoneIngest.ts,
 * and how the config maps to the analysis pipeline's and challenge-response's options in
 * analysisOptions.ts.
 */
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { repoRoot } from './config.js';
import type { IncomingMessage } from 'node:http';
import { HttpServer } from '../kernel/http/HttpServer.js';
import { RateLimiter } from '../kernel/http/RateLimiter.js';
import { clientAddress } from '../kernel/http/clientAddress.js';
import { readTls } from './readTls.js';
import { collectDefaultMetrics } from '../kernel/metrics.js';
import { createLogger, setLogLevel } from '../kernel/log.js';
import { DfdError } from '../kernel/errors.js';
import { lruSet } from '../kernel/lruSet.js';
import { WorkerPool } from '../sfu/WorkerPool.js';
import { RoomManager } from '../sfu/RoomManager.js';
import { SignallingServer } from '../sfu/signalling/SignallingServer.js';
import { TokenSigner } from '../sfu/tokens.js';
import { EventBus } from '../events/EventBus.js';
import { Webhooks } from '../events/Webhooks.js';
import type { DfdEvent, PhoneRef } from '../events/schema.js';
import { CallRegistry, callScoresOf } from '../api/CallRegistry.js';
import { OperatorAuth } from '../api/OperatorAuth.js';
import { LiveFeed } from '../api/LiveFeed.js';
import { registerApi, type OperatorActions } from '../api/routes.js';
import { CallHistory } from '../api/CallHistory.js';
import { parseHistoryEntry, type HistoryEntry } from '../api/HistoryEntry.js';
import { registerCallRoutes } from '../api/callRoutes.js';
import { CallStore } from '../events/CallStore.js';
import { TenantCalibrationStore } from '../decision/calibration/TenantCalibrationStore.js';
import { CalibrationJob } from '../decision/calibration/CalibrationJob.js';
import { registerCalibrationRoutes } from '../api/calibrationRoutes.js';
import { EvidenceKey } from '../events/EvidenceKey.js';
import { EvidenceExporter } from '../evidence/EvidenceExporter.js';
import { verdictSettings } from '../evidence/verdictSettings.js';
import { AnalysisPipeline, type AnalysisPipelineOptions } from '../pipeline/AnalysisPipeline.js';
import { RemoteInference } from '../cluster/RemoteInference.js';
import { RoomPlacement } from '../cluster/RoomPlacement.js';
import { ActionRelay } from '../cluster/ActionRelay.js';
import type { ActionRequest } from '../events/actionWire.js';
import { ChallengeService } from '../challenge-response/ChallengeService.js';
import { IngestKeys } from '../ingest/IngestKeys.js';
import type { TwilioIngestServer } from '../ingest/twilio/TwilioIngestServer.js';
import { ParticipantDecisions } from '../decision/ParticipantDecisions.js';
import { DeclaredVoiceRegistry, type DeclaredVoiceRecord } from '../decision/DeclaredVoiceRegistry.js';
import { DeclaredVoiceEnroller } from '../decision/DeclaredVoiceEnroller.js';
import { declaredProfileStatus, type InstalledSpeakerModel } from '../decision/declaredProfileStatus.js';
import { registerDeclaredVoiceRoutes } from '../api/declaredVoiceRoutes.js';
import { PipelineEventPublisher } from '../decision/PipelineEventPublisher.js';
import { OperatorDecisionPublisher, type OperatorDecision } from '../decision/OperatorDecisionPublisher.js';
import type { PhoneLeg } from '../ingest/PhoneLeg.js';
import type { AudioHookIngestServer } from '../ingest/audiohook/AudioHookIngestServer.js';
import type { SipServer } from '../ingest/sip/SipServer.js';
import type { MediaSourceConsumer } from '../pipeline/MediaSource.js';
import { registerServiceRoutes } from './serviceRoutes.js';
import { listenSip, startAudioHookIngest, startTwilioIngest } from './phoneIngest.js';
import { analysisPriority, challengeServiceOptions, pipelineOptions } from './analysisOptions.js';

const log = createLogger('service');
/** Published events awaiting their own read-back (the bus buffers at most 10,000 while NATS is away). */
const PUBLISHED_HERE_MAX = 50_000;

export type HealthCheck = () => Promise<{ ok: boolean; [k: string]: unknown }> | { ok: boolean; [k: string]: unknown };

export interface ServiceOptions {
  /** Start the event bus (embedded or external NATS), API and dashboard. Tests of the SFU alone turn it off. */
  events: boolean;
  /** Start the analysis pipeline (defaults to config.analysis). */
  analysis: boolean;
}

export class Service {
  readonly config: Config;
  readonly registry: CallRegistry;
  readonly feed = new LiveFeed();
  readonly webhooks = new Webhooks();
  readonly auth: OperatorAuth;
  #bus: EventBus | undefined;
  /** Challenge requests and decisions; replaced when the challenge module is attached. */
  actions: OperatorActions;
  readonly http: HttpServer;
  readonly pool: WorkerPool;
  readonly rooms: RoomManager;
  readonly signalling: SignallingServer;
  readonly tokens: TokenSigner;
  /** Per-client limits: sign-in and token requests; joins (signalling and ingest upgrades, demo tokens). */
  readonly authLimiter: RateLimiter;
  readonly joinLimiter: RateLimiter;
  /** The client address requests are limited and locked out by (X-Forwarded-For only with DFD_TRUST_PROXY). */
  readonly clientAddress: (req: IncomingMessage) => string;
  readonly #health = new Map<string, HealthCheck>();
  readonly #closers: (() => Promise<void> | void)[] = [];
  #address: AddressInfo | undefined;

  private constructor(config: Config, pool: WorkerPool) {
    this.config = config;
    this.pool = pool;
    this.registry = new CallRegistry({ defaultTenant: config.defaultTenant });
    this.http = new HttpServer({ tls: readTls(config), corsOrigins: config.corsOrigins });
    this.clientAddress = (req) => clientAddress(req, config.trustProxy);
    this.authLimiter = new RateLimiter({ name: 'auth', perMinute: config.authRatePerMin, burst: config.authRatePerMin });
    this.joinLimiter = new RateLimiter({ name: 'join', perMinute: config.joinRatePerMin, burst: config.joinRatePerMin });
    this.tokens = new TokenSigner(config.tokenSecret || undefined);
    this.rooms = new RoomManager(pool, {
      maxPeers: config.maxPeersPerRoom,
      maxTransportsPerPeer: config.maxTransportsPerPeer,
      maxProducersPerPeer: config.maxProducersPerPeer,
      listenIp: config.listenIp,
      announcedIp: config.announcedIp || undefined,
      tenant: config.defaultTenant,
      assumeSenderNoiseSuppression: config.assumeSenderNoiseSuppression,
    });
    this.signalling = new SignallingServer(this.http.server, this.rooms, this.tokens, {
      maxMessageBytes: config.maxMessageBytes,
      joinTimeoutMs: config.joinTimeoutMs,
      pingIntervalMs: config.wsPingIntervalMs,
      pingMisses: config.wsPingMisses,
      admitUpgrade: (req) => this.#admitJoin(req),
    });
    this.auth = new OperatorAuth({
      username: config.operatorUser,
      password: config.operatorPassword,
      sessionTtlSec: config.sessionTtlSec,
      secret: config.tokenSecret,
      lockout: { maxFailures: config.loginMaxFailures, lockoutSec: config.loginLockoutSec },
      apiKeys: config.apiKeys,
    });
    this.actions = {
      requestChallenge: () => Promise.reject(new DfdError('ERR_MODEL_UNAVAILABLE', 'challenge-response is not running')),
      recordDecision: async (roomId, peerId, d, operator) => this.#recordDecision(roomId, peerId, d.decision, operator, d.note),
    };
    this.addHealthCheck('mediasoup', () => ({ ok: pool.alive() === pool.slots.length, alive: pool.alive(), total: pool.slots.length }));
    // Load balancers stop sending new calls as soon as shutdown begins.
    this.addHealthCheck('lifecycle', () => ({ ok: !this.#shuttingDown, shuttingDown: this.#shuttingDown }));
    registerServiceRoutes(this.http, {
      config,
      auth: this.auth,
      health: () => this.health(),
      shuttingDown: () => this.#shuttingDown,
      admitJoin: (req) => this.#admitJoin(req),
      issueToken: (room, name) => this.issueToken(room, name),
    });
    this.#trackMembership();
    this.ingestKeys = new IngestKeys({ keys: config.ingestKeys, demo: config.demoTokens, secret: config.tokenSecret });
    this.twilio = config.ingestTwilio ? this.#startTwilioIngest() : undefined;
    this.audiohook = config.ingestAudiohook ? this.#startAudioHookIngest() : undefined;
  }

  /** Keys of the phone ingest endpoints (ingest/IngestKeys.ts). */
  readonly ingestKeys: IngestKeys;
  /** The Twilio Media Streams endpoint (/v1/ingest/twilio), when on. */
  readonly twilio: TwilioIngestServer | undefined;

  /** The Genesys AudioHook endpoint (/v1/ingest/audiohook), when on. */
  readonly audiohook: AudioHookIngestServer | undefined;

  /** The per-client join limit (signalling, ingest upgrades, demo tokens); throws ERR_RATE_LIMITED. */
  #admitJoin(req: IncomingMessage): void {
    this.joinLimiter.take(this.clientAddress(req));
  }

  /** What the phone-ingest endpoints (phoneIngest.ts) get from the service: rooms, keys, challenges, shutdown state, call marking. */
  #phoneIngestDeps() {
    return {
      rooms: this.rooms,
      keys: this.ingestKeys,
      challenges: () => this.#challenges,
      shuttingDown: () => this.#shuttingDown,
      admitUpgrade: (req: IncomingMessage) => this.#admitJoin(req),
      onLeg: (leg: PhoneLeg, phone: PhoneRef) => this.registry.markPhone(leg.roomId, leg.peerId, phone),
    };
  }

  #startAudioHookIngest(): AudioHookIngestServer {
    const server = startAudioHookIngest(this.http.server, this.#phoneIngestDeps(), this.config);
    this.onClose(() => server.close());
    return server;
  }

  #sip: SipServer | undefined;

  /** The SIP user agent server (DFD_SIP_PORT), when on. */
  get sip(): SipServer | undefined {
    return this.#sip;
  }

  async #startSipIngest(): Promise<void> {
    this.#sip = await listenSip({ ...this.#phoneIngestDeps(), admit: (address: string) => this.joinLimiter.take(address), secret: this.config.tokenSecret }, this.config);
    const sip = this.#sip;
    this.onClose(() => sip.close());
  }

  #startTwilioIngest(): TwilioIngestServer {
    const server = startTwilioIngest(this.http.server, this.#phoneIngestDeps(), this.config);
    this.onClose(() => server.close());
    return server;
  }

  static async start(config: Config, options: Partial<ServiceOptions> = {}): Promise<Service> {
    const opts: ServiceOptions = { events: true, analysis: config.analysis !== 'off', ...options };
    setLogLevel(config.logLevel);
    collectDefaultMetrics();
    const pool = await WorkerPool.create({ numWorkers: config.numWorkers, rtcMinPort: config.rtcMinPort, rtcMaxPort: config.rtcMaxPort, nice: config.sfuNice, cpus: config.sfuCpus, sched: config.sfuSched, rtPriority: config.sfuRtPriority });
    const service = new Service(config, pool);
    try {
      if (opts.events) await service.#startEvents();
      if (opts.analysis) await service.#startAnalysis();
      if (opts.events) await service.#startCalibration();
      service.#address = await service.http.listen(config.port, config.host);
      if (config.ingestSip) await service.#startSipIngest();
    } catch (e) {
      await service.close();
      throw e;
    }
    log.info('service listening', { port: service.#address.port });
    return service;
  }

  /** The event bus, when events are on. */
  get bus(): EventBus | undefined {
    return this.#bus;
  }

  /**
   * Publishes an event: to NATS (and from there to the dashboard, badges and webhooks).
   * Without a bus (events off) it goes straight to the in-process consumers.
   */
  publish(event: DfdEvent): void {
    lruSet(this.#publishedHere, event.id, true, PUBLISHED_HERE_MAX);
    if (this.#bus) {
      const r = this.#bus.publish(event);
      if (!r.accepted) log.warn('event rejected', { code: r.error.code, type: event.type });
    } else this.#consume(event);
  }

  async #startEvents(): Promise<void> {
    const c = this.config;
    // Signs audit anchors and evidence bundles; kept next to the JetStream store (in memory without a data dir).
    const evidenceKey = EvidenceKey.loadOrCreate({ file: c.dataDir ? path.join(c.dataDir, 'evidence-ed25519.pem') : '' });
    const bus = await EventBus.connect({
      anchorKey: evidenceKey,
      servers: c.natsUrl,
      user: c.natsUser,
      pass: c.natsPass,
      token: c.natsToken,
      subjectPrefix: c.subjectPrefix,
      audit: { subjectPrefix: c.subjectPrefix, maxAgeMs: c.auditMaxAgeDays * 86_400_000, replicas: c.jetstreamReplicas },
      anchors: { replicas: c.jetstreamReplicas },
      // An empty data dir gives the embedded server a temporary store (tests).
      embedded: { storeDir: c.dataDir ? path.join(c.dataDir, 'nats') : '', readerPassword: c.natsReaderPassword },
    });
    this.#bus = bus;
    // Everything downstream of the pipeline reads from NATS: dashboard, badges, webhooks.
    const sub = bus.subscribe({}, (e) => this.#consume(e));
    // A full JetStream store does not fail the check (live delivery goes on); `audit.storing` says it, and
    // dfd_audit_write_failures_total counts what was not stored.
    this.addHealthCheck('nats', () => ({ ok: bus.connected, embedded: bus.server !== undefined, buffered: bus.buffered, audit: bus.auditStatus }));
    registerApi(this.http, {
      registry: this.registry,
      auth: this.auth,
      joinTokens: this.tokens,
      joinTokenTtlSec: c.tokenTtlSec,
      feed: this.feed,
      webhooks: this.webhooks,
      authLimiter: this.authLimiter,
      clientAddress: this.clientAddress,
      actions: {
        requestChallenge: (...a) => this.actions.requestChallenge(...a),
        recordDecision: (...a) => this.actions.recordDecision(...a),
      },
      roomElsewhere: async (roomId) => this.#placement?.elsewhere(roomId),
      forwardAction: (node, request) => {
        if (!this.#relay) throw new DfdError('ERR_WRONG_NODE', undefined, { roomId: request.roomId, node: node.node, url: node.url });
        return this.#relay.forward(node, request);
      },
    });
    // Registered before the history's closer, so it runs after it (closers run in reverse):
    // the call summaries are written through this connection.
    this.onClose(async () => {
      sub.unsubscribe();
      this.feed.close();
      this.webhooks.close();
      await bus.close();
    });
    await this.#startHistory(bus, evidenceKey);
    if (c.roomRegistry === 'nats') await this.#startRoomRegistry(bus);
  }

  /**
   * Several service nodes (DFD_ROOM_REGISTRY=nats): rooms are claimed in the shared registry before
   * they open here; a join for a room another node serves gets ERR_WRONG_NODE with its URL. Each
   * node describes its rooms in their leases and watches everyone's: every node's API and dashboard
   * list every room. Operator actions on another node's room are forwarded to it (ActionRelay).
   */
  async #startRoomRegistry(bus: EventBus): Promise<void> {
    const c = this.config;
    const nodeId = c.nodeId || `${os.hostname()}:${c.port}`;
    const placement = await RoomPlacement.open(bus.connection, {
      nodeId,
      url: c.publicUrl.replace(/\/$/, ''),
      leaseMs: c.roomLeaseMs,
      replicas: c.jetstreamReplicas,
    });
    this.rooms.setPlacement(placement);
    this.#placement = placement;
    // Another node took a room this one lost touch with: its participants reconnect and are sent there.
    placement.on('lost', (roomId) => this.rooms.get(roomId)?.close('moved'));
    placement.on('directory', (roomId, lease) => {
      if (lease?.node === nodeId) return;
      if (!lease) return this.registry.syncRemote(roomId, undefined);
      // A lease its holder has not described yet (it was just claimed) says nothing of the room.
      if (lease.room) this.registry.syncRemote(roomId, { node: lease.node, url: lease.url, ...lease.room });
    });
    await placement.watch();
    const relay = new ActionRelay(bus.connection, { subjectPrefix: c.subjectPrefix, nodeId });
    relay.serve((request) => this.#runForwardedAction(request));
    this.#relay = relay;
    this.addHealthCheck('rooms', () => ({ ok: true, node: placement.options.nodeId, held: placement.held.length, directory: placement.directory().size }));
    // Registered after the bus's closer, so it runs first: the leases are deleted while NATS is still there.
    this.onClose(async () => {
      this.#relay = undefined;
      await relay.close();
      this.rooms.setPlacement(undefined);
      this.#placement = undefined;
      await placement.close();
    });
  }

  /** An operator action another node forwarded: checked here as the REST route checks it, then run. */
  async #runForwardedAction(r: ActionRequest): Promise<Record<string, unknown>> {
    const away = await this.#placement?.elsewhere(r.roomId);
    if (away) throw new DfdError('ERR_WRONG_NODE', undefined, { roomId: r.roomId, node: away.node, url: away.url });
    const call = this.rooms.get(r.roomId) ? this.registry.openCall(r.roomId) : undefined;
    if (!call || call.remote || (r.tenant !== undefined && call.tenant !== r.tenant)) throw new DfdError('ERR_ROOM_NOT_FOUND');
    if (!call.participants.has(r.peerId)) throw new DfdError('ERR_PEER_NOT_FOUND');
    log.info('forwarded operator action', { action: r.action, roomId: r.roomId });
    if (r.action === 'challenge') return this.actions.requestChallenge(r.roomId, r.peerId, r.body, r.operator);
    return (await this.actions.recordDecision(r.roomId, r.peerId, r.body, r.operator)) as unknown as Record<string, unknown>;
  }

  /** Describes a room served here in its lease (several nodes): its call and who is in it now. */
  #describeRoom(roomId: string): void {
    const placement = this.#placement;
    const room = this.rooms.get(roomId);
    const call = this.registry.openCall(roomId);
    if (!placement || !room || !call || call.remote) return;
    const participants = [...room.peers.values()].map((p) => ({ peerId: p.id, displayName: p.displayName }));
    void placement.describe(roomId, { tenant: room.tenant, callId: call.callId, startedAt: call.startedAt, participants });
  }

  #relay: ActionRelay | undefined;

  #history: CallHistory | undefined;
  #placement: RoomPlacement | undefined;
  /** Ids of the events this node published and has not read back yet (see #consume). */
  readonly #publishedHere = new Map<string, true>();

  /** Call history (api/CallHistory.ts), when events are on. */
  get history(): CallHistory | undefined {
    return this.#history;
  }

  /** Call history, evidence export and their routes; anchors each call's chain when it ends. */
  async #startHistory(bus: EventBus, key: EvidenceKey): Promise<void> {
    const c = this.config;
    const readAudit = async (roomId: string, callId: string) => {
      await bus.settle(5_000);
      return bus.exportBundle(roomId, callId);
    };
    const store = await CallStore.open<HistoryEntry>(bus.connection, { validate: parseHistoryEntry, maxAgeMs: c.auditMaxAgeDays * 86_400_000, replicas: c.jetstreamReplicas });
    const history = new CallHistory({ registry: this.registry, store, readEvents: readAudit });
    await history.load();
    this.#history = history;
    this.registry.on('callended', (call) => void bus.anchorCall(call.roomId, call.callId));
    const evidence = new EvidenceExporter({
      readAudit,
      readAnchors: (roomId, callId) => bus.readAnchors(roomId, callId),
      key,
      modelsDir: c.modelsDir,
      modelStatus: () => new Map((this.#pipeline?.registry.status() ?? []).map((d) => [d.id, d.available])),
      settings: () => verdictSettings({ config: { ...c, analysis: this.#pipeline !== undefined, challenges: this.#challenges !== undefined }, verdict: this.#pipeline?.options.verdict }),
    });
    registerCallRoutes(this.http, { auth: this.auth, history, evidence, webDir: path.join(repoRoot, 'web-dist') });
    // Closers run in reverse: this one after the pipeline and challenge-response stopped (their
    // last events belong to calls that already ended) and before the event bus closes.
    this.onClose(async () => {
      // The last events reach NATS and, ahead of their acknowledgements on the same connection,
      // come back to the registry (a late verdict updates an ended call, stored again below)...
      await bus.flush(this.#shutdownTimeLeft(store.options.timeoutMs));
      // ...every call is over (a call opened by a late event too), and each summary is written
      // before the connection it is written through closes.
      this.registry.endAll();
      await history.close(this.#shutdownTimeLeft(store.options.timeoutMs));
    });
  }

  #calibration: { store: TenantCalibrationStore; job: CalibrationJob } | undefined;

  /** Per-tenant calibration (decision/calibration/), when events are on. */
  get calibration(): { store: TenantCalibrationStore; job: CalibrationJob } | undefined {
    return this.#calibration;
  }

  /**
   * Per-tenant calibration: the versions in a JetStream KV bucket (watched: a refit on any node applies
   * to this node's calls at their next window), the refit job reading the decisions from the audit
   * trail, and the operator routes.
   */
  async #startCalibration(): Promise<void> {
    const c = this.config;
    const bus = this.#bus;
    if (!bus) return;
    const store = await TenantCalibrationStore.open(bus.connection, { replicas: c.jetstreamReplicas });
    const pipeline = this.#pipeline;
    if (pipeline) {
      pipeline.setTenantCalibrations(store.calibrations());
      store.on('changed', (all) => pipeline.setTenantCalibrations(all));
    }
    const job = new CalibrationJob(
      { store, scan: (type, visit, max) => bus.settle(5_000).then(() => bus.scanAudit(type, visit, max)) },
      {
        minPerClass: c.calibrationMinPerClass,
        maxScale: c.calibrationMaxScale,
        maxShift: c.calibrationMaxShift,
        minGainBits: c.calibrationMinGain,
        minEvidence: c.calibrationMinEvidence,
      },
    );
    this.#calibration = { store, job };
    registerCalibrationRoutes(this.http, { auth: this.auth, store, job });
    // Runs before the bus's closer (closers run in reverse): the watch stops while NATS is there.
    this.onClose(() => store.close());
  }

  /** The analysis pipeline, when analysis is on. */
  get pipeline(): AnalysisPipeline | undefined {
    return this.#pipeline;
  }

  #pipeline: AnalysisPipeline | undefined;

  /**
   * Declared synthetic voices: the registry (in the data folder), the pipeline's matcher fed from it
   * (profiles of the installed speaker model only), and the operator routes that enrol new ones.
   */
  #startDeclaredVoices(pipeline: AnalysisPipeline): void {
    const c = this.config;
    const registry = new DeclaredVoiceRegistry({ dataDir: c.dataDir });
    const model = c.speakerContinuity ? pipeline.registry.available().find((m) => m.manifest.task === 'speaker-embed') : undefined;
    const installed: InstalledSpeakerModel | undefined = model ? { id: model.id, version: model.manifest.version, profilesFrom: model.manifest.declared?.profilesFrom ?? [] } : undefined;
    const apply = (voices: readonly DeclaredVoiceRecord[]): void =>
      pipeline.setDeclaredVoices(voices.filter((v) => declaredProfileStatus(v.model, installed) === 'active'));
    const stored = registry.list();
    apply(stored);
    const inactive = stored.map((v) => declaredProfileStatus(v.model, installed)).filter((s) => s !== 'active');
    if (inactive.length > 0) {
      log.warn('declared voices not matched with the installed speaker model: enrol them again', {
        voices: inactive.length,
        statuses: [...new Set(inactive)],
        installed: installed ? `${installed.id}@${installed.version}` : null,
      });
    }
    registry.on('changed', apply);
    const enroller = model ? new DeclaredVoiceEnroller(model) : undefined;
    registerDeclaredVoiceRoutes(this.http, { auth: this.auth, registry, enroller: () => enroller, installedModel: () => installed });
  }

  async #startAnalysis(): Promise<void> {
    const c = this.config;
    const priority = analysisPriority(c);
    let inferenceBackend: AnalysisPipelineOptions['inferenceBackend'];
    if (c.analysis === 'remote') {
      // Windows go to analysis workers over the bus's NATS connection (docs/scaling.md).
      const bus = this.#bus;
      if (!bus) throw new DfdError('ERR_CONFIG', 'DFD_ANALYSIS=remote needs the event bus (NATS)');
      inferenceBackend = (models) =>
        new RemoteInference(bus.connection, models, { subjectPrefix: c.subjectPrefix, timeoutMs: c.remoteTimeoutMs, maxInFlight: c.remoteMaxInFlight, queueCapacity: c.inferenceQueue });
    }
    const pipeline = await AnalysisPipeline.create({ ...pipelineOptions(c, priority), inferenceBackend });
    this.#pipeline = pipeline;
    this.attachMediaConsumer(pipeline);
    const events = new PipelineEventPublisher({
      publish: (e) => this.publish(e),
      base: (r, p) => this.#base(r, p),
      notifyRoom: (roomId, method, data) => {
        for (const peer of this.rooms.get(roomId)?.peers.values() ?? []) peer.notify(method, data);
      },
    });
    this.rooms.on('tapopen', (tap) => tap.on('close', () => events.forgetStream(tap.info.id)));
    pipeline.on('verdict', (v) => events.verdict(v));
    pipeline.on('score', (s) => events.score(s));
    pipeline.on('stats', (s) => events.stats(s));
    pipeline.on('declared', (d) => events.declared(d));
    this.#startDeclaredVoices(pipeline);
    this.addHealthCheck('detectors', () => pipeline.health());
    this.onClose(() => pipeline.close());
    if (c.challenges) {
      const challenges = new ChallengeService(
        { rooms: this.rooms, pipeline, publish: (e) => this.publish(e), base: (r, p) => this.#base(r, p) },
        challengeServiceOptions(c, priority),
      );
      this.#challenges = challenges;
      // Outcomes and operator decisions reach verdicts through the decision layer only.
      const decisions = new ParticipantDecisions(pipeline, challenges);
      this.onClose(() => decisions.close());
      this.actions = {
        requestChallenge: async (roomId, peerId, opts) => challenges.request(roomId, peerId, opts.modality, opts.kind),
        recordDecision: async (roomId, peerId, d, operator) => {
          challenges.recordDecision(roomId, peerId, d.decision, operator);
          return this.#recordDecision(roomId, peerId, d.decision, operator, d.note);
        },
      };
      this.onClose(() => challenges.close());
    }
  }

  #challenges: ChallengeService | undefined;
  readonly #decisionEvents = new OperatorDecisionPublisher({
    publish: (e) => this.publish(e),
    participant: (roomId, peerId) => {
      const call = this.registry.openCall(roomId);
      const p = call?.participants.get(peerId);
      return call && p ? { displayName: p.displayName, callId: call.callId, tenant: call.tenant, state: p.verdict?.state, callScores: callScoresOf(p) } : undefined;
    },
  });

  /** Challenge-response, when running. */
  get challenges(): ChallengeService | undefined {
    return this.#challenges;
  }

  #base(roomId: string, peerId: string): { roomId: string; peerId: string; displayName: string; callId: string; tenant: string; phone?: PhoneRef } {
    const call = this.registry.callForPeer(roomId, peerId);
    const displayName = this.rooms.get(roomId)?.peers.get(peerId)?.displayName ?? call.participants.get(peerId)?.displayName ?? peerId;
    return { roomId, peerId, displayName, callId: call.callId, tenant: call.tenant, ...(call.phone ? { phone: call.phone } : {}) };
  }

  #consume(event: DfdEvent): void {
    const here = this.#publishedHere.delete(event.id);
    // Another node's event: its call is mirrored here under that node's call id.
    this.registry.apply(event, !here);
    this.feed.publish(event);
    // Every node reads every event from NATS; only the node that published one delivers its webhooks, so
    // several service nodes deliver each event once.
    if (here) this.webhooks.dispatch(event);
  }

  #trackMembership(): void {
    this.rooms.on('roomopen', (room) => {
      this.registry.callFor(room.id, room.tenant);
      this.#describeRoom(room.id);
      room.on('peerjoined', (peer) => {
        this.registry.peerJoined(room.id, peer.id, peer.displayName);
        this.#describeRoom(room.id);
      });
      room.on('peerleft', (peer) => {
        this.registry.peerLeft(room.id, peer.id);
        this.#describeRoom(room.id);
      });
    });
    this.rooms.on('roomclose', (room) => this.registry.roomClosed(room.id));
    // A participant sending plain RTP (telephony gateway) makes the call a phone call.
    this.rooms.on('tapopen', (tap, room) => {
      if (room.peers.get(tap.info.peerId)?.plainTransports.size) this.registry.markPhone(room.id, tap.info.peerId, { platform: 'rtp' });
    });
  }

  async #recordDecision(roomId: string, peerId: string, decision: OperatorDecision, operator: string, note?: string): Promise<DfdEvent> {
    return this.#decisionEvents.publish(roomId, peerId, decision, operator, note);
  }

  get port(): number {
    return this.#address?.port ?? 0;
  }

  get baseUrl(): string {
    if (this.config.publicUrl) return this.config.publicUrl.replace(/\/$/, '');
    return `${this.http.secure ? 'https' : 'http'}://localhost:${this.port}`;
  }

  addHealthCheck(name: string, check: HealthCheck): void {
    this.#health.set(name, check);
  }

  /** Registers something to close (in reverse order) when the service closes. */
  onClose(fn: () => Promise<void> | void): void {
    this.#closers.push(fn);
  }

  /** Routes every tap to the consumer (the analysis pipeline), with the participants' comings and goings. */
  attachMediaConsumer(consumer: MediaSourceConsumer): void {
    this.rooms.on('tapopen', (tap) => consumer.addSource(tap));
    this.rooms.on('roomopen', (room) => room.on('peerleft', (peer) => consumer.participantLeft(room.id, peer.id)));
    this.rooms.on('roomclose', (room) => consumer.roomClosed(room.id));
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

  #closing: Promise<void> | undefined;
  #shuttingDown = false;

  /** True once shutdown began (joins refused, supervised processes no longer replaced). */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The first, synchronous step of a shutdown; safe in a signal handler, and close() starts
   * with it. From here on an exit of a mediasoup worker or of the embedded nats-server is
   * expected (a signal to the whole process group stops them too): no error, no restart.
   * New joins and demo tokens are refused with ERR_SHUTTING_DOWN, every signalling socket
   * gets a `serviceShutdown` notification, and every room is closed ('shutdown': peers are
   * told, calls end in the registry while the event bus can still record it; every other open
   * call ends too). Idempotent.
   */
  beginShutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#shutdownStartedAt = Date.now();
    this.pool.stopSupervising();
    this.#bus?.server?.stopSupervising();
    this.signalling.beginShutdown();
    try {
      this.rooms.close();
    } catch (e) {
      log.warn('close step failed', { step: 'rooms', error: e });
    }
    // Calls of rooms that are already gone, or emptied and in their end grace, end now too.
    this.registry.endAll();
  }

  #shutdownStartedAt = 0;

  /** Milliseconds left of DFD_SHUTDOWN_TIMEOUT_MS since shutdown began, at most `cap`. */
  #shutdownTimeLeft(cap: number): number {
    const started = this.#shutdownStartedAt || Date.now();
    return Math.max(0, Math.min(cap, started + this.config.shutdownTimeoutMs - Date.now()));
  }

  /**
   * Shuts down in order: joins stopped, participants told and rooms closed (beginShutdown),
   * signalling sockets closed, then the registered closers in reverse (challenge-response,
   * the analysis pipeline with its media and inference workers, the call history, which
   * waits for every call summary to be written to its JetStream bucket, bounded by the
   * shutdown timeout, then the event bus, which flushes queued events into NATS and the audit
   * trail before stopping the embedded nats-server), the mediasoup workers, and last the HTTP
   * server. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.beginShutdown();
    this.signalling.close();
    for (const fn of this.#closers.reverse()) {
      try {
        await fn();
      } catch (e) {
        log.warn('close step failed', { error: e });
      }
    }
    this.pool.close();
    await this.http.close();
  }
}
