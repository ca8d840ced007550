/**
 * The /meet page: `?room=R&name=N&autojoin=1[&token=T]`. Without a token it asks the
 * demo endpoint for one. Exposes `window.dfdMeeting` (the current `MeetingClient`) for tests
 * and diagnostics.
 *
 * The page asks for camera and microphone first (with a hint while the browser's prompt is
 * open), says exactly which device is missing, busy or blocked and offers to join with what
 * works (`deviceProblems.ts`), lets the participant pick devices (`devicePicker.ts`), rejoins
 * on its own after a network drop (`reconnect.ts`) but never after the service's shutdown
 * notice, and announces verdict changes to screen readers. `meetingSession.ts` holds the
 * states; this file wires the page's elements to it.
 */
import { LiveRegion } from '../../dashboard/web/liveRegion.js';
import { classifyMediaError, type MediaKind } from './deviceProblems.js';
import { DevicePicker } from './devicePicker.js';
import { JoinPanel } from './joinPanel.js';
import { MeetingSession, defaultMeetingSessionOptions } from './meetingSession.js';
import { MeetingStatus } from './meetingStatus.js';
import { Tiles } from './tiles.js';

const params = new URLSearchParams(location.search);
const byId = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`meeting markup is missing #${id}`);
  return e as T;
};

const joinButton = byId<HTMLButtonElement>('join');
const leaveButton = byId<HTMLButtonElement>('leave');
const status = new MeetingStatus(byId('status'), byId('notice'));

const deviceName: Record<MediaKind, string> = { audio: 'microphone', video: 'camera' };
const pickerProblem: Record<ReturnType<typeof classifyMediaError>, string> = {
  missing: 'is no longer connected',
  busy: 'is in use by another application or browser tab',
  denied: 'is blocked for this page',
  failed: 'could not be started',
};
const picker = new DevicePicker(byId('devices'), {
  onSelect: (kind, deviceId) => session.switchDevice(kind, deviceId),
  onError: (kind, e) => status.notice('error', `That ${deviceName[kind]} ${pickerProblem[classifyMediaError(e)]}; still using the previous one.`),
  active: () => ({ audio: session.media.track('audio'), video: session.media.track('video') }),
});

const session = new MeetingSession(
  {
    ...defaultMeetingSessionOptions,
    room: params.get('room') ?? 'demo',
    name: params.get('name') ?? 'Guest',
    token: params.get('token'),
    wsUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  },
  {
    status,
    panel: new JoinPanel(byId('setup')),
    tiles: new Tiles(byId('tiles')),
    live: new LiveRegion(document.body),
    prompt: byId('prompt'),
    redirect: (baseUrl) => location.assign(new URL(location.pathname + location.search, baseUrl).href),
    onPhase: (phase) => {
      // Joined: the Join button goes; keyboard focus on it moves to the call instead of being lost.
      if (phase === 'in' && document.activeElement === joinButton) byId('tiles').focus();
      joinButton.hidden = phase === 'in';
      joinButton.disabled = phase === 'busy';
      joinButton.textContent = phase === 'can-rejoin' ? 'Rejoin' : 'Join';
      leaveButton.hidden = phase === 'out';
      if (phase === 'in' || phase === 'out') void picker.refresh();
    },
  },
);

joinButton.addEventListener('click', () => {
  if (session.canRejoin) void session.rejoin();
  else void session.start();
});
leaveButton.addEventListener('click', () => {
  session.leave();
  joinButton.focus();
});
if (params.get('autojoin') === '1') joinButton.click();
