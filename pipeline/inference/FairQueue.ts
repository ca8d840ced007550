/**
 * A bounded queue shared by many streams that thins fairly when full.
 *
 * - Dequeue is round-robin across streams (FIFO within a stream), so a flooding stream
 *   does not get more turns than a quiet one.
 * - When full, the incoming item always gets in; the item evicted is the OLDEST queued
 *   item of the stream that has the most queued (the incoming stream itself when it is
 *   among the largest). A stream with nothing queued therefore always gets in, and no
 *   stream can hold more than its share for long: no stream starves.
 * Memory is bounded by `capacity` items.
 */

export interface QueuedItem<T> {
  key: string;
  item: T;
  enqueuedAt: number;
}

export interface PushResult<T> {
  /** The item pushed out to make room, if any. */
  evicted?: QueuedItem<T>;
}

export class FairQueue<T> {
  readonly capacity: number;
  /** Map order is the round-robin order: a stream served moves to the back. */
  private readonly streams = new Map<string, QueuedItem<T>[]>();
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
  }

  get size(): number {
    return this.count;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  sizeOf(key: string): number {
    return this.streams.get(key)?.length ?? 0;
  }

  push(key: string, item: T, now: number): PushResult<T> {
    let evicted: QueuedItem<T> | undefined;
    if (this.count >= this.capacity) evicted = this.evictFor(key);
    let list = this.streams.get(key);
    if (!list) {
      list = [];
      this.streams.set(key, list);
    }
    list.push({ key, item, enqueuedAt: now });
    this.count++;
    return evicted ? { evicted } : {};
  }

  /** Next item in round-robin order, without removing it. */
  peek(): QueuedItem<T> | undefined {
    for (const list of this.streams.values()) return list[0];
    return undefined;
  }

  shift(): QueuedItem<T> | undefined {
    for (const [key, list] of this.streams) {
      const head = list.shift();
      this.streams.delete(key);
      if (list.length > 0) this.streams.set(key, list);
      if (head) this.count--;
      return head;
    }
    return undefined;
  }

  /** Removes and returns everything (for close). */
  drain(): QueuedItem<T>[] {
    const all: QueuedItem<T>[] = [];
    for (const list of this.streams.values()) all.push(...list);
    this.streams.clear();
    this.count = 0;
    return all;
  }

  private evictFor(incoming: string): QueuedItem<T> | undefined {
    let victimKey: string | undefined;
    let victimSize = -1;
    let victimAge = Infinity;
    for (const [key, list] of this.streams) {
      const head = list[0];
      if (!head) continue;
      const better = list.length > victimSize || (list.length === victimSize && head.enqueuedAt < victimAge);
      if (better) {
        victimKey = key;
        victimSize = list.length;
        victimAge = head.enqueuedAt;
      }
    }
    // The incoming stream pays for itself when it is among the largest.
    if (this.sizeOf(incoming) >= victimSize) victimKey = incoming;
    if (victimKey === undefined) return undefined;
    const list = this.streams.get(victimKey)!;
    const out = list.shift();
    // The incoming stream keeps its place in the rotation even if this emptied it.
    if (list.length === 0 && victimKey !== incoming) this.streams.delete(victimKey);
    if (out) this.count--;
    return out;
  }
}
