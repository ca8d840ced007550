/**
 * A test client that speaks the Twilio Media Streams protocol the way Twilio does: it
 * opens the WebSocket, sends `connected` and `start`, then one 20 ms `media` message of
 * mu-law audio every 20 ms by its own clock (each send aimed at start + n * 20 ms), and
 * `stop` at the end. Like Twilio on a bidirectional stream, it "plays" the media the
 * service sends back and echoes each `mark` once the audio queued before it has played
 * (plus `markDelayMs`, to make the echo's timing visible to a test).
 */
import WebSocket from 'ws';
import { newStreamIds, twilioFrames, type StreamIds } from './twilioFrames.js';

export interface ReceivedMessage {
  at: number;
  msg: { event: string; streamSid?: string; media?: { payload: string }; mark?: { name: string } };
}

export interface CallerOptions {
  /** Extra wait before a mark is echoed, ms. */
  markDelayMs: number;
  /** Echo marks at all (false: behave like a unidirectional stream). */
  echoMarks: boolean;
}

export class TwilioTestCaller {
  readonly ids: StreamIds = newStreamIds();
  readonly ws: WebSocket;
  readonly received: ReceivedMessage[] = [];
  /** Marks echoed back to the service, with the time. */
  readonly echoed: { name: string; at: number }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly options: CallerOptions;
  #seq = 0;
  #chunk = 0;
  #timer: NodeJS.Timeout | undefined;
  /** When the audio sent to us so far will have finished playing (Date.now() ms). */
  #playbackEnd = 0;
  #sentChunks = 0;

  private constructor(ws: WebSocket, options: CallerOptions) {
    this.ws = ws;
    this.options = options;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => this.#onMessage(data.toString()));
  }

  static async connect(url: string, options: Partial<CallerOptions> = {}): Promise<TwilioTestCaller> {
    const ws = new WebSocket(url);
    const caller = new TwilioTestCaller(ws, { markDelayMs: 0, echoMarks: true, ...options });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return caller;
  }

  get chunksSent(): number {
    return this.#sentChunks;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  send(msg: unknown): void {
    if (this.open) this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  sendConnectedAndStart(customParameters: Record<string, string>): void {
    this.send(twilioFrames.connected());
    this.send(twilioFrames.start(this.ids, this.nextSeq(), customParameters));
  }

  /** Sends one chunk now (chunk counter and timestamp follow the stream's own clock). */
  sendChunk(payload: Uint8Array): void {
    this.#chunk++;
    this.send(twilioFrames.media(this.ids, this.nextSeq(), this.#chunk, (this.#chunk - 1) * 20, payload));
    this.#sentChunks++;
  }

  /** Streams `muLaw` in 160-byte chunks every 20 ms of the test's clock, looping, until stopStreaming(). */
  startStreaming(muLaw: Uint8Array): void {
    const start = performance.now();
    let n = 0;
    const tick = (): void => {
      this.#timer = undefined;
      if (!this.open) return;
      const due = Math.floor((performance.now() - start) / 20) + 1;
      while (n < due) {
        const off = (n * 160) % (muLaw.length - (muLaw.length % 160));
        this.sendChunk(muLaw.subarray(off, off + 160));
        n++;
      }
      this.#timer = setTimeout(tick, Math.max(0, start + n * 20 - performance.now()));
    };
    tick();
  }

  stopStreaming(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  sendStop(): void {
    this.stopStreaming();
    this.send(twilioFrames.stop(this.ids, this.nextSeq()));
  }

  /** Outbound `media` messages received, decoded. */
  mediaReceived(): { at: number; bytes: Buffer }[] {
    return this.received.filter((r) => r.msg.event === 'media').map((r) => ({ at: r.at, bytes: Buffer.from(r.msg.media?.payload ?? '', 'base64') }));
  }

  #onMessage(text: string): void {
    const now = Date.now();
    let msg: ReceivedMessage['msg'];
    try {
      msg = JSON.parse(text) as ReceivedMessage['msg'];
    } catch {
      msg = { event: 'not-json' };
    }
    this.received.push({ at: now, msg });
    if (msg.event === 'media') {
      const ms = (Buffer.from(msg.media?.payload ?? '', 'base64').length / 8000) * 1000;
      this.#playbackEnd = Math.max(this.#playbackEnd, now) + ms;
    } else if (msg.event === 'clear') {
      this.#playbackEnd = now;
    } else if (msg.event === 'mark' && this.options.echoMarks) {
      const name = msg.mark?.name ?? '';
      const wait = Math.max(0, this.#playbackEnd - now) + this.options.markDelayMs;
      setTimeout(() => {
        this.echoed.push({ name, at: Date.now() });
        this.send(twilioFrames.mark(this.ids, this.nextSeq(), name));
      }, wait);
    }
  }

  close(): void {
    this.stopStreaming();
    if (this.open) this.ws.close();
  }
}
