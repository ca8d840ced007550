/**
 * The client address of a request, as rate limits and sign-in lockout key it: the socket's
 * peer address, or (only when the operator says a trusted proxy sets it) the first entry of
 * `X-Forwarded-For`. IPv4-mapped IPv6 addresses are written as IPv4.
 */
import type { IncomingMessage } from 'node:http';

export function clientAddress(req: IncomingMessage, trustProxy = false): string {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first && first.length <= 64 && /^[0-9A-Fa-f.:]+$/.test(first)) return normalise(first);
  }
  return normalise(req.socket.remoteAddress ?? 'unknown');
}

function normalise(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
