import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeRtpPacket } from '../pipeline/rtp/RtpPacket.js';
import { untilValue } from '../test/helpers/until.js';

const until = (what: string, fn: () => boolean): Promise<true> => untilValue(what, () => fn() || undefined, 10_000);
import { TapReceiver } from './TapReceiver.js';

const rtp = (ssrc: number, seq: number): Buffer => Buffer.from(serializeRtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc, payload: new Uint8Array([0xfc, 1, 2]), marker: false }));
/** A minimal RTCP sender report header (packet type 200). */
const rtcpSr = (ssrc: number): Buffer => {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
};

describe('TapReceiver (loopback UDP end of a room tap transport)', () => {
  let rx: TapReceiver;
  let tx: dgram.Socket;
  const send = (b: Buffer, socket = tx): Promise<void> => new Promise((r) => socket.send(b, rx.port, '127.0.0.1', () => r()));

  beforeEach(async () => {
    rx = await TapReceiver.open();
    tx = dgram.createSocket('udp4');
    await new Promise<void>((r) => tx.bind(0, '127.0.0.1', r));
  });
  afterEach(() => {
    rx.close();
    tx.close();
  });

  it('hands RTP to the tap registered for its SSRC, in order, and counts what it refuses', async () => {
    const got: number[] = [];
    const off = rx.register(0xdead_beef, (p, at) => {
      expect(at).toBeGreaterThan(0);
      got.push(p.readUInt16BE(2));
    });
    for (let seq = 1; seq <= 5; seq++) await send(rtp(0xdead_beef, seq));
    await send(rtp(42, 1)); // nobody tapped SSRC 42
    await send(rtcpSr(0xdead_beef)); // the transport's sender reports
    await send(Buffer.from([1, 2, 3])); // not RTP
    await until('the malformed datagram', () => rx.stats().malformed === 1);
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(rx.stats()).toEqual({ delivered: 5, rtcp: 1, unknownSsrc: 1, foreign: 0, malformed: 1 });
    off();
    await send(rtp(0xdead_beef, 6));
    await until('the packet after unregister', () => rx.stats().unknownSsrc === 2);
    expect(got).toHaveLength(5);
  });

  it('once the source is known, datagrams from anywhere else are refused', async () => {
    const got: Buffer[] = [];
    rx.register(7, (p) => got.push(p));
    rx.expectSource('127.0.0.1', (tx.address() as AddressInfo).port);
    const other = dgram.createSocket('udp4');
    await new Promise<void>((r) => other.bind(0, '127.0.0.1', r));
    try {
      await send(rtp(7, 1), other);
      await send(rtp(7, 2));
      await until('one delivered and one foreign datagram', () => rx.stats().delivered === 1 && rx.stats().foreign === 1);
      expect(got.map((p) => p.readUInt16BE(2))).toEqual([2]);
    } finally {
      other.close();
    }
  });
});
