/**
 * The REST calls the dashboard makes (cookie session, same origin). Every failure becomes
 * an `ApiError` carrying the API's stable error code (`ERR_...`), which the UI shows.
 */
import { parseCallSummary, type CallSummary, type ParticipantRecord } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** The error's `details` (e.g. ERR_WRONG_NODE's node and url), when the server sent any. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Several service nodes: an action on a call another node serves is forwarded there. It is refused with
 * ERR_WRONG_NODE and that node's URL when this node cannot forward it, and ERR_NODE_UNREACHABLE when that
 * node did not answer. What to tell the operator, or undefined for any other error.
 */
export function wrongNodeHint(e: ApiError): string | undefined {
  const { node, url } = e.details;
  if ((e.code !== 'ERR_WRONG_NODE' && e.code !== 'ERR_NODE_UNREACHABLE') || typeof url !== 'string' || !/^https?:\/\//.test(url)) return undefined;
  const name = typeof node === 'string' ? node : 'another node';
  const dashboard = `${url.replace(/\/$/, '')}/dashboard`;
  return e.code === 'ERR_WRONG_NODE' ? `this call is served by ${name}: act on it from ${dashboard}` : `${name}, which serves this call, did not answer: try again, or act on it from ${dashboard}`;
}

export interface ApiClientOptions {
  baseUrl: string;
  /** Aborts a request after this long (it then fails with code ERR_TIMEOUT). */
  timeoutMs: number;
}

export const defaultApiClientOptions: ApiClientOptions = { baseUrl: '', timeoutMs: 10_000 };

const seg = (s: string): string => encodeURIComponent(s);

export class ApiClient {
  readonly options: ApiClientOptions;

  constructor(options: Partial<ApiClientOptions> = {}) {
    this.options = { ...defaultApiClientOptions, ...options };
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.options.baseUrl}${path}`, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (e) {
      const timeout = e instanceof DOMException && e.name === 'TimeoutError';
      throw new ApiError(timeout ? 'ERR_TIMEOUT' : 'ERR_NETWORK', timeout ? 'the server did not answer in time' : 'the server cannot be reached', 0);
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
      const message = typeof err?.message === 'string' ? err.message : res.statusText || 'request failed';
      const details = typeof err?.details === 'object' && err.details !== null && !Array.isArray(err.details) ? (err.details as Record<string, unknown>) : {};
      throw new ApiError(code, message, res.status, details);
    }
    return json;
  }

  async login(username: string, password: string): Promise<void> {
    await this.#request('POST', '/v1/auth/login', { username, password });
  }

  async logout(): Promise<void> {
    await this.#request('POST', '/v1/auth/logout');
  }

  async me(): Promise<{ operator: string }> {
    const r = (await this.#request('GET', '/v1/me')) as { operator?: unknown } | undefined;
    return { operator: typeof r?.operator === 'string' ? r.operator : '' };
  }

  async rooms(): Promise<CallSummary[]> {
    const r = (await this.#request('GET', '/v1/rooms')) as { rooms?: unknown } | undefined;
    const list = Array.isArray(r?.rooms) ? r.rooms : [];
    return list.map(parseCallSummary).filter((c): c is CallSummary => c !== undefined);
  }

  async participant(roomId: string, peerId: string): Promise<ParticipantRecord> {
    const r = (await this.#request('GET', `/v1/rooms/${seg(roomId)}/participants/${seg(peerId)}`)) as Partial<ParticipantRecord> | undefined;
    return {
      peerId,
      displayName: typeof r?.displayName === 'string' ? r.displayName : peerId,
      history: Array.isArray(r?.history) ? r.history : [],
      challenges: Array.isArray(r?.challenges) ? r.challenges : [],
      decisions: Array.isArray(r?.decisions) ? r.decisions : [],
    };
  }

  async challenge(roomId: string, peerId: string): Promise<{ challengeId: string; challengeType: string }> {
    const r = (await this.#request('POST', `/v1/rooms/${seg(roomId)}/participants/${seg(peerId)}/challenge`, {})) as { challengeId?: unknown; challengeType?: unknown } | undefined;
    return { challengeId: String(r?.challengeId ?? ''), challengeType: String(r?.challengeType ?? '') };
  }

  async decision(roomId: string, peerId: string, decision: 'confirm' | 'dismiss'): Promise<void> {
    await this.#request('POST', `/v1/rooms/${seg(roomId)}/participants/${seg(peerId)}/decision`, { decision });
  }

  /** Every tenant's own calibration (records as the service stores them; parse with calibrationFormat.ts). */
  async calibrations(): Promise<unknown[]> {
    const r = (await this.#request('GET', '/v1/calibration')) as { tenants?: unknown } | undefined;
    return Array.isArray(r?.tenants) ? r.tenants : [];
  }

  async refitCalibration(tenant: string): Promise<unknown> {
    return this.#request('POST', `/v1/calibration/${seg(tenant)}/refit`, {});
  }

  async rollbackCalibration(tenant: string): Promise<unknown> {
    return this.#request('POST', `/v1/calibration/${seg(tenant)}/rollback`, {});
  }
}
