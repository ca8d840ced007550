/**
 * Browser side of the signalling protocol (see sfu/signalling/protocol.ts):
 * request/response with ids, plus notifications.
 */
export interface SignallingError {
  code: string;
  message: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

type NotificationHandler = (method: string, data: Record<string, unknown>) => void;

export class SignallingClient {
  #ws: WebSocket;
  #nextId = 1;
  #pending = new Map<number, { resolve: (d: Record<string, unknown>) => void; reject: (e: Error & { code?: string }) => void }>();
  #handlers: NotificationHandler[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.#ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.#ws.addEventListener('open', () => resolve(), { once: true });
      this.#ws.addEventListener('error', () => reject(new Error('signalling connection failed')), { once: true });
    });
    this.closed = new Promise((resolve) => {
      this.#ws.addEventListener('close', (ev) => {
        for (const p of this.#pending.values()) p.reject(Object.assign(new Error('connection closed'), { code: 'ERR_CLOSED' }));
        this.#pending.clear();
        resolve({ code: ev.code, reason: ev.reason });
      });
    });
    this.#ws.addEventListener('message', (ev) => this.#onMessage(String(ev.data)));
  }

  onNotification(h: NotificationHandler): void {
    this.#handlers.push(h);
  }

  request<T = Record<string, unknown>>(method: string, data: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      // A closed socket drops what is sent: fail at once instead of waiting forever.
      if (this.#ws.readyState === WebSocket.CLOSING || this.#ws.readyState === WebSocket.CLOSED) {
        reject(Object.assign(new Error('connection closed'), { code: 'ERR_CLOSED' }));
        return;
      }
      this.#pending.set(id, { resolve: resolve as (d: Record<string, unknown>) => void, reject });
      this.#ws.send(JSON.stringify({ type: 'request', id, method, data }));
    });
  }

  close(): void {
    this.#ws.close();
  }

  #onMessage(text: string): void {
    let msg: { type?: string; id?: number; ok?: boolean; data?: Record<string, unknown>; error?: SignallingError; method?: string };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.type === 'response' && typeof msg.id === 'number') {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.data ?? {});
      else p.reject(Object.assign(new Error(msg.error?.message ?? 'error'), { code: msg.error?.code ?? 'ERR_INTERNAL', retryable: msg.error?.retryable === true, details: msg.error?.details }));
    } else if (msg.type === 'notification' && typeof msg.method === 'string') {
      for (const h of this.#handlers) h(msg.method, msg.data ?? {});
    }
  }
}
