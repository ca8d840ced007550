/**
 * Face continuity in a live call, end to end through NATS: a different person in front of the
 * camera mid-call gives a `verdict` event with reason `takeover:face`; the same person all along
 * gives none.
 *
 * Path under test: plain-RTP VP8 ingest (sfu/Room.ts createRtpIngest) -> tap -> media worker
 * (depacketize, ffmpeg decode at 5 fps, FaceAnalyzer, FaceWindower with the face-embed
 * FaceDescriber) -> the window's descriptor -> ParticipantVerdict's face IdentityContinuity ->
 * `verdict` event on the real nats-server.
 *
 * Two cameras the test controls (test/helpers/personChangeClip.ts, renderings of face-api sample
 * photos): `changed` shows one person for 12 s, then another for 12 s; `same` shows the first
 * person for 24 s. The clips loop; the test waits for the `changed` camera's takeover and for the
 * `same` camera to have shown more than a whole clip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestService } from '../helpers/service.js';
import { voiceOnlyTestModelsDir, removeDir } from '../helpers/models.js';
import { renderPersonChangeClip, type PersonChangeClip } from '../helpers/personChangeClip.js';
import { Vp8ClipSender } from '../helpers/Vp8ClipSender.js';
import { untilValue } from '../helpers/until.js';
import { Peer } from '../../sfu/Peer.js';
import type { Service } from '../../src/Service.js';
import type { EventOfType } from '../../events/schema.js';

const ROOM = 'face-takeover';
const VP8_PT = 96;

describe('face continuity (live video via RTP ingest, NATS)', () => {
  let service: Service;
  let modelsDir: string;
  let workDir: string;
  let changed: PersonChangeClip;
  let same: PersonChangeClip;
  const senders: Vp8ClipSender[] = [];
  const verdicts: EventOfType<'verdict'>[] = [];
  const faceFrames = new Map<string, number>();

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-face-takeover-'));
    // No face-forgery test model: its mean-colour graph would make these faces suspicious on its own.
    modelsDir = voiceOnlyTestModelsDir();
    changed = await renderPersonChangeClip(workDir, 'changed');
    same = await renderPersonChangeClip(workDir, 'same', { second: undefined });
    service = await startTestService({ modelsDir, faceAnalysis: true, challenges: false }, { events: true, analysis: true });
    service.bus!.subscribe({ type: 'verdict' }, (e) => void (e.type === 'verdict' && e.roomId === ROOM && verdicts.push(e)));
    service.pipeline!.on('face-observation', (st, o) => {
      if (st.roomId === ROOM && o.faceFound) faceFrames.set(st.peerId, (faceFrames.get(st.peerId) ?? 0) + 1);
    });
  }, 180_000);

  afterAll(async () => {
    for (const s of senders) s.close();
    await service?.close();
    removeDir(modelsDir);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('a different person in front of the camera gives takeover:face; the same person all along does not', async () => {
    const room = await service.rooms.getOrCreate(ROOM);
    const starts = new Map<string, number>();
    for (const [i, [id, clip]] of ([['changed', changed], ['same', same]] as const).entries()) {
      const peer = new Peer({ id, displayName: id, role: 'participant', notify: () => {} });
      room.join(peer);
      const ingest = await room.createRtpIngest(peer, { kind: 'video', ssrc: 9100 + i, payloadType: VP8_PT });
      const sender = new Vp8ClipSender(clip.ivf, clip.options.fps);
      sender.add({ ip: ingest.ip, port: ingest.port, ssrc: 9100 + i, payloadType: VP8_PT });
      senders.push(sender);
      starts.set(id, sender.start());
    }
    const takeover = (peerId: string) => verdicts.find((v) => v.peerId === peerId && v.payload.reason === 'takeover:face');
    const clipFrames = (changed.options.firstSec + changed.options.secondSec) * changed.options.fps;
    const tk = await untilValue('a takeover:face verdict for the changed camera', () => takeover('changed'), 150_000);
    // The same person, for more than one whole clip (frames with a face analysed, skipped ones not counted).
    await untilValue('the same camera analysed for more than a whole clip', () => (faceFrames.get('same') ?? 0) > 1.2 * clipFrames, 150_000);

    expect(tk.payload.state).toBe('suspicious');
    // It came after the second person appeared (clip time of the event, within its loop).
    const clipSec = (Date.parse(tk.ts) - starts.get('changed')!) / 1000;
    const loopSec = changed.options.firstSec + changed.options.secondSec;
    expect(clipSec % loopSec).toBeGreaterThanOrEqual(changed.changeSec);
    expect(takeover('same')).toBeUndefined();
    expect(service.pipeline!.participant(ROOM, 'same')!.takeovers).toBe(0);
    process.stdout.write(
      `${JSON.stringify({ test: 'face-takeover-e2e', takeoverAtClipSec: Math.round(clipSec * 10) / 10, delayAfterChangeSec: Math.round(((clipSec % loopSec) - changed.changeSec) * 10) / 10, sameFaceFrames: faceFrames.get('same'), changedFaceFrames: faceFrames.get('changed') })}\n`,
    );
  }, 360_000);
});
