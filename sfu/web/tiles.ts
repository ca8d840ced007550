/**
 * The video tiles of the meeting page: one per participant (`me` for the local one), each a
 * labelled group with the video, the name and a line saying what the participant sends
 * ("Listening only" for a receive-only participant, "Audio only", "Video only"), so nobody
 * reads a black tile as a broken camera. `data-media` carries the same for tests.
 */
export type TileMedia = 'audio-video' | 'audio-only' | 'video-only' | 'listen-only';

const mediaText: Record<TileMedia, string> = {
  'audio-video': '',
  'audio-only': 'Audio only (no camera)',
  'video-only': 'Video only (no microphone)',
  'listen-only': 'Listening only (no camera or microphone)',
};

export const SELF = 'me';

interface TileEls {
  root: HTMLElement;
  video: HTMLVideoElement;
  name: HTMLElement;
  media: HTMLElement;
  stream: MediaStream;
}

let nextId = 0;

export class Tiles {
  readonly #container: HTMLElement;
  readonly #tiles = new Map<string, TileEls>();
  /** consumer id -> peer id, to drop a track when its consumer closes. */
  readonly #consumers = new Map<string, { peerId: string; track: MediaStreamTrack }>();

  constructor(container: HTMLElement) {
    this.#container = container;
  }

  /** The tile of `peerId`, created (with `label`) if needed. */
  tile(peerId: string, label: string): HTMLElement {
    return this.#ensure(peerId, label).root;
  }

  /** Shows `stream` (the local camera and microphone) in the self tile. */
  showSelf(label: string, stream: MediaStream): void {
    const t = this.#ensure(SELF, label);
    t.name.textContent = label;
    t.root.setAttribute('aria-label', label);
    t.video.srcObject = stream;
    this.#updateMedia(t, stream.getTracks());
  }

  /** Re-reads the self tile's tracks (after a device change). */
  refreshSelf(): void {
    const t = this.#tiles.get(SELF);
    if (t) this.#updateMedia(t, (t.video.srcObject as MediaStream | null)?.getTracks() ?? []);
  }

  addTrack(peerId: string, label: string, consumerId: string, track: MediaStreamTrack): void {
    const t = this.#ensure(peerId, label);
    if (!t.video.srcObject) t.video.srcObject = t.stream;
    t.stream.addTrack(track);
    this.#consumers.set(consumerId, { peerId, track });
    this.#updateMedia(t, t.stream.getTracks());
  }

  removeTrack(consumerId: string): void {
    const c = this.#consumers.get(consumerId);
    if (!c) return;
    this.#consumers.delete(consumerId);
    const t = this.#tiles.get(c.peerId);
    if (!t) return;
    t.stream.removeTrack(c.track);
    this.#updateMedia(t, t.stream.getTracks());
  }

  remove(peerId: string): void {
    this.#tiles.get(peerId)?.root.remove();
    this.#tiles.delete(peerId);
    for (const [id, c] of this.#consumers) if (c.peerId === peerId) this.#consumers.delete(id);
  }

  /** Every tile but the local one (a rejoin brings them back). */
  removeRemote(): void {
    for (const peerId of [...this.#tiles.keys()]) if (peerId !== SELF) this.remove(peerId);
  }

  #ensure(peerId: string, label: string): TileEls {
    const existing = this.#tiles.get(peerId);
    if (existing) return existing;
    const root = document.createElement('div');
    root.className = 'tile';
    root.dataset['peer'] = peerId;
    root.setAttribute('role', 'group');
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = peerId === SELF;
    // The tile's label and media line say what it shows; the video adds nothing for a screen reader.
    video.setAttribute('aria-hidden', 'true');
    const name = document.createElement('div');
    name.className = 'name';
    name.id = `tile-name-${++nextId}`;
    name.textContent = label;
    root.setAttribute('aria-labelledby', name.id);
    const media = document.createElement('div');
    media.className = 'media';
    media.dataset['testid'] = 'tile-media';
    root.append(video, name, media);
    this.#container.append(root);
    const t: TileEls = { root, video, name, media, stream: new MediaStream() };
    this.#tiles.set(peerId, t);
    this.#updateMedia(t, []);
    return t;
  }

  #updateMedia(t: TileEls, tracks: MediaStreamTrack[]): void {
    const audio = tracks.some((x) => x.kind === 'audio');
    const video = tracks.some((x) => x.kind === 'video');
    const media: TileMedia = audio && video ? 'audio-video' : audio ? 'audio-only' : video ? 'video-only' : 'listen-only';
    t.root.dataset['media'] = media;
    t.media.textContent = mediaText[media];
    t.media.hidden = media === 'audio-video';
  }
}
