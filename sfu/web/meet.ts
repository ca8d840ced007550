/**
 * The /meet page: `?room=R&name=N&autojoin=1[&token=T]`. Without a token it asks the
 * demo endpoint for one. Exposes `window.dfdMeeting` for tests and diagnostics.
 */
import { MeetingClient, type RemoteTrack } from './MeetingClient.js';

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
    const badge = document.createElement('div');
    badge.className = 'badge';
    badge.dataset['state'] = 'collecting';
    badge.textContent = 'collecting';
    tile.append(video, name, badge);
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
  const client = new MeetingClient(wsUrl, {
    onPeerJoined: (peerId, displayName) => void tileFor(peerId, displayName),
    onPeerLeft: (peerId) => document.querySelector(`.tile[data-peer="${CSS.escape(peerId)}"]`)?.remove(),
    onRemoteTrack: (t: RemoteTrack) => {
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
        const badge = document.querySelector<HTMLElement>(`.tile[data-peer="${CSS.escape(String(data['peerId']))}"] .badge`);
        if (badge) {
          badge.dataset['state'] = String(data['state']);
          badge.textContent = String(data['state']);
        }
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
  await client.publish(local);
  setStatus('joined');
}

$('join').addEventListener('click', () => {
  $('join').setAttribute('disabled', '');
  join().catch((e: unknown) => setStatus(`error: ${e instanceof Error ? e.message : String(e)}`));
});
if (params.get('autojoin') === '1') $('join').click();
