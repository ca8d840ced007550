/**
 * Badge SDK for meeting plugins: shows a participant's deepfake-defense verdict as a badge
 * over their video tile, and renders challenge prompts addressed to the local participant.
 *
 *   import { mountBadge } from 'https://DFD_HOST/web/badge-sdk.js';
 *   const badge = mountBadge({ baseUrl: 'https://DFD_HOST', room: 'r1', peer: 'p-42', token, element: tileDiv });
 *   // later: badge.destroy();
 *
 * `token` is a join token (participant or observer) for `room`; the SDK opens one
 * Server-Sent Events stream per room, shared by every badge of that room.
 *
 * The badge shows the verdict through the same mapping as the dashboard
 * (`verdictDisplay.ts`: weak evidence reads "Not enough evidence yet", never "Likely
 * genuine"), with an icon and text, and explains itself on hover or keyboard focus: the
 * state, the evidence behind it and what would change it (also its accessible description).
 */
import { isVerdictState, parseEvidence, type Evidence, type VerdictState } from './types.js';
import { describeVerdict, type VerdictDisplayInput } from './verdictDisplay.js';
import { renderVerdictBadge } from './verdictBadge.js';

export type { VerdictState };

export interface BadgeOptions {
  baseUrl?: string;
  room: string;
  /** Whose verdict this badge shows. */
  peer: string;
  token: string;
  /** The video tile (or any element) the badge is placed over. */
  element: HTMLElement;
  /** Show challenge prompts addressed to this peer (set on the local participant's badge). */
  showPrompts?: boolean;
  /**
   * The badge is a polite live region, so screen readers hear its changes (default). A page
   * that announces verdict changes itself, naming the participant (the meeting page does,
   * `liveRegion.ts`), passes false so nothing is said twice.
   */
  announce?: boolean;
  onVerdict?: (v: { state: VerdictState; pFake: number; confidence: number; reason?: string; evidence?: Evidence }) => void;
}

export interface Badge {
  readonly state: VerdictState;
  destroy(): void;
}

interface RoomStream {
  source: EventSource;
  listeners: Set<(type: string, data: Record<string, unknown>) => void>;
}
const streams = new Map<string, RoomStream>();

function roomStream(baseUrl: string, room: string, token: string): RoomStream {
  const key = `${baseUrl}|${room}`;
  let s = streams.get(key);
  if (!s) {
    const source = new EventSource(`${baseUrl}/v1/rooms/${encodeURIComponent(room)}/stream?token=${encodeURIComponent(token)}`);
    const stream: RoomStream = { source, listeners: new Set() };
    const relay = (type: string) => (ev: MessageEvent) => {
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(String(ev.data)) as Record<string, unknown>;
      } catch {
        return;
      }
      for (const l of stream.listeners) l(type, data);
    };
    for (const t of ['snapshot', 'verdict', 'challenge']) source.addEventListener(t, relay(t) as EventListener);
    streams.set(key, stream);
    s = stream;
  }
  return s;
}

export function mountBadge(opts: BadgeOptions): Badge {
  const baseUrl = (opts.baseUrl ?? location.origin).replace(/\/$/, '');
  const el = document.createElement('div');
  el.className = 'dfd-badge';
  el.setAttribute('role', 'status');
  if (opts.announce === false) el.setAttribute('aria-live', 'off');
  // Focusable so keyboard users reach the explanation; hover shows it too.
  el.tabIndex = 0;
  el.style.cssText = 'position:absolute;top:8px;right:8px;padding:2px 10px;border-radius:999px;font:600 12px system-ui,sans-serif;color:#fff;z-index:10;cursor:help';
  const detail = document.createElement('div');
  detail.className = 'dfd-badge-detail';
  detail.setAttribute('role', 'tooltip');
  detail.hidden = true;
  detail.style.cssText = 'position:absolute;top:34px;right:8px;max-width:280px;padding:6px 8px;border-radius:6px;background:#000e;color:#eee;font:12px/1.35 system-ui,sans-serif;z-index:11';
  const show = (): void => {
    detail.hidden = false;
  };
  const hide = (): void => {
    detail.hidden = true;
  };
  el.addEventListener('mouseenter', show);
  el.addEventListener('mouseleave', () => {
    if (document.activeElement !== el) hide();
  });
  el.addEventListener('focus', show);
  el.addEventListener('blur', hide);
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') hide();
  });
  const prompt = document.createElement('div');
  prompt.className = 'dfd-prompt';
  prompt.setAttribute('aria-live', 'assertive');
  prompt.style.cssText = 'position:absolute;left:8px;right:8px;bottom:40px;padding:8px;border-radius:6px;background:#000c;color:#ffd27a;font:600 16px system-ui,sans-serif;display:none;z-index:10';
  if (getComputedStyle(opts.element).position === 'static') opts.element.style.position = 'relative';
  opts.element.append(el, detail, prompt);
  let state: VerdictState = 'collecting';
  const render = (input: VerdictDisplayInput): void => {
    state = input.state;
    renderVerdictBadge(el, describeVerdict(input), input.state, detail);
  };
  render({ state: 'collecting', confidence: null });

  const stream = roomStream(baseUrl, opts.room, opts.token);
  const listener = (type: string, data: Record<string, unknown>): void => {
    if (type === 'snapshot') {
      const ps = (data['participants'] as { peerId: string; state: unknown; pFake?: unknown; confidence?: unknown }[] | undefined) ?? [];
      const me = ps.find((p) => p.peerId === opts.peer);
      if (me && isVerdictState(me.state)) {
        render({ state: me.state, confidence: typeof me.confidence === 'number' ? me.confidence : null, pFake: typeof me.pFake === 'number' ? me.pFake : null });
      }
      return;
    }
    if (data['peerId'] !== opts.peer) return;
    const payload = (data['payload'] ?? {}) as Record<string, unknown>;
    if (type === 'verdict') {
      const s = payload['state'];
      if (!isVerdictState(s)) return;
      const conf = Number(payload['confidence'] ?? 0);
      const pFake = Number(payload['pFake'] ?? 0);
      const reason = typeof payload['reason'] === 'string' ? payload['reason'] : undefined;
      const evidence = parseEvidence(payload['evidence']);
      render({ state: s, confidence: conf, pFake, reason, evidence });
      opts.onVerdict?.({ state: s, pFake, confidence: conf, ...(reason ? { reason } : {}), ...(evidence ? { evidence } : {}) });
    } else if (type === 'challenge' && opts.showPrompts) {
      if (payload['phase'] === 'issued' && typeof payload['promptText'] === 'string') {
        prompt.textContent = payload['promptText'];
        prompt.style.display = 'block';
      } else if (payload['phase'] === 'outcome') {
        prompt.style.display = 'none';
      }
    }
  };
  stream.listeners.add(listener);

  return {
    get state() {
      return state;
    },
    destroy() {
      stream.listeners.delete(listener);
      el.remove();
      detail.remove();
      prompt.remove();
      if (stream.listeners.size === 0) {
        stream.source.close();
        for (const [k, v] of streams) if (v === stream) streams.delete(k);
      }
    },
  };
}
