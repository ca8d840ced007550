/**
 * Rejoining after a network drop. When the signalling WebSocket closes without the page
 * asking for it, the meeting page rejoins with exponential backoff (with jitter) and a
 * bounded number of attempts. It never rejoins after the participant left, nor after the
 * service announced its shutdown (`serviceShutdown` notification, or a 1001 close from the
 * server), nor after the same participant joined from another window (a 4409 close: two
 * windows with one token would otherwise take the call from each other in turn), nor after
 * an error that another try cannot fix (a bad token, say).
 *
 * DOM-free: the attempt and the wait are injected, so the loop is unit tested in node
 * (`reconnect.test.ts`).
 */

export interface ReconnectOptions {
  /** Wait before the first attempt. */
  initialDelayMs: number;
  /** Each wait is the previous one times this. */
  factor: number;
  maxDelayMs: number;
  /** Attempts before giving up (then the page offers a "Rejoin" button). */
  maxAttempts: number;
  /** Each wait is spread by ±jitter (a fraction), so a room of clients does not rejoin in lockstep. */
  jitter: number;
}

export const defaultReconnectOptions: ReconnectOptions = { initialDelayMs: 300, factor: 2, maxDelayMs: 8_000, maxAttempts: 8, jitter: 0.2 };

/** The wait before attempt `attempt` (1-based). `random` returns [0, 1). */
export function reconnectDelay(attempt: number, options: ReconnectOptions = defaultReconnectOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** Math.max(0, attempt - 1));
  const spread = 1 + options.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * spread));
}

/** Why a signalling socket closed, as far as rejoining is concerned. */
export type CloseCause = 'left' | 'shutdown' | 'replaced' | 'dropped';

/** WebSocket close code the server uses when it shuts down (`sfu/signalling/SignallingServer.ts`). */
export const SHUTDOWN_CLOSE_CODE = 1001;
/** Close code of a socket whose participant joined again on another socket (`REPLACED_CLOSE_CODE` there). */
export const REPLACED_CLOSE_CODE = 4409;

export function closeCause(close: { code: number }, ctx: { leaving: boolean; shuttingDown: boolean }): CloseCause {
  if (ctx.leaving) return 'left';
  if (ctx.shuttingDown || close.code === SHUTDOWN_CLOSE_CODE) return 'shutdown';
  if (close.code === REPLACED_CLOSE_CODE) return 'replaced';
  return 'dropped';
}

/** Error codes another attempt may fix (`src/errors.ts`: retryable, plus a stale peer and a closed socket). */
const RETRYABLE_CODES = new Set(['ERR_CLOSED', 'ERR_ALREADY_JOINED', 'ERR_ROOM_FULL', 'ERR_RATE_LIMITED', 'ERR_TOKEN_EXPIRED', 'ERR_INTERNAL', 'ERR_WORKER_DIED']);

/** The stable code of a signalling or HTTP error, when it has one. */
export function errorCode(e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

/** Whether an attempt that failed with `e` is worth repeating. Errors without a code (network) are. */
export function isRetryable(e: unknown): boolean {
  const code = errorCode(e);
  if (code === undefined) return true;
  if (e !== null && typeof e === 'object' && (e as { retryable?: unknown }).retryable === true) return true;
  return RETRYABLE_CODES.has(code);
}

export type ReconnectResult =
  | { outcome: 'joined'; attempts: number }
  /** `shouldStop()` turned true (left, or the service is shutting down). */
  | { outcome: 'stopped'; attempts: number }
  | { outcome: 'gave-up'; attempts: number; error: unknown }
  | { outcome: 'fatal'; attempts: number; error: unknown };

export interface ReconnectLoop {
  /** One rejoin; resolves once joined, rejects with the reason otherwise. */
  attempt(n: number): Promise<void>;
  sleep(ms: number): Promise<void>;
  shouldStop(): boolean;
  /** Before each wait: attempt number and the wait. */
  onAttempt?(n: number, delayMs: number): void;
  random?: () => number;
}

export async function reconnect(loop: ReconnectLoop, options: ReconnectOptions = defaultReconnectOptions): Promise<ReconnectResult> {
  let lastError: unknown;
  for (let n = 1; n <= options.maxAttempts; n++) {
    const delay = reconnectDelay(n, options, loop.random);
    loop.onAttempt?.(n, delay);
    await loop.sleep(delay);
    if (loop.shouldStop()) return { outcome: 'stopped', attempts: n - 1 };
    try {
      await loop.attempt(n);
      return { outcome: 'joined', attempts: n };
    } catch (e) {
      lastError = e;
      if (loop.shouldStop()) return { outcome: 'stopped', attempts: n };
      if (!isRetryable(e)) return { outcome: 'fatal', attempts: n, error: e };
    }
  }
  return { outcome: 'gave-up', attempts: options.maxAttempts, error: lastError };
}
