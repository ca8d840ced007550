/**
 * Overload for tests: service options under which the analysis cannot keep up (a one-window inference queue,
 * windows every 0.25 s), and RTP speech streams sent into a room of a running service, each analysed.
 */
import { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import { encodeOpus, readWav } from '../../pipeline/testing/audioSupport.js';
import { Peer } from '../../sfu/Peer.js';
import type { Service } from '../../src/Service.js';
import { fixtures } from '../fixtures/build.js';

/** Options for `startTestService` with which a few streams overflow the inference queue (face analysis off). */
export const OVERLOAD_OPTIONS = { maxPeersPerRoom: 32, inferenceQueue: 1, audioHopSec: 0.25, minSpeechSec: 0.2, faceAnalysis: false } as const;

/** Sends `count` Opus speech streams (fixtures.speechWav) as plain RTP into `roomId`; close the sender to stop. */
export async function startSpeechFlood(service: Service, roomId: string, count: number, ssrcBase: number): Promise<RtpLoadSender> {
  const room = await service.rooms.getOrCreate(roomId);
  const sender = new RtpLoadSender({ frames: encodeOpus(readWav(fixtures.speechWav).samples) });
  for (let i = 0; i < count; i++) {
    const gw = new Peer({ id: `load-${i}`, displayName: `Load ${i}`, role: 'participant', notify: () => {} });
    room.join(gw);
    const t = await room.createRtpIngest(gw, { kind: 'audio', ssrc: ssrcBase + i, payloadType: 111 });
    sender.add({ ip: t.ip, port: t.port, ssrc: ssrcBase + i, payloadType: 111 });
  }
  sender.start();
  return sender;
}
