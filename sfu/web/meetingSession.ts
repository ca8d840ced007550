/**
 * One participant's time in a meeting, from the permission prompt to leaving:
 *
 *   idle -> (awaiting-permission | starting-media) -> joining -> joined
 *                      └-> device-error --(audio only | video only | listen only)--> joining
 *   joined --socket closed unexpectedly--> reconnecting --(backoff, bounded)--> joined | reconnect-failed
 *   any --serviceShutdown notification / 1001 close / ERR_SHUTTING_DOWN--> shutting-down (no rejoin)
 *   joined --Leave--> left
 *
 * A rejoin keeps the local camera and microphone (no new prompt) and the chosen way of
 * joining; remote tiles and badges are rebuilt from the join reply. Verdict changes are
 * announced in a live region, naming the participant (`verdictAnnouncer.ts`).
 */
import { MeetingClient, type RemoteTrack } from './MeetingClient.js';
import { mountBadge, type Badge } from '../../dashboard/web/badge-sdk.js';
import { describeVerdict, type VerdictDisplayInput } from '../../dashboard/web/verdictDisplay.js';
import { isVerdictState, parseEvidence } from '../../dashboard/web/types.js';
import { VerdictAnnouncer } from '../../dashboard/web/verdictAnnouncer.js';
import type { LiveRegion } from '../../dashboard/web/liveRegion.js';
import { describeDeviceProblem, type JoinMode, type MediaKind } from './deviceProblems.js';
import { LocalMedia } from './localMedia.js';
import { closeCause, defaultReconnectOptions, errorCode, reconnect, type ReconnectOptions } from './reconnect.js';
import { SELF, type Tiles } from './tiles.js';
import type { JoinPanel } from './joinPanel.js';
import type { MeetingStatus } from './meetingStatus.js';

/** Label of the server-side producer that plays challenge prompts to this participant. */
const PROMPT_PEER = 'dfd-challenge';

export const SHUTDOWN_NOTICE = 'The service is shutting down: this call is ending. Try again in a moment.';
export const RECONNECT_NOTICE = 'The connection to the meeting was lost. Reconnecting…';
export const RECONNECT_FAILED_NOTICE = 'Could not reconnect to the meeting. Check your network connection, then press "Rejoin".';
export const REPLACED_NOTICE = 'You joined this meeting from another window or device, so this one left it. Press "Rejoin" to continue here.';

export interface MeetingSessionOptions {
  room: string;
  name: string;
  /** A join token from the page URL; without one the page asks the demo endpoint. */
  token: string | null;
  wsUrl: string;
  reconnect: ReconnectOptions;
  /** Show the permission hint when the camera has not started by then (browsers without the Permissions API). */
  permissionHintDelayMs: number;
}

export const defaultMeetingSessionOptions: Omit<MeetingSessionOptions, 'room' | 'name' | 'token' | 'wsUrl'> = {
  reconnect: defaultReconnectOptions,
  permissionHintDelayMs: 1_000,
};

export interface MeetingViews {
  status: MeetingStatus;
  panel: JoinPanel;
  tiles: Tiles;
  live: LiveRegion;
  /** Where challenge prompts for this participant are shown. */
  prompt: HTMLElement;
  /** The Join / Rejoin / Leave buttons follow this. */
  onPhase(phase: 'out' | 'busy' | 'in' | 'can-rejoin'): void;
  /** Opens this page on another service node (base URL): the call is served there (ERR_WRONG_NODE). */
  redirect(baseUrl: string): void;
}

const modeText: Record<JoinMode, string> = {
  'audio-video': 'joined',
  'audio-only': 'joined with audio only',
  'video-only': 'joined with video only',
  'listen-only': 'joined, listening only',
};

