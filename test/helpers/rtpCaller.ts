/**
 * A caller speaking into a room through the real SFU: peer "caller" joins `roomId`, an Opus RTP
 * ingest is opened for it, and an RtpLoadSender streams the fixture speech there (looping) until
 * it is closed.
 */
import { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import { encodeOpus, readWav } from '../../pipeline/testing/audioSupport.js';
import { Peer } from '../../sfu/Peer.js';
import type { Service } from '../../src/Service.js';
import { fixtures } from '../fixtures/build.js';

export async function speakIntoRoom(service: Service, roomId: string, ssrc: number): Promise<RtpLoadSender> {
  const room = await service.rooms.getOrCreate(roomId);
  const caller = new Peer({ id: 'caller', displayName: 'Caller', role: 'participant', notify: () => {} });
  room.join(caller);
  const t = await room.createRtpIngest(caller, { kind: 'audio', ssrc, payloadType: 111 });
  const sender = new RtpLoadSender({ frames: encodeOpus(readWav(fixtures.speechWav).samples) });
  sender.add({ ip: t.ip, port: t.port, ssrc, payloadType: 111 });
  sender.start();
  return sender;
}
