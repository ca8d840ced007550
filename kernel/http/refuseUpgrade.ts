/**
 * Answers a refused WebSocket upgrade with a plain HTTP error before any WebSocket exists:
 * the status of the DfdError, its code in the JSON body and in `X-Error-Code`, and
 * `Retry-After` for retryable refusals (from `details.retryAfterSec` when it has one).
 */
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { DfdError } from '../errors.js';

export function refuseUpgrade(socket: Duplex, err: DfdError): void {
  const status = err.status;
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const retryAfter = retryAfterSec(err);
  const retry = retryAfter !== undefined ? `Retry-After: ${retryAfter}\r\n` : '';
  try {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Error-Code: ${err.code}\r\n${retry}Connection: close\r\n\r\n${body}`,
    );
  } catch {
    socket.destroy();
  }
}

/** Seconds a client should wait before retrying, for a retryable error (at least 1). */
export function retryAfterSec(err: DfdError): number | undefined {
  if (!err.retryable) return undefined;
  const d = err.details?.['retryAfterSec'];
  return typeof d === 'number' && Number.isFinite(d) && d >= 1 ? Math.ceil(d) : 5;
}
