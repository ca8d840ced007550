/**
 * The operator dashboard page: wires the API client, the live stream, the reducer and the
 * view. Membership (joins and leaves) is not on the event stream, so open calls are also
 * polled from `/v1/rooms`. Exposes `window.dfdDashboard` for tests and diagnostics.
 */
import { ApiClient, ApiError, wrongNodeHint } from './api.js';
import { LiveStream, type FeedStatus } from './feed.js';
import { initialState, reduce, type DashboardAction, type DashboardState } from './state.js';
import { DashboardView, type OperatorAction } from './view.js';
import { describeVerdict } from './verdictDisplay.js';
import { VerdictAnnouncer } from './verdictAnnouncer.js';
import { LiveRegion } from './liveRegion.js';
import { CalibrationPanel } from './calibrationPanel.js';

export interface DashboardAppOptions {
  streamUrl: string;
  /** How often open calls and their membership are re-read from `/v1/rooms`. */
  roomsPollMs: number;
  /** Delay before a closed live stream is opened again. */
  reconnectMs: number;
}

export const defaultDashboardAppOptions: DashboardAppOptions = { streamUrl: '/v1/stream', roomsPollMs: 2_000, reconnectMs: 3_000 };

class DashboardApp {
  readonly options: DashboardAppOptions;
  readonly api = new ApiClient();
  readonly view: DashboardView;
  #state: DashboardState = initialState;
  #stream: LiveStream | undefined;
  #frame = 0;
  /** Screen readers hear verdict changes, naming participant and room (polite; assertive for "Deepfake likely"). */
  readonly #announcer = new VerdictAnnouncer();
  readonly #live: LiveRegion;
  /** Alert ids already on screen (failed challenges are announced once, when they arrive). */
  #seenAlerts: Set<string> | undefined;
  /** Participants whose history was requested (`room|peer`). Bounded by the open calls. */
  readonly #backfilled = new Set<string>();

  constructor(root: HTMLElement, options: Partial<DashboardAppOptions> = {}) {
    this.options = { ...defaultDashboardAppOptions, ...options };
    this.view = new DashboardView(root, { onAction: (a, room, peer) => this.#act(a, room, peer) });
    this.#live = new LiveRegion(root);
  }

  get state(): DashboardState {
    return this.#state;
  }

  start(): void {
    this.#openStream();
    void this.#poll();
    setInterval(() => void this.#poll(), this.options.roomsPollMs);
  }

  dispatch(action: DashboardAction): void {
    this.#state = reduce(this.#state, action);
    if (!this.#frame) this.#frame = requestAnimationFrame(() => this.#render());
  }

  #render(): void {
    this.#frame = 0;
    this.view.render(this.#state);
    this.#announce();
    this.#backfill();
  }

  #announce(): void {
    const present = new Set<string>();
    for (const call of this.#state.calls) {
      for (const p of call.participants) {
        const key = `${call.roomId}|${p.peerId}`;
        present.add(key);
        const a = this.#announcer.change(key, `${p.displayName} in room ${call.roomId}`, describeVerdict(p));
        if (a) this.#live.say(a);
      }
    }
    this.#announcer.retain(present);
    const seen = this.#seenAlerts;
    for (const a of this.#state.alerts) {
      if (seen && !seen.has(a.id) && a.kind === 'challenge') this.#live.say({ text: `${a.displayName} in room ${a.roomId}: ${a.previous ?? ''} challenge ${a.value}.`, politeness: 'polite' });
    }
    this.#seenAlerts = new Set(this.#state.alerts.map((a) => a.id));
  }

  #openStream(): void {
    this.#stream = new LiveStream({
      url: this.options.streamUrl,
      onAction: (a) => this.dispatch(a),
      onStatus: (s: FeedStatus) => {
        this.view.setStatus(s);
        if (this.#stream?.closed) {
          // A refused stream (e.g. expired session) is not retried by EventSource itself.
          this.#stream.close();
          setTimeout(() => void this.#checkSession().then((ok) => ok && this.#openStream()), this.options.reconnectMs);
        }
      },
    });
  }

  async #checkSession(): Promise<boolean> {
    try {
      await this.api.me();
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        location.assign('/dashboard/login');
        return false;
      }
      return true;
    }
  }

  async #poll(): Promise<void> {
    try {
      this.dispatch({ type: 'rooms', calls: await this.api.rooms(), at: new Date().toISOString() });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) location.assign('/dashboard/login');
      // Other failures: the next poll tries again; the live stream status shows connectivity.
    }
  }

  /** Loads the stored history of participants seen for the first time (charts start filled). */
  #backfill(): void {
    for (const call of this.#state.calls) {
      for (const p of call.participants) {
        const key = `${call.roomId}|${call.callId}|${p.peerId}`;
        if (this.#backfilled.has(key)) continue;
        this.#backfilled.add(key);
        this.api.participant(call.roomId, p.peerId).then(
          (record) => this.dispatch({ type: 'history', roomId: call.roomId, record }),
          () => undefined,
        );
      }
    }
    if (this.#backfilled.size > 10_000) this.#backfilled.clear();
  }

  async #act(action: OperatorAction, roomId: string, peerId: string): Promise<void> {
    try {
      if (action === 'challenge') {
        const r = await this.api.challenge(roomId, peerId);
        this.view.toast('info', 'CHALLENGE_SENT', `${r.challengeType} challenge issued`);
      } else {
        await this.api.decision(roomId, peerId, action);
        this.view.toast('info', action === 'confirm' ? 'CONFIRMED' : 'DISMISSED', `decision recorded for ${peerId}`);
      }
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('ERR_CLIENT', e instanceof Error ? e.message : String(e), 0);
      this.view.toast('error', err.code, wrongNodeHint(err) ?? err.message);
    }
  }
}

async function main(): Promise<void> {
  const app = new DashboardApp(document.body);
  (window as unknown as { dfdDashboard: DashboardApp }).dfdDashboard = app;
  const signOut = document.querySelector<HTMLButtonElement>('[data-testid="sign-out"]');
  signOut?.addEventListener('click', () => {
    void app.api
      .logout()
      .catch(() => undefined)
      .then(() => location.assign('/dashboard/login'));
  });
  app.start();
  const calibration = document.querySelector<HTMLElement>('[data-testid="calibration-panel"]');
  if (calibration) new CalibrationPanel(calibration, app.api).start();
  try {
    const me = await app.api.me();
    const who = document.querySelector('[data-testid="operator"]');
    if (who) who.textContent = me.operator;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.assign('/dashboard/login');
  }
}

void main();