export class MeetingSession {
  readonly options: MeetingSessionOptions;
  readonly media = new LocalMedia();
  readonly #views: MeetingViews;
  readonly #badges = new Map<string, Badge>();
  readonly #announcer = new VerdictAnnouncer();
  #client: MeetingClient | undefined;
  #token: string | null;
  #mode: JoinMode = 'audio-video';
  #hasMedia = false;
  #leaving = false;
  #shuttingDown = false;
  #connecting = false;

  constructor(options: MeetingSessionOptions, views: MeetingViews) {
    this.options = options;
    this.#views = views;
    this.#token = options.token;
  }

  get client(): MeetingClient | undefined {
    return this.#client;
  }

  get mode(): JoinMode {
    return this.#mode;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Asks for camera and microphone, then joins; a device problem offers the ways that work. */
  async start(): Promise<void> {
    if (this.#shuttingDown) return;
    this.#leaving = false;
    this.#views.onPhase('busy');
    const { status, panel } = this.#views;
    const showHint = (): void => {
      status.set('awaiting-permission', 'Waiting for camera and microphone permission…');
      panel.showPermissionHint();
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (await LocalMedia.permissionPending()) showHint();
    else {
      status.set('starting-media', 'Starting camera and microphone…');
      timer = setTimeout(showHint, this.options.permissionHintDelayMs);
    }
    const result = await this.media.open();
    clearTimeout(timer);
    panel.hide();
    if (result.ok) return this.#enter('audio-video');
    const message = describeDeviceProblem(result.probe);
    status.set('device-error', message.title);
    this.#views.onPhase('out');
    panel.showDeviceProblem(message, {
      onChoice: (mode) => void this.#enter(mode, this.media.take(mode)).catch((e: unknown) => this.#failed(e)),
      onRetry: () => void this.start().catch((e: unknown) => this.#failed(e)),
    });
  }

  /** Joins again with the media and mode already chosen (after "Could not reconnect"). */
  async rejoin(): Promise<void> {
    this.#leaving = false;
    this.#views.onPhase('busy');
    try {
      await this.#connect(false);
    } catch (e) {
      this.#failed(e);
    }
  }

  get canRejoin(): boolean {
    return this.#hasMedia && !this.#leaving;
  }

  leave(): void {
    this.#leaving = true;
    this.#teardownCall();
    this.media.stop();
    this.#hasMedia = false;
    this.#views.tiles.remove(SELF);
    this.#views.status.clearNotice();
    this.#views.status.set('left', 'You left the meeting');
    this.#views.onPhase('out');
  }

  /** Opens another camera or microphone and sends it instead of the current one (`replaceTrack`). */
  async switchDevice(kind: MediaKind, deviceId: string): Promise<void> {
    const track = await this.media.openDevice(kind, deviceId);
    try {
      await this.#client?.replaceTrack(track);
    } catch (e) {
      track.stop();
      throw e;
    }
    this.media.commit(track);
    this.#views.tiles.refreshSelf();
  }

  /** The service announced its shutdown, or refused a join because of it: say so, never rejoin. */
  showShutdown(): void {
    this.#shuttingDown = true;
    this.#views.status.notice('error', SHUTDOWN_NOTICE);
    this.#views.status.set('shutting-down', 'shutting down');
    this.#views.onPhase('out');
  }

  /** Reports an error of a user action (join, retry). */
  #failed(e: unknown): void {
    if (errorCode(e) === 'ERR_SHUTTING_DOWN' || this.#shuttingDown) {
      this.showShutdown();
      return;
    }
    this.#views.status.set('error', `error: ${e instanceof Error ? e.message : String(e)}`);
    this.#views.onPhase(this.canRejoin ? 'can-rejoin' : 'out');
  }

  async #enter(mode: JoinMode, stream: MediaStream = this.media.stream): Promise<void> {
    this.#mode = mode;
    this.#hasMedia = true;
    this.#views.tiles.showSelf(`${this.options.name} (you)`, stream);
    this.#views.onPhase('busy');
    try {
      await this.#connect(false);
    } catch (e) {
      this.#failed(e);
    }
  }

  async #joinToken(): Promise<string> {
    if (this.#token) return this.#token;
    const { room, name } = this.options;
    const r = await fetch(`/v1/demo/token?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
    if (!r.ok) {
      const body = (await r.json().catch(() => undefined)) as { error?: { code?: string; retryable?: boolean } } | undefined;
      throw Object.assign(new Error(`token request failed: ${r.status}`), { code: body?.error?.code, retryable: body?.error?.retryable === true });
    }
    this.#token = ((await r.json()) as { token: string }).token;
    return this.#token;
  }

  /** One join: token, signalling, transports, own badge, producers. */
  async #connect(rejoin: boolean): Promise<void> {
    this.#connecting = true;
    let client: MeetingClient | undefined;
    try {
      if (!rejoin) this.#views.status.set('joining', 'Joining…');
      const token = await this.#joinToken();
      client = this.#makeClient();
      this.#client = client;
      (window as unknown as { dfdMeeting: MeetingClient }).dfdMeeting = client;
      await client.join(token);
      this.#mountBadge(client.peerId, this.#views.tiles.tile(SELF, `${this.options.name} (you)`), true);
      if (this.#mode !== 'listen-only') await client.publish(this.media.stream);
    } catch (e) {
      if (client) {
        if (this.#client === client) this.#client = undefined;
        client.leave();
      }
      const code = errorCode(e);
      if (code === 'ERR_SHUTTING_DOWN') this.showShutdown();
      // Several service nodes: the room lives on another one, whose address the join answer names.
      const url = code === 'ERR_WRONG_NODE' ? (e as { details?: { url?: unknown } }).details?.url : undefined;
      if (typeof url === 'string' && /^https?:\/\//.test(url)) {
        this.#views.status.set('joining', 'Moving to the server that hosts this call…');
        this.#views.redirect(url);
      }
      // A stale peer of ours still in the room, or an expired demo token: the next try gets a new one.
      if ((code === 'ERR_ALREADY_JOINED' || code === 'ERR_TOKEN_EXPIRED') && this.options.token === null) this.#token = null;
      throw e;
    } finally {
      this.#connecting = false;
    }
    if (this.#shuttingDown) return;
    if (this.#leaving) {
      // Left while this join was on its way.
      this.#teardownCall();
      return;
    }
    this.#views.status.clearNotice();
    this.#views.status.set('joined', modeText[this.#mode]);
    this.#views.onPhase('in');
  }

  #makeClient(): MeetingClient {
    const { tiles, prompt } = this.#views;
    const client: MeetingClient = new MeetingClient(this.options.wsUrl, {
      onPeerJoined: (peerId, displayName) => this.#mountBadge(peerId, tiles.tile(peerId, displayName), false),
      onPeerLeft: (peerId) => {
        this.#badges.get(peerId)?.destroy();
        this.#badges.delete(peerId);
        this.#announcer.forget(peerId);
        tiles.remove(peerId);
      },
      onRemoteTrack: (t: RemoteTrack) => {
        if (t.peerId === PROMPT_PEER) {
          // A challenge prompt only this participant hears.
          const audio = new Audio();
          audio.srcObject = new MediaStream([t.track]);
          void audio.play().catch(() => undefined);
          return;
        }
        tiles.addTrack(t.peerId, client.peerNames.get(t.peerId) ?? t.peerId, t.consumerId, t.track);
      },
      onRemoteTrackEnded: (consumerId) => tiles.removeTrack(consumerId),
      onNotification: (method, data) => {
        if (method === 'verdict') this.#onSignalledVerdict(client, data);
        if (method === 'serviceShutdown') this.showShutdown();
        if (method === 'challenge' && data['phase'] === 'issued') prompt.textContent = String(data['promptText'] ?? '');
        if (method === 'challenge' && data['phase'] === 'outcome') prompt.textContent = '';
      },
      onClosed: (_reason, code) => this.#onClosed(client, code),
    });
    return client;
  }

  #onClosed(client: MeetingClient, code: number): void {
    // A socket closing during a join fails that join; its caller decides what follows.
    if (client !== this.#client || this.#connecting) return;
    const cause = closeCause({ code }, { leaving: this.#leaving, shuttingDown: this.#shuttingDown });
    if (cause === 'left') return;
    if (cause === 'shutdown') {
      this.showShutdown();
      return;
    }
    if (cause === 'replaced') {
      // Rejoining on our own would take the call back from the other window, and so on.
      this.#teardownCall();
      this.#views.status.notice('info', REPLACED_NOTICE);
      this.#views.status.set('replaced', 'Joined from another window');
      this.#views.onPhase('can-rejoin');
      return;
    }
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    const { status } = this.#views;
    this.#teardownCall();
    status.notice('info', RECONNECT_NOTICE);
    status.set('reconnecting', 'Reconnecting…');
    this.#views.onPhase('busy');
    const max = this.options.reconnect.maxAttempts;
    const result = await reconnect(
      {
        attempt: () => this.#connect(true),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        shouldStop: () => this.#leaving || this.#shuttingDown,
        onAttempt: (n) => status.set('reconnecting', `Reconnecting… (attempt ${n} of ${max})`),
      },
      this.options.reconnect,
    );
    if (result.outcome === 'joined' || result.outcome === 'stopped') return;
    const why = result.error instanceof Error ? result.error.message : String(result.error);
    status.notice('error', RECONNECT_FAILED_NOTICE);
    status.set('reconnect-failed', `Could not reconnect (${why})`);
    this.#views.onPhase('can-rejoin');
  }

  /** Closes the call's client and everything built from it; the local media stays. */
  #teardownCall(): void {
    const client = this.#client;
    this.#client = undefined;
    client?.leave();
    for (const badge of this.#badges.values()) badge.destroy();
    this.#badges.clear();
    this.#announcer.retain(new Set());
    this.#views.tiles.removeRemote();
    this.#views.prompt.textContent = '';
  }

  #mountBadge(peerId: string, tile: HTMLElement, self: boolean): void {
    if (this.#badges.has(peerId) || !this.#token) return;
    try {
      const badge = mountBadge({
        room: this.options.room,
        peer: peerId,
        token: this.#token,
        element: tile,
        showPrompts: self,
        // This page announces verdict changes itself, naming the participant.
        announce: false,
        onVerdict: (v) => this.#announce(peerId, self, { state: v.state, confidence: v.confidence, pFake: v.pFake, reason: v.reason, evidence: v.evidence }),
      });
      this.#badges.set(peerId, badge);
    } catch (e) {
      console.warn('badge unavailable', e);
    }
  }

  /** Verdicts of the analysis pipeline also come over signalling. */
  #onSignalledVerdict(client: MeetingClient, data: Record<string, unknown>): void {
    const peerId = String(data['peerId']);
    const state = data['state'];
    if (!isVerdictState(state)) return;
    const self = peerId === client.peerId;
    const input: VerdictDisplayInput = {
      state,
      confidence: typeof data['confidence'] === 'number' ? data['confidence'] : null,
      pFake: typeof data['pFake'] === 'number' ? data['pFake'] : null,
      evidence: parseEvidence(data['evidence']),
      reason: typeof data['reason'] === 'string' ? data['reason'] : undefined,
    };
    const tile = document.querySelector<HTMLElement>(`.tile[data-peer="${CSS.escape(self ? SELF : peerId)}"]`);
    if (tile) {
      tile.dataset['verdict'] = state;
      tile.dataset['verdictDisplay'] = describeVerdict(input).kind;
    }
    this.#announce(peerId, self, input);
  }

  #announce(peerId: string, self: boolean, input: VerdictDisplayInput): void {
    const name = self ? 'You' : (this.#client?.peerNames.get(peerId) ?? 'A participant');
    const a = this.#announcer.change(peerId, name, describeVerdict(input));
    if (a) this.#views.live.say(a);
  }
}
