/**
 * Which service node serves which room, when several nodes share one NATS (`DFD_ROOM_REGISTRY=nats`):
 * a JetStream KV bucket, one key per room, whose value names the node and the URL clients reach it at.
 *
 *   claim(room)   first join of a room on this node: KV create (atomic: of two nodes racing, one wins);
 *                 the room already held by another node -> ERR_WRONG_NODE with that node's URL (the
 *                 signalling server answers the join with it: the client reconnects there)
 *   heartbeat     every leaseMs / 3 this node re-writes each room it holds, conditioned on the revision
 *                 it last wrote (so it never overwrites a room another node has taken since)
 *   release(room) the room closed here: its key is deleted
 *   a dead node   writes nothing more: the bucket's TTL (leaseMs) removes its keys, and the next join
 *                 of the room on any node claims it there
 *   describe(room) the holder writes what the room is now into its lease (tenant, call id, who is in
 *                 it): every node watches the bucket (`directory`), so the API and dashboard of any
 *                 node list every room, including one nobody has spoken in yet. A lease whose `at` is
 *                 older than leaseMs counts as gone (the TTL removes keys without telling watchers)
 *
 * Nothing here is a cluster manager: the atomic create, the conditional update and the TTL are
 * JetStream's own. Values read from the bucket are validated; a malformed one is counted, and its room
 * cannot be claimed (ERR_ROOM_REGISTRY, retryable) until the value expires.
 */
import type { KV, KvEntry, NatsConnection } from 'nats';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge } from '../kernel/metrics.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { kvJson } from '../events/kvJson.js';

const log = createLogger('cluster.rooms');

export interface RoomPlacementOptions {
  /** KV bucket of the room leases. */
  bucket: string;
  /** This node's id, unique among the service nodes. */
  nodeId: string;
  /** Where clients reach this node (its public http(s) URL; the signalling WebSocket is at /ws). */
  url: string;
  /** A room not refreshed for this long is free again (the bucket's TTL). */
  leaseMs: number;
  /** JetStream replicas of the bucket (DFD_JETSTREAM_REPLICAS). */
  replicas: number;
  timeoutMs: number;
}

export const defaultRoomPlacementOptions: RoomPlacementOptions = {
  bucket: 'DFD_ROOMS',
  nodeId: '',
  url: '',
  leaseMs: 15_000,
  replicas: 1,
  timeoutMs: 5_000,
};

/** What the holder says its room is now (written into the lease; bounded). */
export interface RoomInfo {
  tenant: string;
  callId: string;
  startedAt: string;
  /** Who is in the room now. */
  participants: { peerId: string; displayName: string }[];
}

/** The value of a room's key. */
export interface RoomLease {
  node: string;
  url: string;
  /** When the lease was last written (ISO). */
  at: string;
  /** The room as its holder last described it (absent until it did). */
  room?: RoomInfo;
}

/** The most participants a lease lists (a larger room lists the first ones). */
export const MAX_LEASE_PARTICIPANTS = 200;

export interface RoomPlacementEvents {
  /** A room this node held was taken by another node (this node missed its heartbeats): close it here. */
  lost: [roomId: string, holder: RoomLease | undefined];
  /** A room of the directory changed (another node's or ours): its lease now, or undefined when it is gone. */
  directory: [roomId: string, lease: RoomLease | undefined];
}

const metrics = {
  claims: counter<'result'>({ name: 'dfd_room_claims_total', help: 'Room claims by result (claimed, held, wrong-node, error)', labelNames: ['result'] }),
  lost: counter({ name: 'dfd_room_leases_lost_total', help: 'Rooms this node held that another node took (missed heartbeats)' }),
  invalid: counter({ name: 'dfd_room_leases_invalid_total', help: 'Room registry values that did not parse as a lease (treated as free)' }),
  held: gauge({ name: 'dfd_room_leases_held', help: 'Rooms this node holds in the room registry' }),
};

