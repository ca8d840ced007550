import { describe, expect, it } from 'vitest';
import { DfdError } from '../../kernel/errors.js';
import { answerDirection, buildSdpAnswer, chooseCodec, parseSdpOffer, type AudioOffer } from './sdpOffer.js';

const sdp = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

/** RFC 3264 section 10.1 (Alice's offer), audio part, with telephone-event and ptime added. */
const OFFER = sdp([
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com',
  's=',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 97 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:97 iLBC/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
]);

/** A SIPREC offer (RFC 7866 section 8.1.1 style): two sendonly streams with labels, static types only. */
const SIPREC_OFFER = sdp([
  'v=0',
  'o=SRC 2890844526 2890844526 IN IP4 198.51.100.1',
  's=-',
  'c=IN IP4 198.51.100.1',
  't=0 0',
  'a=sendonly',
  'm=audio 12240 RTP/AVP 0 9',
  'a=label:96',
  'm=audio 12242 RTP/AVP 8',
  'c=IN IP4 198.51.100.2',
  'a=label:97',
]);

function refused(fn: () => unknown, code: 'ERR_SIP_MALFORMED' | 'ERR_SIP_UNSUPPORTED'): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DfdError);
    expect((e as DfdError).code).toBe(code);
    return;
  }
  throw new Error('did not throw');
}

describe('parseSdpOffer', () => {
  it('reads the RFC 3264 audio offer', () => {
    expect(parseSdpOffer(OFFER)).toEqual<AudioOffer[]>([
      {
        media: 'audio',
        protocol: 'RTP/AVP',
        formats: ['0', '8', '97', '101'],
        connectionIp: '192.0.2.10',
        port: 49170,
        codecs: [
          { payloadType: 0, name: 'PCMU', clockRate: 8000 },
          { payloadType: 8, name: 'PCMA', clockRate: 8000 },
          { payloadType: 97, name: 'iLBC', clockRate: 8000 },
        ],
        direction: 'sendrecv',
        telephoneEventPt: 101,
        ptime: 20,
      },
    ]);
  });

  it('reads SIPREC streams: labels, media-level c=, session-level direction, static types without rtpmap', () => {
    const offers = parseSdpOffer(SIPREC_OFFER);
    expect(offers.map((o) => [o.label, o.connectionIp, o.port, o.direction, o.codecs.map((c) => `${c.name}/${c.clockRate}`)])).toEqual([
      ['96', '198.51.100.1', 12240, 'sendonly', ['PCMU/8000', 'G722/8000']],
      ['97', '198.51.100.2', 12242, 'sendonly', ['PCMA/8000']],
    ]);
  });

  it('keeps the m-line count: disabled, non-audio and non-RTP/AVP lines come back with port 0', () => {
    const offers = parseSdpOffer(
      sdp(['v=0', 'o=- 1 1 IN IP6 2001:db8::1', 's=-', 't=0 0', 'm=video 5000 RTP/AVP 96', 'c=IN IP4 192.0.2.1', 'a=rtpmap:96 VP8/90000', 'm=audio 0 RTP/AVP 0', 'm=audio 6000 RTP/SAVP 0', 'm=audio 7000 RTP/AVP 0 96', 'c=IN IP6 2001:db8::2', 'a=recvonly', 'a=rtpmap:96 opus/48000/2', 'm=image 0 udptl t38']),
    );
    expect(offers.map((o) => [o.media, o.protocol, o.port, o.connectionIp, o.direction, o.codecs.length])).toEqual([
      ['video', 'RTP/AVP', 0, '0.0.0.0', 'sendrecv', 0],
      ['audio', 'RTP/AVP', 0, '0.0.0.0', 'sendrecv', 1],
      ['audio', 'RTP/SAVP', 0, '0.0.0.0', 'sendrecv', 0],
      ['audio', 'RTP/AVP', 7000, '2001:db8::2', 'recvonly', 2],
      ['image', 'udptl', 0, '0.0.0.0', 'sendrecv', 0],
    ]);
    expect(offers[3]!.codecs[1]).toEqual({ payloadType: 96, name: 'opus', clockRate: 48000, channels: 2 });
    expect(offers[4]!.formats).toEqual(['t38']);
  });

  it('leaves out unknown dynamic payload types without rtpmap and prefers 8 kHz telephone-event', () => {
    const [o] = parseSdpOffer(sdp(['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 96 18 0 100 101', 'a=rtpmap:100 telephone-event/48000', 'a=rtpmap:101 telephone-event/8000']));
    expect(o!.codecs).toEqual([{ payloadType: 0, name: 'PCMU', clockRate: 8000 }]);
    expect(o!.telephoneEventPt).toBe(101);
  });

  it('refuses what is not SDP, and offers without usable audio', () => {
    const base = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0'];
    refused(() => parseSdpOffer(''), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer('hello'), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp(['v=1', ...base.slice(1)])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'm=audio x RTP/AVP 0'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'm=audio 4000 RTP/AVP'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'm=audio 70000 RTP/AVP 0', 'c=IN IP4 192.0.2.1'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'm=audio 4000 RTP/AVP 200', 'c=IN IP4 192.0.2.1'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'm=audio 4000 RTP/AVP 0'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'c=IN', 'm=audio 4000 RTP/AVP 0'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base, 'garbage', 'm=audio 4000 RTP/AVP 0'])), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(`${sdp([...base, 'c=IN IP4 192.0.2.1', 'm=audio 4000 RTP/AVP 0'])}a=${'x'.repeat(70_000)}\r\n`), 'ERR_SIP_MALFORMED');
    refused(() => parseSdpOffer(sdp([...base])), 'ERR_SIP_UNSUPPORTED');
    refused(() => parseSdpOffer(sdp([...base, 'c=IN IP4 192.0.2.1', 'm=video 4000 RTP/AVP 96'])), 'ERR_SIP_UNSUPPORTED');
    refused(() => parseSdpOffer(sdp([...base, 'c=IN IP4 192.0.2.1', 'm=audio 4000 RTP/SAVP 0'])), 'ERR_SIP_UNSUPPORTED');
    refused(() => parseSdpOffer(sdp([...base, 'c=IN IP4 host.example.com', 'm=audio 4000 RTP/AVP 0'])), 'ERR_SIP_UNSUPPORTED');
    refused(() => parseSdpOffer(sdp([...base, 'c=IN IP4 224.2.1.1/127', 'm=audio 4000 RTP/AVP 0'])), 'ERR_SIP_UNSUPPORTED');
  });
});

