/**
 * The microphone and camera pickers of the meeting page: two labelled `<select>`s filled from
 * `enumerateDevices()` (refreshed when devices come and go). Choosing a device calls
 * `onSelect`, which opens it and swaps it into the producer (`replaceTrack`), so the others
 * keep receiving without a renegotiation. A kind the participant does not send (audio only,
 * listen only) is shown as "not in use" and cannot be picked.
 */
import type { MediaKind } from './deviceProblems.js';

export interface DevicePickerOptions {
  /** Opens and publishes the device; rejects (and the selection goes back) when it cannot. */
  onSelect(kind: MediaKind, deviceId: string): Promise<void>;
  /** Says why a device could not be used. */
  onError(kind: MediaKind, error: unknown): void;
  /** The tracks being sent now, by kind. */
  active(): Partial<Record<MediaKind, MediaStreamTrack>>;
}

const inputKind: Record<MediaKind, MediaDeviceKind> = { audio: 'audioinput', video: 'videoinput' };
const fallbackName: Record<MediaKind, string> = { audio: 'Microphone', video: 'Camera' };

export class DevicePicker {
  readonly #selects: Record<MediaKind, HTMLSelectElement>;
  readonly #options: DevicePickerOptions;

  constructor(root: HTMLElement, options: DevicePickerOptions) {
    this.#options = options;
    const find = (kind: MediaKind): HTMLSelectElement => {
      const s = root.querySelector<HTMLSelectElement>(`select[data-kind="${kind}"]`);
      if (!s) throw new Error(`meeting markup is missing the ${kind} picker`);
      return s;
    };
    this.#selects = { audio: find('audio'), video: find('video') };
    for (const kind of ['audio', 'video'] as const) {
      const select = this.#selects[kind];
      select.addEventListener('change', () => void this.#choose(kind, select.value));
    }
    navigator.mediaDevices?.addEventListener?.('devicechange', () => void this.refresh());
  }

  /** Shows the devices of each kind, selecting the one each active track uses. */
  async refresh(): Promise<void> {
    const active = this.#options.active();
    let devices: MediaDeviceInfo[] = [];
    try {
      devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
    } catch {
      devices = [];
    }
    for (const kind of ['audio', 'video'] as const) {
      const select = this.#selects[kind];
      const track = active[kind];
      const current = track?.getSettings().deviceId;
      const list = devices.filter((d) => d.kind === inputKind[kind] && d.deviceId);
      if (!track) {
        select.replaceChildren(new Option('not in use', ''));
        select.disabled = true;
        continue;
      }
      const options = list.map((d, i) => new Option(d.label || `${fallbackName[kind]} ${i + 1}`, d.deviceId));
      if (current && !list.some((d) => d.deviceId === current)) options.unshift(new Option(track.label || fallbackName[kind], current));
      select.replaceChildren(...options);
      if (current) select.value = current;
      select.disabled = options.length === 0;
    }
  }

  async #choose(kind: MediaKind, deviceId: string): Promise<void> {
    const select = this.#selects[kind];
    const previous = this.#options.active()[kind]?.getSettings().deviceId ?? '';
    if (!deviceId || deviceId === previous) return;
    select.disabled = true;
    try {
      await this.#options.onSelect(kind, deviceId);
    } catch (e) {
      this.#options.onError(kind, e);
    } finally {
      select.disabled = false;
      // Shows the device in use now: the new one, or the previous one when it could not be opened.
      await this.refresh();
    }
  }
}
