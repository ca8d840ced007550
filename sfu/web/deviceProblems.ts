/**
 * What the meeting page tells a participant whose camera or microphone cannot be used, and
 * which ways of joining it offers instead. `getUserMedia` fails with a DOMException whose
 * `name` says why: no such device (`NotFoundError`), the device is held by another program
 * (`NotReadableError`), or access was refused (`NotAllowedError`). The page asks for each kind
 * on its own after a failure, so the message names the device at fault and the choices
 * offer exactly what works: audio only, video only, or listen only (receive-only).
 *
 * Pure and DOM-free (unit tested in node, `deviceProblems.test.ts`).
 */

export type MediaKind = 'audio' | 'video';
export const mediaKinds: readonly MediaKind[] = ['audio', 'video'];

/** How a device kind fared when the page asked for it. */
export type DeviceStatus = 'ok' | 'missing' | 'busy' | 'denied' | 'failed';
export type DeviceProblem = Exclude<DeviceStatus, 'ok'>;

/** What the participant sends. `listen-only` sends nothing and still sees and hears the others. */
export type JoinMode = 'audio-video' | 'audio-only' | 'video-only' | 'listen-only';

export type DeviceProbe = Readonly<Record<MediaKind, DeviceStatus>>;

/** The kinds a join mode sends. */
export function kindsOf(mode: JoinMode): MediaKind[] {
  switch (mode) {
    case 'audio-video':
      return ['audio', 'video'];
    case 'audio-only':
      return ['audio'];
    case 'video-only':
      return ['video'];
    case 'listen-only':
      return [];
  }
}

/** Maps a `getUserMedia` rejection to a device problem (old Chrome names included). */
export function classifyMediaError(e: unknown): DeviceProblem {
  const name = e !== null && typeof e === 'object' && 'name' in e ? String((e as { name: unknown }).name) : '';
  switch (name) {
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    default:
      return 'failed';
  }
}

export interface DeviceProblemMessage {
  /** One sentence per failing kind (both kinds in one when they fail the same way). */
  title: string;
  /** What to do about it. */
  advice: string;
  /** The ways to join that work, best first; `listen-only` is always last. */
  choices: JoinMode[];
}

const deviceName: Record<MediaKind, string> = { audio: 'microphone', video: 'camera' };

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function problemSentence(problem: DeviceProblem, devices: string): string {
  switch (problem) {
    case 'missing':
      return `No ${devices} was found.`;
    case 'busy':
      return `Your ${devices} ${devices.includes(' and ') ? 'are' : 'is'} in use by another application or browser tab.`;
    case 'denied':
      return `${capitalise(devices)} access is blocked for this page.`;
    case 'failed':
      return `Your ${devices} could not be started.`;
  }
}

const adviceFor: Record<DeviceProblem, string> = {
  missing: 'Connect one and press "Try again".',
  busy: 'Close the other application or tab that uses it and press "Try again".',
  denied: 'Allow access in your browser\'s site settings (the icon next to the address) and press "Try again".',
  failed: 'Press "Try again".',
};

/** The choices a probe allows: the kinds that work, then listen-only. */
export function joinChoices(probe: DeviceProbe): JoinMode[] {
  const choices: JoinMode[] = [];
  if (probe.audio === 'ok' && probe.video === 'ok') choices.push('audio-video');
  if (probe.audio === 'ok') choices.push('audio-only');
  if (probe.video === 'ok') choices.push('video-only');
  choices.push('listen-only');
  return choices;
}

/** The message for a probe with at least one failing kind. */
export function describeDeviceProblem(probe: DeviceProbe): DeviceProblemMessage {
  const failing = mediaKinds.filter((k) => probe[k] !== 'ok') as MediaKind[];
  const sentences: string[] = [];
  const advice: string[] = [];
  const [first, second] = failing;
  if (first && second && probe[first] === probe[second]) {
    const problem = probe[first] as DeviceProblem;
    sentences.push(problemSentence(problem, problem === 'missing' ? 'camera or microphone' : 'camera and microphone'));
    advice.push(adviceFor[problem]);
  } else {
    // Camera first: it is the device people most often lack or have blocked.
    for (const k of [...failing].reverse()) {
      const problem = probe[k] as DeviceProblem;
      sentences.push(problemSentence(problem, deviceName[k]));
      if (!advice.includes(adviceFor[problem])) advice.push(adviceFor[problem]);
    }
  }
  const works = mediaKinds.filter((k) => probe[k] === 'ok');
  const fallback =
    works.length > 0
      ? `Or join with your ${works.map((k) => deviceName[k]).join(' and ')} only, or listen only.`
      : 'Or listen only: you see and hear the others and their verdict badges; they do not see or hear you.';
  return { title: sentences.join(' '), advice: `${advice.join(' ')} ${fallback}`, choices: joinChoices(probe) };
}

/** Button wording per join mode. */
export const joinModeLabels: Readonly<Record<JoinMode, string>> = {
  'audio-video': 'Join with camera and microphone',
  'audio-only': 'Join with audio only',
  'video-only': 'Join with video only',
  'listen-only': 'Listen only',
};
