/**
 * Creates a JetStream stream, or brings an existing one to the given configuration (limits,
 * subjects). Shared by the audit trail (AuditLog) and the audit anchors (AnchorStore).
 */
import type { JetStreamManager, StreamConfig } from 'nats';
import { DfdError } from '../kernel/errors.js';
import type { Logger } from '../kernel/log.js';

export type EnsuredStreamConfig = Partial<StreamConfig> & { name: string; subjects: string[] };

/**
 * `what` names the stream in the error and the log ("audit" -> "cannot update the audit stream",
 * "audit stream created"); `log` is the caller's logger. A stream that exists is updated; one that
 * does not (404 / "not found") is created. Any other failure throws ERR_CONFIG with the cause.
 */
export async function ensureStream(jsm: JetStreamManager, cfg: EnsuredStreamConfig, what: string, log: Logger): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
  } catch (e) {
    if (!isStreamNotFound(e)) {
      throw new DfdError('ERR_CONFIG', `cannot update the ${what} stream`, { stream: cfg.name }, { cause: e });
    }
    await jsm.streams.add(cfg);
    log.info(`${what} stream created`, { stream: cfg.name });
  }
}

function isStreamNotFound(e: unknown): boolean {
  return (e as { code?: string }).code === '404' || /not found/i.test((e as Error).message);
}
