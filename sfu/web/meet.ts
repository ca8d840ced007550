/**
 * The /meet page: `?room=R&name=N&autojoin=1[&token=T]`. Without a token it asks the
 * demo endpoint for one. Exposes `window.dfdMeeting` for tests and diagnostics.
 */
import { MeetingClient, type RemoteTrack } from './MeetingClient.js';
import { mountBadge, type Badge } from '../../dashboard/web/badge-sdk.js';

/** Label of the server-side producer that plays challenge prompts to this participant. */
const PROMPT_PEER = 'dfd-challenge';

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function setStatus(text: string): void {
  $('status').textContent = text;
  document.body.dataset['status'] = text;
}

function tileFor(peerId: string, label: string): HTMLElement {
  let tile = document.querySelector<HTMLElement>(`.tile[data-peer="${CSS.escape(peerId)}"]`);
  if (!tile) {
    tile = document.createElement('div');
    tile.className = 'tile';
    tile.dataset['peer'] = peerId;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = peerId === 'me';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = label;
    tile.append(video, name);
    $('tiles').append(tile);
  }
  return tile;
}

async function join(): Promise<void> {
  const room = params.get('room') ?? 'demo';
  const name = params.get('name') ?? 'Guest';
  let token = params.get('token');
  setStatus('joining');
  if (!token) {
    const r = await fetch(`/v1/demo/token?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
    if (!r.ok) throw new Error(`token request failed: ${r.status}`);
    token = ((await r.json()) as { token: string }).token;
  }
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const streams = new Map<string, MediaStream>();
  const badges = new Map<string, Badge>();
  const joinToken = token;
  // Verdict badges come from the badge SDK (Server-Sent Events from the service).
  const badgeFor = (peerId: string, tile: HTMLElement, self: boolean): void => {
    if (badges.has(peerId)) return;
    try {
      badges.set(peerId, mountBadge({ room, peer: peerId, token: joinToken, element: tile, showPrompts: self }));
    } catch (e) {
      console.warn('badge unavailable', e);
    }
  };
  const client = new MeetingClient(wsUrl, {
    onPeerJoined: (peerId, displayName) => badgeFor(peerId, tileFor(peerId, displayName), false),
    onPeerLeft: (peerId) => {
      badges.get(peerId)?.destroy();
      badges.delete(peerId);
      document.querySelector(`.tile[data-peer="${CSS.escape(peerId)}"]`)?.remove();
    },
    onRemoteTrack: (t: RemoteTrack) => {
      if (t.peerId === PROMPT_PEER) {
        // A challenge prompt only this participant hears.
        const audio = new Audio();
        audio.srcObject = new MediaStream([t.track]);
        void audio.play().catch(() => undefined);
        return;
      }
      const tile = tileFor(t.peerId, client.peerNames.get(t.peerId) ?? t.peerId);
      let ms = streams.get(t.peerId);
      if (!ms) {
        ms = new MediaStream();
        streams.set(t.peerId, ms);
        tile.querySelector('video')!.srcObject = ms;
      }
      ms.addTrack(t.track);
    },
    onNotification: (method, data) => {
      if (method === 'verdict') {
        const tile = document.querySelector<HTMLElement>(`.tile[data-peer="${CSS.escape(String(data['peerId']))}"]`);
        if (tile) tile.dataset['verdict'] = String(data['state']);
      }
      if (method === 'challenge' && data['phase'] === 'issued') $('prompt').textContent = String(data['promptText'] ?? '');
      if (method === 'challenge' && data['phase'] === 'outcome') $('prompt').textContent = '';
    },
    onClosed: (reason) => setStatus(`closed: ${reason || 'connection lost'}`),
  });
  (window as unknown as { dfdMeeting: MeetingClient }).dfdMeeting = client;
  await client.join(token);
  const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 15 } });
  const me = tileFor('me', `${name} (you)`);
  me.querySelector('video')!.srcObject = local;
  badgeFor(client.peerId, me, true);
  await client.publish(local);
  setStatus('joined');
}

$('join').addEventListener('click', () => {
  $('join').setAttribute('disabled', '');
  join().catch((e: unknown) => setStatus(`error: ${e instanceof Error ? e.message : String(e)}`));
});
if (params.get('autojoin') === '1') $('join').click();
