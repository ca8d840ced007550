/**
 * Audit anchors on JetStream: a stream of their own (`DFD_AUDIT_ANCHORS`, subjects
 * `<prefix>_anchors.<room>.<call>`), apart from the audit records, with the same retention.
 * Written by the EventBus; read back for evidence bundles.
 */
import { StorageType, nanos, type JetStreamClient, type JetStreamManager } from 'nats';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { ensureStream, type EnsuredStreamConfig } from './ensureStream.js';
import { isAuditAnchor, type AuditAnchor } from './auditAnchor.js';
import { assertSubjectPrefix, assertSubjectToken, DEFAULT_SUBJECT_PREFIX } from './schema.js';

const log = createLogger('events.anchors');

export interface AnchorStoreOptions {
  streamName: string;
  /** Event subject prefix; anchors use `<prefix>_anchors` (never inside the audit stream's `<prefix>.>`). */
  subjectPrefix: string;
  maxAgeMs: number;
  /** Anchors are small (about 400 bytes each); they also age out with maxAgeMs. */
  maxBytes: number;
  /** Copies the JetStream cluster keeps (1 on a single nats-server; 3 in a 3-node cluster survives losing a node). */
  replicas: number;
  /** Upper bound on anchors one read returns. */
  maxReadAnchors: number;
  readTimeoutMs: number;
}

export const defaultAnchorStoreOptions: AnchorStoreOptions = {
  streamName: 'DFD_AUDIT_ANCHORS',
  subjectPrefix: DEFAULT_SUBJECT_PREFIX,
  maxAgeMs: 30 * 24 * 3600 * 1000,
  maxBytes: 64 * 1024 * 1024,
  replicas: 1,
  maxReadAnchors: 100_000,
  readTimeoutMs: 30_000,
};

export class AnchorStore {
  readonly options: AnchorStoreOptions;

  constructor(options: Partial<AnchorStoreOptions> = {}) {
    this.options = { ...defaultAnchorStoreOptions, ...options };
    assertSubjectPrefix(this.options.subjectPrefix);
  }

  get subjectRoot(): string {
    return `${this.options.subjectPrefix}_anchors`;
  }

  subjectFor(roomId: string, callId: string): string {
    assertSubjectToken(roomId, 'roomId');
    assertSubjectToken(callId, 'callId');
    return `${this.subjectRoot}.${roomId}.${callId}`;
  }

  streamConfig(): EnsuredStreamConfig {
    const o = this.options;
    return { name: o.streamName, subjects: [`${this.subjectRoot}.>`], storage: StorageType.File, max_age: nanos(o.maxAgeMs), max_bytes: o.maxBytes, num_replicas: o.replicas };
  }

  async ensureStream(jsm: JetStreamManager): Promise<void> {
    await ensureStream(jsm, this.streamConfig(), 'anchor', log);
  }

  async publish(js: JetStreamClient, anchor: AuditAnchor, timeoutMs: number): Promise<void> {
    await js.publish(this.subjectFor(anchor.roomId, anchor.callId), JSON.stringify(anchor), {
      msgID: `${anchor.roomId}/${anchor.callId}/${anchor.index}/${anchor.reason}`,
      timeout: timeoutMs,
    });
  }

  /** Every well-formed anchor of a call, in index order (signatures are checked by the verifier). */
  async read(js: JetStreamClient, roomId: string, callId: string): Promise<AuditAnchor[]> {
    const o = this.options;
    const deadline = Date.now() + o.readTimeoutMs;
    const consumer = await js.consumers.get(o.streamName, { filterSubjects: this.subjectFor(roomId, callId) });
    const out = new Map<string, AuditAnchor>();
    for (;;) {
      if (Date.now() > deadline) throw new DfdError('ERR_INTERNAL', 'anchor read timed out', { read: out.size });
      const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
      let got = 0;
      let pending = 0;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        let value: unknown;
        try {
          value = m.json();
        } catch {
          value = undefined;
        }
        if (isAuditAnchor(value) && value.roomId === roomId && value.callId === callId) out.set(`${value.index}/${value.reason}`, value);
        else log.warn('anchor skipped: invalid', { seq: m.seq });
        if (out.size > o.maxReadAnchors) throw new DfdError('ERR_MESSAGE_TOO_LARGE', 'anchor read exceeds its limit', { max: o.maxReadAnchors });
        if (pending === 0) break;
      }
      if (got === 0 || pending === 0) break;
    }
    return [...out.values()].sort((a, b) => a.index - b.index || a.reason.localeCompare(b.reason));
  }
}
