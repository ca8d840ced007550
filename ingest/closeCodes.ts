/**
 * WebSocket close codes of the ingest endpoints (RFC 6455 section 7.4.1). The close reason
 * is always the stable error code (e.g. "ERR_INGEST_AUTH"), so a platform's logs and our
 * tests can tell why a stream was refused.
 */
import type { ErrorCode } from '../kernel/errors.js';

export const CloseCode = {
  /** The stream ended normally (Twilio sent `stop`). */
  normal: 1000,
  /** The service is shutting down. */
  goingAway: 1001,
  /** Policy violation: wrong key, protocol error, rate limit. */
  policy: 1008,
  /** Frame larger than the limit (sent by `ws` itself). */
  tooBig: 1009,
  /** Something failed on our side. */
  internal: 1011,
  /** Over capacity: try again later. */
  tryLater: 1013,
} as const;

export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'ERR_SHUTTING_DOWN':
      return CloseCode.goingAway;
    case 'ERR_INGEST_CAPACITY':
      return CloseCode.tryLater;
    case 'ERR_INTERNAL':
    case 'ERR_WORKER_DIED':
      return CloseCode.internal;
    default:
      return CloseCode.policy;
  }
}
