/**
 * The participant's own camera and microphone. `open()` asks for both; when that fails it
 * asks for each kind on its own, so the page can say which device is at fault
 * (`deviceProblems.ts`) and offer the kinds that work. Tracks a probe obtained are kept for
 * the join that follows (no second permission prompt). `switchDevice()` opens another
 * device of one kind, for the device picker; the caller swaps it into the producer.
 */
import { classifyMediaError, kindsOf, mediaKinds, type DeviceProbe, type DeviceStatus, type JoinMode, type MediaKind } from './deviceProblems.js';

export const videoConstraints: MediaTrackConstraints = { width: 640, height: 480, frameRate: 15 };

export type OpenResult = { ok: true; stream: MediaStream } | { ok: false; probe: DeviceProbe; error: unknown };

function constraintsFor(kind: MediaKind, deviceId: string | undefined): MediaTrackConstraints | true {
  const base: MediaTrackConstraints = kind === 'video' ? { ...videoConstraints } : {};
  if (deviceId) base.deviceId = { exact: deviceId };
  return Object.keys(base).length ? base : true;
}

export class LocalMedia {
  /** The stream shown in the self view and published; empty for listen-only. */
  readonly stream = new MediaStream();
  /** Tracks a failed `open()` obtained kind by kind, waiting for the participant's choice. */
  readonly #spare = new Map<MediaKind, MediaStreamTrack>();

  /** Whether the browser will show a permission prompt (Permissions API; false when unknown). */
  static async permissionPending(): Promise<boolean> {
    const query = async (name: string): Promise<string> => {
      try {
        return (await navigator.permissions.query({ name } as unknown as PermissionDescriptor)).state;
      } catch {
        return 'unknown';
      }
    };
    const states = await Promise.all([query('camera'), query('microphone')]);
    return states.includes('prompt');
  }

  /** Asks for camera and microphone; on failure, for each kind alone (see `OpenResult`). */
  async open(): Promise<OpenResult> {
    this.#dropSpare();
    if (!navigator.mediaDevices?.getUserMedia) {
      const error = Object.assign(new Error('this page cannot use media devices (it needs https or localhost)'), { name: 'SecurityError' });
      return { ok: false, probe: { audio: 'denied', video: 'denied' }, error };
    }
    try {
      const got = await navigator.mediaDevices.getUserMedia({ audio: true, video: videoConstraints });
      this.#adopt(got.getTracks());
      return { ok: true, stream: this.stream };
    } catch (error) {
      const probe: Record<MediaKind, DeviceStatus> = { audio: 'failed', video: 'failed' };
      for (const kind of mediaKinds) {
        try {
          const got = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, undefined) });
          const track = got.getTracks()[0];
          if (track) this.#spare.set(kind, track);
          probe[kind] = track ? 'ok' : 'missing';
        } catch (e) {
          probe[kind] = classifyMediaError(e);
        }
      }
      return { ok: false, probe, error };
    }
  }

  /** After a failed `open()`: keeps the spare tracks `mode` sends and drops the rest. */
  take(mode: JoinMode): MediaStream {
    for (const kind of kindsOf(mode)) {
      const track = this.#spare.get(kind);
      if (!track) throw Object.assign(new Error(`no ${kind} track to join with`), { name: 'NotFoundError' });
      this.#spare.delete(kind);
      this.#adopt([track]);
    }
    this.#dropSpare();
    return this.stream;
  }

  track(kind: MediaKind): MediaStreamTrack | undefined {
    return this.stream.getTracks().find((t) => t.kind === kind);
  }

  /** Opens `deviceId` for `kind`; the caller publishes it, then calls `commit()`. */
  async openDevice(kind: MediaKind, deviceId: string): Promise<MediaStreamTrack> {
    const got = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId) });
    const track = got.getTracks()[0];
    if (!track) throw Object.assign(new Error(`no ${kind} track`), { name: 'NotFoundError' });
    return track;
  }

  /** Puts `track` in place of the current track of its kind (stopped). */
  commit(track: MediaStreamTrack): void {
    const old = this.track(track.kind as MediaKind);
    if (old && old !== track) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
  }

  stop(): void {
    for (const t of this.stream.getTracks()) {
      t.stop();
      this.stream.removeTrack(t);
    }
    this.#dropSpare();
  }

  #adopt(tracks: MediaStreamTrack[]): void {
    for (const t of tracks) this.commit(t);
  }

  #dropSpare(): void {
    for (const t of this.#spare.values()) t.stop();
    this.#spare.clear();
  }
}
