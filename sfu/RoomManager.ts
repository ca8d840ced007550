/**
 * Rooms by id, each on the least-loaded worker. When a worker dies its rooms are closed
 * (their peers are told) and new rooms go to the replacement worker. With a placement (several
 * service nodes, cluster/RoomPlacement.ts wired by the service) a room is claimed for this node
 * before it is created here, and released when it closes.
 */
import type { WorkerPool } from './WorkerPool.js';
import { Room, type RoomCloseReason, type RoomOptions } from './Room.js';
import type { MediaTap } from './MediaTap.js';
import type { Peer } from './Peer.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { DfdError } from '../kernel/errors.js';
import { DEFAULT_TENANT } from '../kernel/tenant.js';
import { gauge } from '../kernel/metrics.js';

export interface RoomManagerEvents {
  roomopen: [room: Room];
  roomclose: [room: Room, reason: RoomCloseReason];
  tapopen: [tap: MediaTap, room: Room];
}

/** Which node serves a room (the service wires cluster/RoomPlacement.ts in; absent: every room is local). */
export interface RoomPlacementHooks {
  /** Resolves when this node may serve the room; throws (ERR_WRONG_NODE) when another node does. */
  claim(roomId: string): Promise<void>;
  release(roomId: string): Promise<void>;
}

export class RoomManager extends TypedEmitter<RoomManagerEvents> {
  readonly #pool: WorkerPool;
  #placement: RoomPlacementHooks | undefined;
  readonly #roomOptions: Partial<RoomOptions>;
  readonly #rooms = new Map<string, Room>();
  readonly #pending = new Map<string, Promise<Room>>();
  #closed = false;

  constructor(pool: WorkerPool, roomOptions: Partial<RoomOptions> = {}) {
    super();
    this.#pool = pool;
    this.#roomOptions = roomOptions;
    pool.on('workerdied', (slot) => {
      for (const room of [...this.#rooms.values()]) if (room.workerIndex === slot.index) room.close('worker-died');
    });
    const count = (f: (r: Room) => number): number => this.#count(f);
    const sumPeers = (f: (p: Peer) => number) => (r: Room): number => [...r.peers.values()].reduce((n, p) => n + f(p), 0);
    gauge({ name: 'dfd_sfu_rooms', help: 'Open rooms', collect() { this.set(count(() => 1)); } });
    gauge({ name: 'dfd_sfu_peers', help: 'Joined peers', collect() { this.set(count((r) => r.peers.size)); } });
    gauge({ name: 'dfd_sfu_producers', help: 'Producers', collect() { this.set(count(sumPeers((p) => p.producers.size))); } });
    gauge({ name: 'dfd_sfu_consumers', help: 'Consumers delivering to participants (taps excluded)', collect() { this.set(count(sumPeers((p) => p.consumers.size))); } });
    gauge({ name: 'dfd_sfu_taps', help: 'Media taps feeding the pipeline', collect() { this.set(count((r) => r.taps.size)); } });
  }

  /** Set once the registry is open (the service connects to NATS after it made the room manager). */
  setPlacement(placement: RoomPlacementHooks | undefined): void {
    this.#placement = placement;
  }

  get(roomId: string): Room | undefined {
    return this.#rooms.get(roomId);
  }

  list(): Room[] {
    return [...this.#rooms.values()];
  }

  /**
   * The room, created for `tenant` (default: the manager's default tenant) when it does not exist.
   * A room belongs to the tenant that created it: asking for it as another tenant throws
   * ERR_TENANT_MISMATCH (a join token or ingest key of one tenant never enters another's room).
   */
  async getOrCreate(roomId: string, tenant?: string): Promise<Room> {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'room manager');
    const want = tenant ?? this.#roomOptions.tenant ?? DEFAULT_TENANT;
    const existing = this.#rooms.get(roomId);
    if (existing && !existing.closed) return RoomManager.#ofTenant(existing, want);
    let pending = this.#pending.get(roomId);
    if (!pending) {
      pending = this.#create(roomId, want).finally(() => this.#pending.delete(roomId));
      this.#pending.set(roomId, pending);
    }
    return RoomManager.#ofTenant(await pending, want);
  }

  static #ofTenant(room: Room, tenant: string): Room {
    if (room.tenant !== tenant) throw new DfdError('ERR_TENANT_MISMATCH', undefined, { roomId: room.id });
    return room;
  }

  async #create(roomId: string, tenant: string): Promise<Room> {
    const placement = this.#placement;
    await placement?.claim(roomId);
    const slot = this.#pool.pick();
    let room: Room;
    try {
      room = await Room.create(roomId, slot.worker, slot.index, { ...this.#roomOptions, tenant });
    } catch (e) {
      void placement?.release(roomId);
      throw e;
    }
    if (this.#closed) {
      // Created while the service was shutting down: nothing may outlive close().
      room.close('shutdown');
      void placement?.release(roomId);
      throw new DfdError('ERR_CLOSED', 'room manager');
    }
    slot.load++;
    this.#rooms.set(roomId, room);
    room.on('tapopen', (tap) => this.safeEmit('tapopen', tap, room));
    room.on('close', (reason) => {
      if (this.#rooms.get(roomId) === room) this.#rooms.delete(roomId);
      void placement?.release(roomId);
      if (reason !== 'worker-died') slot.load = Math.max(0, slot.load - 1);
      this.safeEmit('roomclose', room, reason);
    });
    this.safeEmit('roomopen', room);
    return room;
  }

  /** Closes every room ('shutdown': their peers are told) and refuses new ones. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const room of [...this.#rooms.values()]) room.close('shutdown');
    if (this.#rooms.size > 0) throw new DfdError('ERR_INTERNAL', 'rooms left after close');
  }

  #count(f: (r: Room) => number): number {
    let n = 0;
    for (const r of this.#rooms.values()) n += f(r);
    return n;
  }
}