/** KV create's answer when the key holds a value: JetStream's "wrong last sequence" (err_code 10071). */
function keyExists(e: unknown): boolean {
  const api = (e as { api_error?: { err_code?: number } }).api_error;
  return api?.err_code === 10071 || /wrong last sequence/i.test(String((e as Error | undefined)?.message ?? ''));
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const isTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && Number.isFinite(Date.parse(v));

function parseRoomInfo(value: unknown): RoomInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { tenant, callId, startedAt, participants } = value as Record<string, unknown>;
  if (typeof tenant !== 'string' || !ID_RE.test(tenant) || typeof callId !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(callId) || !isTime(startedAt)) return undefined;
  if (!Array.isArray(participants) || participants.length > MAX_LEASE_PARTICIPANTS) return undefined;
  const out: RoomInfo['participants'] = [];
  for (const p of participants as unknown[]) {
    const { peerId, displayName } = (p ?? {}) as Record<string, unknown>;
    if (typeof peerId !== 'string' || !ID_RE.test(peerId) || typeof displayName !== 'string' || displayName.length > 128) return undefined;
    out.push({ peerId, displayName });
  }
  return { tenant, callId, startedAt, participants: out };
}

/** A lease as read from the bucket, validated (undefined: malformed, including a malformed room description). */
export function parseRoomLease(value: unknown): RoomLease | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { node, url, at, room } = value as Record<string, unknown>;
  if (typeof node !== 'string' || node.length === 0 || node.length > 128) return undefined;
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]{1,500}$/.test(url)) return undefined;
  if (!isTime(at)) return undefined;
  if (room === undefined) return { node, url, at };
  const info = parseRoomInfo(room);
  return info ? { node, url, at, room: info } : undefined;
}

export class RoomPlacement extends TypedEmitter<RoomPlacementEvents> {
  readonly options: RoomPlacementOptions;
  readonly #kv: KV;
  /** Rooms held here, with the revision of our last write. */
  readonly #held = new Map<string, number>();
  /** What each room held here is now (describe()). */
  readonly #info = new Map<string, RoomInfo>();
  /** Every node's rooms as last read from the bucket (watch()). */
  readonly #directory = new Map<string, RoomLease>();
  /** Writes to the bucket, one at a time (heartbeats and descriptions update with the last revision). */
  #writes: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;
  #watch: { stop(): void } | undefined;
  #closed = false;

