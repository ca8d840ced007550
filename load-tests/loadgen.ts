/**
 * Load generator for signalling and media. Virtual peers fetch a join token from
 * `/v1/demo/token`, join over the WebSocket (`docs/signalling.md`), send RTP
 * capabilities, create transports, optionally produce (an Opus producer; no DTLS, so no
 * media flows over it), stay for a while and leave. Bounded in peers, concurrency and
 * time; refuses non-loopback targets. Prints one JSON summary: latency percentiles per
 * operation and errors by code.
 *
 *   node --import tsx load-tests/loadgen.ts --url http://127.0.0.1:8080 --peers 50 --concurrency 10 --hold 5
 *   node --import tsx load-tests/loadgen.ts --in-process --peers 20 --rtp     (own service; peers also
 *        publish looped speech through RTP ingest, so the analysis pipeline runs)
 *
 * Options: --url, --in-process, --peers (<= 2000), --concurrency (<= 200), --rooms,
 * --hold seconds per peer, --max-seconds (hard stop, <= 3600), --produce, --rtp (in-process only).
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ensureFixtures, fixtures } from '../test/fixtures/build.js';
import type { Service } from '../src/Service.js';
import { AgentClient } from './AgentClient.js';
import { chooseModels, defaultBenchServiceSettings, startBenchService, stopAll, type ModelsChoice } from './harness.js';
import { sleep, summarize, type Summary } from './stats.js';

export interface LoadgenOptions {
  url: string;
  peers: number;
  concurrency: number;
  rooms: number;
  holdSec: number;
  maxSeconds: number;
  produce: boolean;
  /** Publish speech through RTP ingest for each joined peer (needs `service`). */
  rtp: boolean;
  requestTimeoutMs: number;
}

export const defaultLoadgenOptions: LoadgenOptions = {
  url: 'http://127.0.0.1:8080',
  peers: 20,
  concurrency: 5,
  rooms: 2,
  holdSec: 5,
  maxSeconds: 300,
  produce: false,
  rtp: false,
  requestTimeoutMs: 10_000,
};

export interface LoadgenSummary {
  target: string;
  peers: { attempted: number; joined: number; completed: number };
  latencyMs: Record<string, Summary>;
  errors: Record<string, number>;
  durationSec: number;
  stoppedByTimeLimit: boolean;
}

const LIMITS = { peers: 2000, concurrency: 200, maxSeconds: 3600 };

export function assertLoopback(url: string): URL {
  const u = new URL(url);
  const h = u.hostname.replace(/^\[|\]$/g, '');
  if (!(h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h))) throw new Error(`refusing non-loopback target ${u.hostname}: this load generator only runs against a local service`);
  return u;
}

class LoadError extends Error {
  constructor(readonly code: string, message?: string) {
    super(message ?? code);
  }
}

/** One signalling connection with request/response matching. */
class SignallingClient {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve: (d: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #next = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (raw) => {
      let m: { type?: string; id?: number; ok?: boolean; data?: unknown; error?: { code?: string; message?: string } };
      try {
        m = JSON.parse(raw.toString()) as typeof m;
      } catch {
        return;
      }
      if (m.type !== 'response' || typeof m.id !== 'number') return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.data);
      else p.reject(new LoadError(m.error?.code ?? 'ERR_UNKNOWN', m.error?.message));
    });
    ws.on('close', () => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new LoadError('ERR_WS_CLOSED'));
      }
      this.#pending.clear();
    });
  }

  static connect(url: string, timeoutMs: number): Promise<SignallingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new LoadError('ERR_TIMEOUT', 'websocket open'));
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(new SignallingClient(ws));
      });
      ws.once('error', () => {
        clearTimeout(timer);
        reject(new LoadError('ERR_WS_CONNECT'));
      });
    });
  }

  request<T>(method: string, data: unknown, timeoutMs: number): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new LoadError('ERR_TIMEOUT', method));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (d: unknown) => void, reject, timer });
      this.#ws.send(JSON.stringify({ type: 'request', id, method, data }));
    });
  }

  close(): void {
    this.#ws.close();
  }
}

interface RouterCodec {
  kind: string;
  mimeType: string;
  preferredPayloadType?: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, unknown>;
  rtcpFeedback?: unknown[];
}

/** Client capabilities as a mediasoup-client device would derive them from the router's. */
function clientCapabilities(router: { codecs?: RouterCodec[] }): unknown {
  return { codecs: (router.codecs ?? []).map((c) => ({ ...c, parameters: c.parameters ?? {}, rtcpFeedback: c.rtcpFeedback ?? [] })), headerExtensions: [] };
}

