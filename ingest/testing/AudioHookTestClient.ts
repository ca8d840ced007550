/**
 * A test client that speaks Genesys AudioHook (protocol version 2) the way the AudioHook
 * Monitor does: it opens the WebSocket with the X-API-KEY and Audiohook-* headers, sends
 * `open` offering media, and once `opened` arrives sends audio as binary frames of
 * `frameMs` by its own clock (stereo: the caller's speech on the external channel, the
 * agent's line on the internal one), with `seq`, `serverseq` and `position` kept as the
 * protocol says. It answers nothing on its own except `disconnect` (it closes), and closes
 * the socket once `closed` arrives after its `close`.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface AudioHookServerMessage {
  version: string;
  id: string;
  type: string;
  seq: number;
  clientseq: number;
  parameters: Record<string, unknown>;
}

export interface AudioHookClientOptions {
  apiKey: string | undefined;
  sessionId: string;
  organizationId: string;
  conversationId: string;
  /** Media offered in `open`. */
  media: { type: string; format: string; channels: string[]; rate: number }[];
  /** Audio per binary frame, ms. */
  frameMs: number;
}

export class AudioHookTestClient {
  readonly ws: WebSocket;
  readonly options: AudioHookClientOptions;
  readonly received: { at: number; msg: AudioHookServerMessage }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #seq = 0;
  #serverSeq = 0;
  #positionMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #channels = 0;
  #framesSent = 0;

  private constructor(ws: WebSocket, options: AudioHookClientOptions) {
    this.ws = ws;
    this.options = options;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onMessage(data.toString());
    });
  }

  /** Connects; rejects with the HTTP status when the upgrade is refused ("Unexpected server response: 401"). */
  static async connect(url: string, options: Partial<AudioHookClientOptions> = {}): Promise<AudioHookTestClient> {
    const o: AudioHookClientOptions = {
      apiKey: undefined,
      sessionId: randomUUID(),
      organizationId: randomUUID(),
      conversationId: randomUUID(),
      media: [
        { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 },
        { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 },
      ],
      frameMs: 100,
      ...options,
    };
    const headers: Record<string, string> = {
      'Audiohook-Session-Id': o.sessionId,
      'Audiohook-Organization-Id': o.organizationId,
      'Audiohook-Correlation-Id': randomUUID(),
    };
    if (o.apiKey !== undefined) headers['X-API-KEY'] = o.apiKey;
    const ws = new WebSocket(url, { headers });
    const client = new AudioHookTestClient(ws, o);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get framesSent(): number {
    return this.#framesSent;
  }

  /** The `position` the next message carries, ms of audio sent. */
  get positionMs(): number {
    return this.#positionMs;
  }

  /** Builds a client message with the next seq (or `seq` to break the sequence on purpose). */
  message(type: string, parameters: Record<string, unknown>, seq?: number): Record<string, unknown> {
    const s = seq ?? ++this.#seq;
    return { version: '2', id: this.options.sessionId, type, seq: s, serverseq: this.#serverSeq, position: `PT${(this.#positionMs / 1000).toFixed(3)}S`, parameters };
  }

  send(msg: unknown): void {
    if (this.open) this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  sendOpen(): void {
    this.send(
      this.message('open', {
        organizationId: this.options.organizationId,
        conversationId: this.options.conversationId,
        participant: { id: randomUUID(), ani: 'tel:+15550100', aniName: 'Test Caller', dnis: 'tel:+15550199' },
        media: this.options.media,
        language: 'en-US',
      }),
    );
  }

  /** Resolves with the first server message of `type` (already received or coming). */
  async next(type: string, timeoutMs = 15_000): Promise<AudioHookServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find((r) => r.msg.type === type);
      if (m) return m.msg;
      if (Date.now() > deadline || this.ws.readyState === WebSocket.CLOSED) throw new Error(`no ${type} from the server`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One audio frame now: external (and internal, for stereo) mu-law bytes of equal length. */
  sendAudio(external: Uint8Array, internal?: Uint8Array): void {
    if (!this.open) return;
    let frame: Uint8Array;
    if (this.#channels === 2) {
      frame = new Uint8Array(external.length * 2);
      for (let i = 0; i < external.length; i++) {
        frame[2 * i] = external[i]!;
        frame[2 * i + 1] = internal?.[i] ?? 0xff; // mu-law silence
      }
    } else {
      frame = external;
    }
    this.ws.send(frame, { binary: true });
    this.#positionMs += external.length / 8;
    this.#framesSent++;
  }

  /** Streams `muLaw` (external channel) in frames of `frameMs` by the test's clock, looping, until stopStreaming(). */
  startStreaming(muLaw: Uint8Array): void {
    const bytes = this.options.frameMs * 8;
    const usable = muLaw.length - (muLaw.length % bytes);
    const start = performance.now();
    let n = 0;
    const tick = (): void => {
      this.#timer = undefined;
      if (!this.open) return;
      const due = Math.floor((performance.now() - start) / this.options.frameMs) + 1;
      while (n < due) {
        const off = (n * bytes) % usable;
        this.sendAudio(muLaw.subarray(off, off + bytes));
        n++;
      }
      this.#timer = setTimeout(tick, Math.max(0, start + n * this.options.frameMs - performance.now()));
    };
    tick();
  }

  stopStreaming(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sends `close` and waits for `closed`, then closes the socket as the client does. */
  async closeSession(reason = 'end'): Promise<void> {
    this.stopStreaming();
    this.send(this.message('close', { reason }));
    await this.next('closed');
    this.ws.close(1000);
  }

  #onMessage(text: string): void {
    let msg: AudioHookServerMessage;
    try {
      msg = JSON.parse(text) as AudioHookServerMessage;
    } catch {
      return;
    }
    this.received.push({ at: Date.now(), msg });
    if (typeof msg.seq === 'number') this.#serverSeq = msg.seq;
    if (msg.type === 'opened') {
      const media = (msg.parameters['media'] as { channels: string[] }[] | undefined)?.[0];
      this.#channels = media?.channels.length ?? 0;
    }
    if (msg.type === 'disconnect') {
      this.stopStreaming();
      // The client answers a disconnect with close; the server has ended the session already.
      this.send(this.message('close', { reason: 'disconnect' }));
    }
  }

  close(): void {
    this.stopStreaming();
    if (this.open) this.ws.close();
  }
}
