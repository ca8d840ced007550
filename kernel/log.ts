/**
 * Structured JSON logs. Messages are static strings; values go in structured fields.
 * Never log media, frames, tokens or free-text personal data (display names are hashed
 * by callers with `redactName`). As a backstop, `serialise` replaces the string value of
 * any field named like a secret (password, token, key, cookie...) and masks `?key=`,
 * `?token=` and bearer credentials inside strings and error messages.
 */
import { createHash } from 'node:crypto';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const LOG_LEVELS = Object.keys(order) as LogLevel[];

/** 'info' until the application sets it from its configuration (LOG_LEVEL, src/config.ts). */
let threshold: LogLevel = 'info';

export function setLogLevel(level: LogLevel): void {
  if (level in order) threshold = level;
}

/** The level this thread logs at (worker threads are given it when they start). */
export function currentLogLevel(): LogLevel {
  return threshold;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

/** Field names whose string values are secrets: never written, whatever a caller passes. */
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key/i;
/** Secrets inside strings: query parameters and bearer credentials (URLs in error messages). */
const SECRET_IN_TEXT = /([?&](?:key|token|access_token|api_key|apikey|password)=)[^&\s"']+|(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

function redactText(s: string): string {
  return s.replace(SECRET_IN_TEXT, (_m, q: string | undefined, b: string | undefined) => `${q ?? b ?? ''}[redacted]`);
}

/** A log field made safe: secret-named strings replaced, secrets in text masked, errors reduced to name/message/code. */
export function serialise(v: unknown, key = '', depth = 0): unknown {
  if (v instanceof Error) {
    const o: Record<string, unknown> = { name: v.name, message: redactText(v.message) };
    if ('code' in v) o['code'] = (v as { code: unknown }).code;
    return o;
  }
  if (typeof v === 'string') return SECRET_KEY.test(key) ? '[redacted]' : redactText(v);
  if (v && typeof v === 'object' && depth < 4 && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) {
    if (Array.isArray(v)) return v.map((x) => serialise(x, key, depth + 1));
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = serialise(x, k, depth + 1);
    return o;
  }
  return v;
}

export function createLogger(component: string): Logger {
  const write = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void => {
    if (order[level] < order[threshold]) return;
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level, component, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = serialise(v, k);
    const line = JSON.stringify(rec) + '\n';
    if (level === 'error' || level === 'warn') process.stderr.write(line);
    else process.stdout.write(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => createLogger(`${component}.${c}`),
  };
}

/** A stable, non-reversible tag for a display name, for logs. */
export function redactName(name: string): string {
  return 'name#' + createHash('sha256').update(name).digest('hex').slice(0, 8);
}
