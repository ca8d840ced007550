/** A minimal Node signalling client for tests (the `ws` package). */
import WebSocket from 'ws';

export interface Response {
  type: 'response';
  id: number | null;
  ok: boolean;
  data?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export class TestSignallingClient {
  readonly ws: WebSocket;
  readonly notifications: { method: string; data: Record<string, unknown> }[] = [];
  readonly #responses: Response[] = [];
  #waiters: (() => void)[] = [];
  #nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.type === 'notification') this.notifications.push(msg);
      else this.#responses.push(msg);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** `options` go to `ws` (e.g. `autoPong: false` for a client that stops answering pings). */
  static async connect(port: number, options: WebSocket.ClientOptions = {}): Promise<TestSignallingClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, options);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestSignallingClient(ws);
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Waits for the next response (in arrival order). */
  async nextResponse(timeoutMs = 5000): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    while (this.#responses.length === 0) {
      if (Date.now() > deadline) throw new Error('no response');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.#responses.shift()!;
  }

  async request(method: string, data: Record<string, unknown> = {}): Promise<Response> {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ type: 'request', id, method, data }));
    for (;;) {
      const r = await this.nextResponse();
      if (r.id === id) return r;
    }
  }

  async waitForNotification(method: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = this.notifications.find((x) => x.method === method);
      if (n) return n.data;
      if (Date.now() > deadline) throw new Error(`no ${method} notification`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.ws.close();
  }
}
