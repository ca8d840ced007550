/**
 * One AudioHook text frame -> a typed, validated client message, or a typed error. Stateless:
 * sequence numbers, the session id and the session's state are AudioHookStreamValidator's job.
 *
 *   not JSON                                -> ERR_BAD_JSON
 *   not an object, unknown `type`, schema
 *   mismatch (with the JSON path)           -> ERR_INGEST_FRAME
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { DfdError } from '../../kernel/errors.js';
import { clientSchemas, type ClientMessage, type ClientType } from './protocol.js';

const checks = Object.fromEntries(Object.entries(clientSchemas).map(([k, s]) => [k, TypeCompiler.Compile(s as TSchema)])) as Record<ClientType, TypeCheck<TSchema>>;

function isType(t: unknown): t is ClientType {
  return typeof t === 'string' && Object.hasOwn(clientSchemas, t);
}

/** Parses and validates one text frame; throws DfdError (never anything else). */
export function parseAudioHookMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DfdError('ERR_BAD_JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DfdError('ERR_INGEST_FRAME', 'message is not a JSON object');
  const type = (value as { type?: unknown }).type;
  if (!isType(type)) throw new DfdError('ERR_INGEST_FRAME', 'unknown or server-only message type', { type: typeof type === 'string' ? type.slice(0, 32) : typeof type });
  const check = checks[type];
  if (!check.Check(value)) {
    const e = [...check.Errors(value)][0];
    throw new DfdError('ERR_INGEST_FRAME', e ? `${e.path || '/'}: ${e.message}` : 'invalid', { type });
  }
  return value as ClientMessage;
}