describe('chooseCodec', () => {
  it('takes our preference order, case-insensitively, or refuses', () => {
    const [o] = parseSdpOffer(OFFER);
    expect(chooseCodec(o!, ['PCMA', 'PCMU'])).toEqual({ payloadType: 8, name: 'PCMA', clockRate: 8000 });
    expect(chooseCodec(o!, ['opus', 'pcmu'])).toEqual({ payloadType: 0, name: 'PCMU', clockRate: 8000 });
    refused(() => chooseCodec(o!, ['opus', 'G729']), 'ERR_SIP_UNSUPPORTED');
    refused(() => chooseCodec(o!, []), 'ERR_SIP_UNSUPPORTED');
  });
});

describe('buildSdpAnswer', () => {
  it('answers one m-line per offered stream, rejected ones with port 0 (RFC 3264), and reads back', () => {
    const offers = parseSdpOffer(sdp(['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly', 'a=label:1', 'm=video 5000 RTP/AVP 96', 'm=audio 4002 RTP/AVP 8', 'a=label:2']));
    const answer = buildSdpAnswer(
      offers.map((o) =>
        o.media === 'audio'
          ? { ip: '203.0.113.5', port: o.port + 1000, codec: chooseCodec(o, ['PCMU', 'PCMA']), ...(o.telephoneEventPt !== undefined ? { telephoneEventPt: o.telephoneEventPt } : {}), direction: answerDirection(o.direction), sessionId: '42', sessionVersion: 3, ...(o.label ? { label: o.label } : {}), ptime: 20 }
          : { ip: '203.0.113.5', port: 0, codec: { payloadType: 96, name: 'VP8', clockRate: 90000 }, direction: 'inactive' as const, sessionId: '42', sessionVersion: 3, media: o.media, protocol: o.protocol, formats: o.formats },
      ),
    );
    expect(answer).toBe(
      sdp([
        'v=0',
        'o=- 42 3 IN IP4 203.0.113.5',
        's=-',
        'c=IN IP4 203.0.113.5',
        't=0 0',
        'm=audio 5000 RTP/AVP 0 101',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=recvonly',
        'a=label:1',
        'm=video 0 RTP/AVP 96',
        'm=audio 5002 RTP/AVP 8',
        'a=rtpmap:8 PCMA/8000',
        'a=ptime:20',
        'a=sendrecv',
        'a=label:2',
      ]),
    );
    const back = parseSdpOffer(answer);
    expect(back.map((o) => [o.media, o.port, o.direction, o.label, o.codecs.map((c) => c.name), o.telephoneEventPt])).toEqual([
      ['audio', 5000, 'recvonly', '1', ['PCMU'], 101],
      ['video', 0, 'sendrecv', undefined, [], undefined],
      ['audio', 5002, 'sendrecv', '2', ['PCMA'], undefined],
    ]);
  });

  it('takes a single stream, writes the direction given, a per-stream c= when the address differs', () => {
    const one = buildSdpAnswer({ ip: '2001:db8::5', port: 4000, codec: { payloadType: 0, name: 'PCMU', clockRate: 8000 }, direction: 'inactive', sessionId: '1', sessionVersion: 0 });
    expect(one).toContain('o=- 1 0 IN IP6 2001:db8::5\r\n');
    expect(one).toContain('c=IN IP6 2001:db8::5\r\n');
    expect(one).toContain('a=inactive\r\n');
    const two = buildSdpAnswer([
      { ip: '192.0.2.1', port: 4000, codec: { payloadType: 0, name: 'PCMU', clockRate: 8000 }, direction: 'recvonly', sessionId: '1', sessionVersion: 0 },
      { ip: '192.0.2.2', port: 4002, codec: { payloadType: 0, name: 'PCMU', clockRate: 8000 }, direction: 'recvonly', sessionId: '1', sessionVersion: 0 },
    ]);
    expect(parseSdpOffer(two).map((o) => o.connectionIp)).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('answerDirection mirrors an offer (RFC 3264 section 6.1)', () => {
    expect((['sendonly', 'recvonly', 'sendrecv', 'inactive'] as const).map(answerDirection)).toEqual(['recvonly', 'sendonly', 'sendrecv', 'inactive']);
  });

  it('refuses options that would not read back', () => {
    const ok = { ip: '192.0.2.1', port: 4000, codec: { payloadType: 0, name: 'PCMU', clockRate: 8000 }, direction: 'sendrecv' as const, sessionId: '1', sessionVersion: 0 };
    refused(() => buildSdpAnswer([]), 'ERR_SIP_MALFORMED');
    refused(() => buildSdpAnswer({ ...ok, ip: 'host.example' }), 'ERR_SIP_MALFORMED');
    refused(() => buildSdpAnswer({ ...ok, port: 70000 }), 'ERR_SIP_MALFORMED');
    refused(() => buildSdpAnswer({ ...ok, sessionId: 'abc' }), 'ERR_SIP_MALFORMED');
    refused(() => buildSdpAnswer({ ...ok, label: 'a\r\nm=video 1 RTP/AVP 0' }), 'ERR_SIP_MALFORMED');
    refused(() => buildSdpAnswer({ ...ok, codec: { payloadType: 128, name: 'PCMU', clockRate: 8000 } }), 'ERR_SIP_MALFORMED');
    refused(() => buildSdpAnswer({ ...ok, codec: { payloadType: 0, name: 'PC MU', clockRate: 8000 } }), 'ERR_SIP_MALFORMED');
  });
});
