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
 */

export type VerdictState = 'collecting' | 'likely-genuine' | 'suspicious' | 'deepfake-likely' | 'verified';

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
  onVerdict?: (v: { state: VerdictState; pFake: number; confidence: number; reason?: string }) => void;
}

export interface Badge {
  readonly state: VerdictState;
  destroy(): void;
}

const labels: Record<VerdictState, string> = {
  collecting: 'Analysing…',
  'likely-genuine': 'Likely genuine',
  suspicious: 'Suspicious',
  'deepfake-likely': 'Deepfake likely',
  verified: 'Verified',
};
const colours: Record<VerdictState, string> = {
  collecting: '#555',
  'likely-genuine': '#1f7a3a',
  suspicious: '#b07800',
  'deepfake-likely': '#b3261e',
  verified: '#1f5f9a',
};

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
  el.style.cssText = 'position:absolute;top:8px;right:8px;padding:2px 10px;border-radius:999px;font:600 12px system-ui,sans-serif;color:#fff;z-index:10;pointer-events:none';
  const prompt = document.createElement('div');
  prompt.className = 'dfd-prompt';
  prompt.setAttribute('aria-live', 'assertive');
  prompt.style.cssText = 'position:absolute;left:8px;right:8px;bottom:40px;padding:8px;border-radius:6px;background:#000c;color:#ffd27a;font:600 16px system-ui,sans-serif;display:none;z-index:10';
  if (getComputedStyle(opts.element).position === 'static') opts.element.style.position = 'relative';
  opts.element.append(el, prompt);
  let state: VerdictState = 'collecting';
  const render = (s: VerdictState, title?: string): void => {
    state = s;
    el.dataset['state'] = s;
    el.textContent = labels[s];
    el.style.background = colours[s];
    el.title = title ?? '';
  };
  render('collecting');

  const stream = roomStream(baseUrl, opts.room, opts.token);
  const listener = (type: string, data: Record<string, unknown>): void => {
    if (type === 'snapshot') {
      const ps = (data['participants'] as { peerId: string; state: VerdictState }[] | undefined) ?? [];
      const me = ps.find((p) => p.peerId === opts.peer);
      if (me && me.state in labels) render(me.state);
      return;
    }
    if (data['peerId'] !== opts.peer) return;
    const payload = (data['payload'] ?? {}) as Record<string, unknown>;
    if (type === 'verdict') {
      const s = payload['state'] as VerdictState;
      if (!(s in labels)) return;
      const conf = Number(payload['confidence'] ?? 0);
      render(s, `confidence ${(conf * 100).toFixed(0)}%${payload['reason'] ? ` · ${String(payload['reason'])}` : ''}`);
      opts.onVerdict?.({ state: s, pFake: Number(payload['pFake'] ?? 0), confidence: conf, ...(payload['reason'] ? { reason: String(payload['reason']) } : {}) });
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
      prompt.remove();
      if (stream.listeners.size === 0) {
        stream.source.close();
        for (const [k, v] of streams) if (v === stream) streams.delete(k);
      }
    },
  };
}