export async function runLoadgen(opts: LoadgenOptions, service?: Service, agent?: AgentClient): Promise<LoadgenSummary> {
  const base = assertLoopback(opts.url);
  if (opts.peers > LIMITS.peers || opts.concurrency > LIMITS.concurrency || opts.maxSeconds > LIMITS.maxSeconds) throw new Error(`limits: peers <= ${LIMITS.peers}, concurrency <= ${LIMITS.concurrency}, max-seconds <= ${LIMITS.maxSeconds}`);
  if (opts.rtp && (!service || !agent)) throw new Error('--rtp needs --in-process');
  const wsUrl = `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}/ws`;
  const lat: Record<string, number[]> = {};
  const errors: Record<string, number> = {};
  const peers = { attempted: 0, joined: 0, completed: 0 };
  const t0 = Date.now();
  const deadline = t0 + opts.maxSeconds * 1000;
  let stopped = false;
  let ssrc = 0x5000;

  const timed = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    const r = await fn();
    (lat[op] ??= []).push(performance.now() - s);
    return r;
  };

  const onePeer = async (i: number): Promise<void> => {
    peers.attempted++;
    const room = `load-${i % opts.rooms}`;
    let client: SignallingClient | undefined;
    try {
      const tok = await timed('token', async () => {
        const res = await fetch(`${base.origin}/v1/demo/token?room=${room}&name=Load${i}`, { signal: AbortSignal.timeout(opts.requestTimeoutMs) });
        if (!res.ok) {
          const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
          throw new LoadError(body.error?.code ?? `ERR_HTTP_${res.status}`);
        }
        return (await res.json()) as { token: string; peer: string };
      });
      client = await timed('connect', () => SignallingClient.connect(wsUrl, opts.requestTimeoutMs));
      const c = client;
      const joined = await timed('join', () => c.request<{ peerId: string; routerRtpCapabilities: { codecs?: RouterCodec[] } }>('join', { token: tok.token }, opts.requestTimeoutMs));
      peers.joined++;
      await timed('setRtpCapabilities', () => c.request('setRtpCapabilities', { rtpCapabilities: clientCapabilities(joined.routerRtpCapabilities) }, opts.requestTimeoutMs));
      const send = await timed('createWebRtcTransport', () => c.request<{ id: string }>('createWebRtcTransport', { direction: 'send' }, opts.requestTimeoutMs));
      await timed('createWebRtcTransport', () => c.request('createWebRtcTransport', { direction: 'recv' }, opts.requestTimeoutMs));
      if (opts.produce) {
        const rtpParameters = { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }], encodings: [{ ssrc: ssrc++ }] };
        await timed('produce', () => c.request('produce', { transportId: send.id, kind: 'audio', rtpParameters }, opts.requestTimeoutMs));
      }
      if (opts.rtp && service && agent) {
        const r = service.rooms.get(room);
        const peer = r?.peers.get(joined.peerId);
        if (!r || !peer) throw new LoadError('ERR_PEER_NOT_FOUND');
        const s = ssrc++;
        const t = await timed('rtpIngest', () => r.createRtpIngest(peer, { kind: 'audio', ssrc: s, payloadType: 111 }));
        await agent.add([{ ip: t.ip, port: t.port, ssrc: s, payloadType: 111 }], `peer-${i}`);
        // This peer's stream stops when it leaves.
        const a = agent;
        const stop = (): void => void a.pause(`peer-${i}`).catch(() => undefined);
        await sleep(Math.max(0, Math.min(opts.holdSec * 1000, deadline - Date.now())));
        stop();
      } else await sleep(Math.max(0, Math.min(opts.holdSec * 1000, deadline - Date.now())));
      await timed('leave', () => c.request('leave', {}, opts.requestTimeoutMs));
      peers.completed++;
    } catch (e) {
      const code = e instanceof LoadError ? e.code : e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : 'ERR_UNEXPECTED';
      errors[code] = (errors[code] ?? 0) + 1;
    } finally {
      client?.close();
    }
  };

  let next = 0;
  const lanes = Array.from({ length: Math.min(opts.concurrency, opts.peers) }, async () => {
    while (next < opts.peers) {
      if (Date.now() >= deadline) {
        stopped = true;
        return;
      }
      await onePeer(next++);
    }
  });
  await Promise.all(lanes);
  return {
    target: base.origin,
    peers,
    latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, summarize(v, 2)])),
    errors,
    durationSec: +((Date.now() - t0) / 1000).toFixed(1),
    stoppedByTimeLimit: stopped,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      'in-process': { type: 'boolean', default: false },
      peers: { type: 'string' },
      concurrency: { type: 'string' },
      rooms: { type: 'string' },
      hold: { type: 'string' },
      'max-seconds': { type: 'string' },
      produce: { type: 'boolean', default: false },
      rtp: { type: 'boolean', default: false },
    },
  });
  const d = defaultLoadgenOptions;
  const opts: LoadgenOptions = {
    ...d,
    url: values.url ?? d.url,
    peers: Number(values.peers ?? d.peers),
    concurrency: Number(values.concurrency ?? d.concurrency),
    rooms: Number(values.rooms ?? d.rooms),
    holdSec: Number(values.hold ?? d.holdSec),
    maxSeconds: Number(values['max-seconds'] ?? d.maxSeconds),
    produce: values.produce,
    rtp: values.rtp,
  };
  let service: Service | undefined;
  let agent: AgentClient | undefined;
  let models: ModelsChoice | undefined;
  try {
    if (values['in-process']) {
      await ensureFixtures();
      models = chooseModels();
      service = await startBenchService(defaultBenchServiceSettings, models.dir, { analysis: opts.rtp, overrides: { demoTokens: true } });
      opts.url = `http://127.0.0.1:${service.port}`;
      if (opts.rtp) agent = await AgentClient.start(fixtures.speechWav);
    } else assertLoopback(opts.url);
    const analysis = { windows: 0, scores: 0 };
    service?.pipeline?.media.on('window', () => analysis.windows++);
    service?.pipeline?.on('score', () => analysis.scores++);
    const summary = await runLoadgen(opts, service, agent);
    process.stdout.write(JSON.stringify({ ...summary, ...(service?.pipeline ? { analysis } : {}), options: { ...opts, inProcess: values['in-process'] } }, null, 2) + '\n');
  } finally {
    await stopAll(agent, service);
    models?.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  main().then(
    () => process.exit(),
    (e: unknown) => {
      process.stderr.write(`loadgen: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
