import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestService } from '../test/helpers/service.js';
import { RtpLoadSender } from '../load-tests/RtpLoadSender.js';
import { encodeOpus } from '../pipeline/testing/audioSupport.js';
import { Peer } from './Peer.js';
import { untilAsyncValue, untilValue } from '../test/helpers/until.js';
import { parseRtpPacket } from '../pipeline/rtp/RtpPacket.js';
import type { Service } from '../src/Service.js';
import type { MediaTap } from './MediaTap.js';

describe('RTP ingest (PlainTransport) and taps', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startTestService();
  });
  afterEach(async () => {
    await service.close();
  });

  it('ingested Opus RTP reaches a tap only after the tap is resumed, unchanged in payload', async () => {
    const taps: MediaTap[] = [];
    const got: Buffer[] = [];
    service.rooms.on('tapopen', (tap) => taps.push(tap));
    const room = await service.rooms.getOrCreate('ingest');
    const gw = new Peer({ id: 'gateway-1', displayName: 'PSTN caller', role: 'participant', notify: () => {} });
    room.join(gw);
    const tone = new Float32Array(48000).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48000));
    const frames = encodeOpus(tone);
    const target = await room.createRtpIngest(gw, { kind: 'audio', ssrc: 1111, payloadType: 111 });
    const sender = new RtpLoadSender({ frames });
    sender.add({ ip: target.ip, port: target.port, ssrc: 1111, payloadType: 111 });
    sender.start();
    try {
      expect(taps.length).toBe(1);
      const tap = taps[0]!;
      expect(tap.paused).toBe(true);
      // a gateway's leg: it cannot say whether its far end suppressed noise (its Opus is judged as an Opus SIP leg's)
      expect(tap.info).toMatchObject({ kind: 'audio', gatewayLeg: true });
      expect(tap.info.senderNoiseSuppression).toBeUndefined();
      tap.on('rtp', (p) => got.push(p));
      // paused: the producer receives packets, none reach the tap
      const producer = gw.producers.get(target.producerId)!;
      const received = async () => (await producer.getStats()).reduce((n, s) => n + s.packetCount, 0);
      await untilAsyncValue('the ingest producer to receive 15 packets', async () => (await received()) >= 15, 10_000);
      expect(got.length).toBe(0);
      await tap.resume();
      await untilValue('20 packets at the resumed tap', () => got.length >= 20, 10_000);
      const first = parseRtpPacket(got[0]!);
      expect(first.payloadType).toBe(tap.info.codec.payloadType);
      expect(frames.some((f) => Buffer.from(f).equals(Buffer.from(first.payload)))).toBe(true);
    } finally {
      sender.close();
    }
    room.leave('gateway-1');
    await untilValue('the tap to close', () => taps[0]!.closed, 10_000);
    expect(taps[0]!.closed).toBe(true);
  });
});