  private constructor(options: RoomPlacementOptions, kv: KV) {
    super();
    this.options = options;
    this.#kv = kv;
    this.#timer = setInterval(() => {
      this.#serial(() => this.#heartbeat());
      this.#expireDirectory();
    }, Math.max(100, Math.floor(options.leaseMs / 3)));
    this.#timer.unref();
  }

  static async open(nc: NatsConnection, options: Partial<RoomPlacementOptions> & Pick<RoomPlacementOptions, 'nodeId' | 'url'>): Promise<RoomPlacement> {
    const o = { ...defaultRoomPlacementOptions, ...options };
    if (!o.nodeId || !parseRoomLease({ node: o.nodeId, url: o.url, at: new Date().toISOString() })) {
      throw new DfdError('ERR_CONFIG', 'the room registry needs a node id and an http(s) URL for this node (DFD_NODE_ID, DFD_PUBLIC_URL)');
    }
    if (!(o.leaseMs >= 1000)) throw new DfdError('ERR_CONFIG', 'room lease must be at least 1 s');
    try {
      const kv = await nc.jetstream().views.kv(o.bucket, { history: 1, ttl: o.leaseMs, replicas: o.replicas, timeout: o.timeoutMs });
      return new RoomPlacement(o, kv);
    } catch (e) {
      throw new DfdError('ERR_CONFIG', 'cannot open the room registry bucket', { bucket: o.bucket }, { cause: e });
    }
  }

  #lease(roomId: string): Uint8Array {
    const room = this.#info.get(roomId);
    return new TextEncoder().encode(JSON.stringify({ node: this.options.nodeId, url: this.options.url, at: new Date().toISOString(), ...(room ? { room } : {}) } satisfies RoomLease));
  }

  /** Runs `write` after the writes before it; never rejects (each write handles its own failures). */
  #serial(write: () => Promise<void>): Promise<void> {
    this.#writes = this.#writes.then(write).catch((e: unknown) => log.warn('room registry write failed', { error: e }));
    return this.#writes;
  }

  /** The node holding `roomId` now, if any (malformed values: none). */
  async holder(roomId: string): Promise<RoomLease | undefined> {
    const e = await this.#kv.get(roomId);
    if (!e || e.operation !== 'PUT') return undefined;
    const lease = parseRoomLease(kvJson(e));
    if (!lease) metrics.invalid.inc();
    return lease;
  }

  /**
   * Makes this node the room's holder, or confirms it is. Throws ERR_WRONG_NODE (details: node, url)
   * when another node holds it, ERR_ROOM_REGISTRY (retryable) when the registry cannot say.
   */
  async claim(roomId: string): Promise<void> {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'room registry');
    if (this.#held.has(roomId)) return void metrics.claims.inc({ result: 'held' });
    const unavailable = (e: unknown, detail?: string, details: Record<string, unknown> = {}): DfdError => {
      metrics.claims.inc({ result: 'error' });
      return new DfdError('ERR_ROOM_REGISTRY', detail, { roomId, ...details }, { cause: e });
    };
    // Twice at most: a lease released between our create and our read is free again.
    for (let attempt = 0; ; attempt++) {
      try {
        this.#held.set(roomId, await this.#kv.create(roomId, this.#lease(roomId)));
        metrics.held.set(this.#held.size);
        return void metrics.claims.inc({ result: 'claimed' });
      } catch (e) {
        // NATS or the bucket is unavailable (or refuses this user): no room can be placed now.
        if (!keyExists(e)) throw unavailable(e);
        const entry = await this.#kv.get(roomId).catch(() => undefined);
        if ((!entry || entry.operation !== 'PUT') && attempt === 0) continue;
        const holder = await this.holder(roomId).catch(() => undefined);
        if (holder?.node === this.options.nodeId) {
          // Ours from before a restart of this process under the same node id: take it up again.
          try {
            this.#held.set(roomId, await this.#kv.put(roomId, this.#lease(roomId)));
          } catch (put) {
            throw unavailable(put);
          }
          metrics.held.set(this.#held.size);
          return void metrics.claims.inc({ result: 'claimed' });
        }
        if (holder) {
          metrics.claims.inc({ result: 'wrong-node' });
          throw new DfdError('ERR_WRONG_NODE', undefined, { roomId, node: holder.node, url: holder.url });
        }
        throw unavailable(e, 'the registry holds an unreadable lease for this room until it expires', { retryInMs: this.options.leaseMs });
      }
    }
  }

  /**
   * Says what a room held here is now (its tenant, call and who is in it): written into its lease at
   * once, so every node's directory shows it. Ignored for a room not held here.
   */
  describe(roomId: string, room: RoomInfo): Promise<void> {
    if (!this.#held.has(roomId) || this.#closed) return Promise.resolve();
    this.#info.set(roomId, { ...room, participants: room.participants.slice(0, MAX_LEASE_PARTICIPANTS) });
    return this.#serial(async () => {
      const rev = this.#held.get(roomId);
      if (rev === undefined || this.#closed) return;
      try {
        this.#held.set(roomId, await this.#kv.update(roomId, this.#lease(roomId), rev));
      } catch (e) {
        // The next heartbeat writes it (or finds the lease lost).
        log.debug('room description not written yet', { roomId, error: e });
      }
    });
  }

  /** The room closed on this node: free it for any node. */
  async release(roomId: string): Promise<void> {
    this.#info.delete(roomId);
    if (!this.#held.delete(roomId)) return;
    metrics.held.set(this.#held.size);
    if (this.#closed) return;
    // After any description still being written: other nodes see the room emptied, then gone.
    await this.#serial(async () => {
      try {
        await this.#kv.delete(roomId);
      } catch (e) {
        log.warn('room release failed; the lease expires on its own', { roomId, error: e });
      }
    });
  }

  /** The room's holder when it is another node (a room held here, or by nobody: undefined). */
  async elsewhere(roomId: string): Promise<RoomLease | undefined> {
    if (this.#held.has(roomId)) return undefined;
    const holder = await this.holder(roomId);
    return holder && holder.node !== this.options.nodeId ? holder : undefined;
  }

  /** Rooms this node holds. */
  get held(): string[] {
    return [...this.#held.keys()];
  }

  /**
   * Starts reading every node's leases (a KV watch: the current ones, then each change); `directory`
   * events follow. Idempotent.
   */
  async watch(): Promise<void> {
    if (this.#watch || this.#closed) return;
    const iter = await this.#kv.watch();
    this.#watch = iter;
    void (async () => {
      for await (const e of iter) {
        if (e.operation !== 'PUT') {
          this.#forget(e.key);
          continue;
        }
        const lease = parseRoomLease(kvJson(e));
        if (!lease) {
          metrics.invalid.inc();
          this.#forget(e.key);
          continue;
        }
        this.#directory.set(e.key, lease);
        this.safeEmit('directory', e.key, lease);
      }
    })().catch((e: unknown) => {
      if (!this.#closed) log.warn('room directory watch ended', { error: e });
    });
  }

  /** Every room of every node, as last read (watch()), fresh leases only. */
  directory(): Map<string, RoomLease> {
    this.#expireDirectory();
    return new Map(this.#directory);
  }

  #forget(roomId: string): void {
    if (this.#directory.delete(roomId)) this.safeEmit('directory', roomId, undefined);
  }

  /** The TTL removes a dead node's keys without a message to watchers: a lease not rewritten within leaseMs is gone. */
  #expireDirectory(now = Date.now()): void {
    for (const [roomId, lease] of this.#directory) if (now - Date.parse(lease.at) > this.options.leaseMs) this.#forget(roomId);
  }

  async #heartbeat(): Promise<void> {
    if (this.#closed) return;
    for (const [roomId, rev] of [...this.#held]) {
      try {
        // Conditional on our last write: a room taken by another node after our lease ran out stays theirs.
        this.#held.set(roomId, await this.#kv.update(roomId, this.#lease(roomId), rev));
      } catch (e) {
        if (this.#closed || !this.#held.has(roomId)) return;
        const holder = await this.#recheck(roomId);
        // The registry cannot say now (NATS or JetStream unavailable, e.g. a leader election), or the room is
        // ours again: keep it; the next beat retries. Only another node's lease makes the room lost here.
        if (holder === 'unknown' || holder === 'ours') continue;
        this.#held.delete(roomId);
        metrics.held.set(this.#held.size);
        metrics.lost.inc();
        log.warn('room lease lost to another node', { roomId, holder: holder.node, error: e });
        this.safeEmit('lost', roomId, holder);
      }
    }
  }

  /**
   * After a failed heartbeat: who holds the room. 'ours' (our lease, its revision taken up again; or it had
   * expired and we took it again), another node's lease, or 'unknown' when the registry cannot be read or
   * holds a malformed value.
   */
  async #recheck(roomId: string): Promise<RoomLease | 'ours' | 'unknown'> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let entry: KvEntry | null;
      try {
        entry = await this.#kv.get(roomId);
      } catch {
        return 'unknown';
      }
      if (entry && entry.operation === 'PUT') {
        const lease = parseRoomLease(kvJson(entry));
        if (!lease) {
          metrics.invalid.inc();
          return 'unknown';
        }
        if (lease.node !== this.options.nodeId) return lease;
        this.#held.set(roomId, entry.revision);
        return 'ours';
      }
      // Expired (e.g. NATS unreachable for longer than the lease) and nobody took it: take it again.
      try {
        this.#held.set(roomId, await this.#kv.create(roomId, this.#lease(roomId)));
        return 'ours';
      } catch (e) {
        if (!keyExists(e)) return 'unknown';
        // Another node created it meanwhile: read whose it is.
      }
    }
    return 'unknown';
  }

  /** Stops the heartbeat; with `release` (a graceful shutdown) frees every room held. A crash frees them by TTL. */
  async close(release = true): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#watch?.stop();
    await this.#writes;
    if (release) for (const roomId of this.held) await this.release(roomId);
    this.#closed = true;
  }
}
