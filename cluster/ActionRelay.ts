/**
 * Operator actions across service nodes (`DFD_ROOM_REGISTRY=nats`): the dashboard or API of any node
 * may challenge or decide on any call. The node that took the REST request forwards the action to the
 * node serving the room, which runs it as if it had been posted there and answers with its result or
 * its typed error.
 *
 *   forward(node, request)  request/reply on <prefix>_action.v1.<node id, base64url>; the reply's
 *                           error is thrown here with its own code (ERR_PEER_NOT_FOUND, ERR_CHALLENGE_ACTIVE...);
 *                           no answer: ERR_NODE_UNREACHABLE (retryable) with the node's URL
 *   serve(handler)          this node's own subject; a message that does not parse or validate is
 *                           answered ERR_ACTION_MESSAGE and counted, never a crash
 *
 * Beside the configured prefix, not under it (`<prefix>.` is the audit stream's: it would store every
 * action request and answer it). Only the service NATS user may publish or subscribe there (deploy/nats/).
 */
import type { Msg, NatsConnection, Subscription } from 'nats';
import { DfdError, ErrorCodes, isDfdError, toDfdError, type ErrorCode } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter } from '../kernel/metrics.js';
import { ACTION_VERSION, decodeActionReply, decodeActionRequest, encodeAction, type ActionRequest } from '../events/actionWire.js';

const log = createLogger('cluster.actions');

export interface ActionRelayOptions {
  /** The configured subject prefix (DFD_SUBJECT_PREFIX). */
  subjectPrefix: string;
  /** This node's id (DFD_NODE_ID): the subject it serves. */
  nodeId: string;
  /** How long a forwarded action may take (a challenge's prompt is synthesised before it answers). */
  timeoutMs: number;
}

export const defaultActionRelayOptions: ActionRelayOptions = { subjectPrefix: 'dfd', nodeId: '', timeoutMs: 10_000 };

const metrics = {
  forwarded: counter<'action' | 'outcome'>({ name: 'dfd_actions_forwarded_total', help: 'Operator actions forwarded to the node serving the room, by outcome (ok, error, unreachable)', labelNames: ['action', 'outcome'] }),
  served: counter<'outcome'>({ name: 'dfd_actions_served_total', help: "Operator actions other nodes forwarded to this one, by outcome (ok, error, rejected)", labelNames: ['outcome'] }),
};

/** The subject a node serves forwarded actions on (node ids may hold dots or colons: base64url keeps one token). */
export function actionSubject(prefix: string, nodeId: string): string {
  return `${prefix}_action.v1.${Buffer.from(nodeId, 'utf8').toString('base64url')}`;
}

/** Runs one action on this node: its result, or a DfdError. */
export type ActionHandler = (request: ActionRequest) => Promise<Record<string, unknown>>;

export class ActionRelay {
  readonly options: ActionRelayOptions;
  readonly #nc: NatsConnection;
  #sub: Subscription | undefined;

  constructor(nc: NatsConnection, options: Partial<ActionRelayOptions> & Pick<ActionRelayOptions, 'nodeId'>) {
    this.options = { ...defaultActionRelayOptions, ...options };
    if (!this.options.nodeId) throw new DfdError('ERR_CONFIG', 'the action relay needs this node id');
    this.#nc = nc;
  }

  /** Serves actions forwarded to this node until close(). */
  serve(handler: ActionHandler): void {
    if (this.#sub) return;
    const subject = actionSubject(this.options.subjectPrefix, this.options.nodeId);
    const sub = this.#nc.subscribe(subject);
    this.#sub = sub;
    void (async () => {
      for await (const msg of sub) void this.#handle(msg, handler);
    })();
  }

  async #handle(msg: Msg, handler: ActionHandler): Promise<void> {
    let request: ActionRequest;
    try {
      request = decodeActionRequest(msg.data);
    } catch (e) {
      metrics.served.inc({ outcome: 'rejected' });
      this.#answer(msg, isDfdError(e) ? e : toDfdError(e));
      return;
    }
    try {
      const result = await handler(request);
      metrics.served.inc({ outcome: 'ok' });
      this.#answer(msg, result);
    } catch (e) {
      metrics.served.inc({ outcome: 'error' });
      if (!isDfdError(e)) log.error('forwarded action failed unexpectedly', { action: request.action, error: e });
      this.#answer(msg, isDfdError(e) ? e : toDfdError(e));
    }
  }

  #answer(msg: Msg, r: Record<string, unknown> | DfdError): void {
    if (!msg.reply) return;
    const j = r instanceof DfdError ? r.toJSON() : undefined;
    msg.respond(encodeAction(j ? { v: ACTION_VERSION, error: { code: j.code, message: j.message.slice(0, 500), ...(j.details ? { details: j.details } : {}) } } : { v: ACTION_VERSION, result: r as Record<string, unknown> }));
  }

  /** Runs `request` on the node serving its room (`node`: that node's id and URL). */
  async forward(node: { node: string; url: string }, request: ActionRequest): Promise<Record<string, unknown>> {
    let data: Uint8Array;
    try {
      data = (await this.#nc.request(actionSubject(this.options.subjectPrefix, node.node), encodeAction(request), { timeout: this.options.timeoutMs })).data;
    } catch (e) {
      metrics.forwarded.inc({ action: request.action, outcome: 'unreachable' });
      throw new DfdError('ERR_NODE_UNREACHABLE', undefined, { roomId: request.roomId, node: node.node, url: node.url }, { cause: e });
    }
    const reply = decodeActionReply(data);
    if ('result' in reply) {
      metrics.forwarded.inc({ action: request.action, outcome: 'ok' });
      return reply.result;
    }
    metrics.forwarded.inc({ action: request.action, outcome: 'error' });
    const code: ErrorCode = reply.error.code in ErrorCodes ? (reply.error.code as ErrorCode) : 'ERR_ACTION_MESSAGE';
    const prefix = `${ErrorCodes[code].message}: `;
    const detail = reply.error.message.startsWith(prefix) ? reply.error.message.slice(prefix.length) : undefined;
    throw new DfdError(code, detail, reply.error.details);
  }

  async close(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    await sub?.drain().catch(() => undefined);
  }
}
