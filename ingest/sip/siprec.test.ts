import { describe, expect, it } from 'vitest';
import { DfdError } from '../../kernel/errors.js';
import { parseSdpOffer } from './sdpOffer.js';
import { parseRecordingMetadata, splitMultipart, streamRoles, type RecordingMetadata } from './siprec.js';

const crlf = (lines: string[]): string => lines.join('\r\n');

/** Metadata in the shape of RFC 7865 section 9 / RFC 7866 section 8.1.1: a call between two participants, one stream each. */
const METADATA = `<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns='urn:ietf:params:xml:ns:recording:1'>
  <datamode>complete</datamode>
  <group group_id="7+OTCyoxTmqmqyA/1weDAg==">
    <associate-time>2010-12-16T23:41:07Z</associate-time>
  </group>
  <session session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <sipSessionID>ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2</sipSessionID>
    <group-ref>7+OTCyoxTmqmqyA/1weDAg==</group-ref>
  </session>
  <participant participant_id="srfBElmCRp2QB23b7Mpk0w==">
    <nameID aor="sip:alice@atlanta.com">
      <name xml:lang="en">Alice &amp; Co</name>
    </nameID>
  </participant>
  <participant participant_id="zSfPoSvdSDCmU3A3TRDxAw==">
    <nameID aor="sip:bob@biloxy.com">
      <name xml:lang="en">Bob</name>
    </nameID>
  </participant>
  <stream stream_id="UAAMm5GRQKSCMVvLyl4rFw==" session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <label>96</label>
  </stream>
  <stream stream_id="i1Pz3to5hGk8fuXl+PbwCw==" session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <label>97</label>
  </stream>
  <participantstreamassoc participant_id="srfBElmCRp2QB23b7Mpk0w==">
    <send>UAAMm5GRQKSCMVvLyl4rFw==</send>
    <recv>i1Pz3to5hGk8fuXl+PbwCw==</recv>
  </participantstreamassoc>
  <participantstreamassoc participant_id="zSfPoSvdSDCmU3A3TRDxAw==">
    <send>i1Pz3to5hGk8fuXl+PbwCw==</send>
    <recv>UAAMm5GRQKSCMVvLyl4rFw==</recv>
  </participantstreamassoc>
</recording>
`;

const SDP = crlf(['v=0', 'o=SRC 2890844526 2890844526 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0', 'm=audio 12240 RTP/AVP 0', 'a=sendonly', 'a=label:96', 'm=audio 12242 RTP/AVP 0', 'a=sendonly', 'a=label:97', '']);

/** The INVITE body of RFC 7866 section 8.1.1: multipart/mixed with the SDP and the metadata. */
const BODY = Buffer.from(
  crlf([
    '--foobar',
    'Content-Type: application/sdp',
    '',
    SDP,
    '--foobar',
    'Content-Type: application/rs-metadata+xml',
    'Content-Disposition: recording-session',
    '',
    METADATA,
    '--foobar--',
    '',
  ]),
);

function malformed(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DfdError);
    expect((e as DfdError).code).toBe('ERR_SIP_MALFORMED');
    return;
  }
  throw new Error('did not throw');
}

describe('splitMultipart', () => {
  it('splits the RFC 7866 INVITE body into SDP and metadata', () => {
    const parts = splitMultipart('multipart/mixed;boundary=foobar', BODY);
    expect(parts.map((p) => p.contentType)).toEqual(['application/sdp', 'application/rs-metadata+xml']);
    expect(parts[0]!.body.toString()).toBe(SDP);
    expect(parts[1]!.body.toString()).toBe(METADATA);
    expect(parts[1]!.headers.get('content-disposition')).toBe('recording-session');
    expect(parseSdpOffer(parts[0]!.body.toString()).map((o) => o.label)).toEqual(['96', '97']);
  });

  it('takes a quoted boundary, a preamble and epilogue, padding after the delimiter, a part without headers', () => {
    const body = Buffer.from(crlf(['This is the preamble.', '--a b:c  ', '', 'plain text', '--a b:c', 'Content-Type: Application/SDP; charset=utf-8', '', 'v=0', '--a b:c--  ', 'epilogue']));
    const parts = splitMultipart('Multipart/Mixed; boundary="a b:c"', body);
    expect(parts.map((p) => [p.contentType, p.body.toString()])).toEqual([
      ['text/plain', 'plain text'],
      ['application/sdp', 'v=0'],
    ]);
  });

  it('keeps binary bodies and boundary look-alikes inside parts', () => {
    const bin = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 0x78, 0xff]);
    const body = Buffer.concat([Buffer.from('--x\r\nContent-Type: application/octet-stream\r\n\r\n'), bin, Buffer.from('\r\n--xy not a delimiter\r\n--x--')]);
    const [p] = splitMultipart('multipart/mixed; boundary=x', body);
    expect(p!.body).toEqual(Buffer.concat([bin, Buffer.from('\r\n--xy not a delimiter')]));
  });

  it('refuses what does not split', () => {
    malformed(() => splitMultipart('application/sdp', BODY));
    malformed(() => splitMultipart('multipart/mixed', BODY));
    malformed(() => splitMultipart('multipart/mixed;boundary=""', BODY));
    malformed(() => splitMultipart(`multipart/mixed;boundary=${'b'.repeat(71)}`, BODY));
    malformed(() => splitMultipart('multipart/mixed;boundary=other', BODY));
    malformed(() => splitMultipart('multipart/mixed;boundary=foobar', BODY.subarray(0, BODY.length - 12)));
    malformed(() => splitMultipart('multipart/mixed;boundary=foobar', Buffer.from('--foobar--\r\n')));
    malformed(() => splitMultipart('multipart/mixed;boundary=foobar', Buffer.from('--foobar\r\nno colon here\r\n\r\nx\r\n--foobar--')));
    malformed(() => splitMultipart('multipart/mixed;boundary=foobar', Buffer.from(`${'--foobar\r\n\r\nx\r\n'.repeat(40)}--foobar--`)));
  });
});

describe('parseRecordingMetadata', () => {
  it('reads session, participants, streams and who sends what', () => {
    expect(parseRecordingMetadata(METADATA)).toEqual<RecordingMetadata>({
      sessionId: 'hVpd7YQgRW2nD22h7q60JQ==',
      participants: [
        { id: 'srfBElmCRp2QB23b7Mpk0w==', name: 'Alice & Co', aor: 'sip:alice@atlanta.com' },
        { id: 'zSfPoSvdSDCmU3A3TRDxAw==', name: 'Bob', aor: 'sip:bob@biloxy.com' },
      ],
      streams: [
        { id: 'UAAMm5GRQKSCMVvLyl4rFw==', label: '96' },
        { id: 'i1Pz3to5hGk8fuXl+PbwCw==', label: '97' },
      ],
      participantStreams: [
        { participantId: 'srfBElmCRp2QB23b7Mpk0w==', send: ['UAAMm5GRQKSCMVvLyl4rFw=='] },
        { participantId: 'zSfPoSvdSDCmU3A3TRDxAw==', send: ['i1Pz3to5hGk8fuXl+PbwCw=='] },
      ],
    });
  });

  it('reads a prefixed namespace and ignores elements of other namespaces', () => {
    const xml = `<rs:recording xmlns:rs="urn:ietf:params:xml:ns:recording:1" xmlns:x="urn:example">
      <rs:participant participant_id="p1"><rs:nameID aor="sip:a@x"/></rs:participant>
      <x:participant participant_id="ignored"/>
      <rs:stream stream_id="s1"><rs:label>1</rs:label></rs:stream>
    </rs:recording>`;
    const m = parseRecordingMetadata(xml);
    expect(m.participants).toEqual([{ id: 'p1', aor: 'sip:a@x' }]);
    expect(m.streams).toEqual([{ id: 's1', label: '1' }]);
    expect(m.sessionId).toBeUndefined();
  });

  it('refuses what is not recording metadata', () => {
    malformed(() => parseRecordingMetadata(''));
    malformed(() => parseRecordingMetadata('<recording xmlns="urn:ietf:params:xml:ns:recording:1"><participant>'));
    malformed(() => parseRecordingMetadata('<recording><participant participant_id="p"/></recording>'));
    malformed(() => parseRecordingMetadata('<recording xmlns="urn:other"/>'));
    malformed(() => parseRecordingMetadata('<other xmlns="urn:ietf:params:xml:ns:recording:1"/>'));
    malformed(() => parseRecordingMetadata('<recording xmlns="urn:ietf:params:xml:ns:recording:1"><participant/></recording>'));
    malformed(() => parseRecordingMetadata('<recording xmlns="urn:ietf:params:xml:ns:recording:1"><stream stream_id="s"/></recording>'));
    malformed(() => parseRecordingMetadata('<!DOCTYPE r [<!ENTITY a "aaaa">]><recording xmlns="urn:ietf:params:xml:ns:recording:1">&a;</recording>'));
    malformed(() => parseRecordingMetadata(`<recording xmlns="urn:ietf:params:xml:ns:recording:1">${' '.repeat(70_000)}</recording>`));
  });
});

describe('streamRoles', () => {
  it('without name hints: the first participant that sends is the caller, the next the agent', () => {
    const roles = streamRoles(parseRecordingMetadata(METADATA), ['96', '97', '98']);
    expect({ ...roles }).toEqual({ 96: 'caller', 97: 'agent', 98: 'unknown' });
  });

  it('names say otherwise: an agent listed first is still the agent', () => {
    const xml = METADATA.replace('Alice &amp; Co', 'Support Agent 12').replace('sip:alice@atlanta.com', 'sip:agent12@contact-center.example');
    expect({ ...streamRoles(parseRecordingMetadata(xml), ['96', '97']) }).toEqual({ 96: 'agent', 97: 'caller' });
    const customer = METADATA.replace('>Bob<', '>Customer<');
    expect({ ...streamRoles(parseRecordingMetadata(customer), ['96', '97']) }).toEqual({ 96: 'agent', 97: 'caller' });
  });

  it('unknown when nobody sends a stream, when senders disagree, and for odd labels', () => {
    const meta: RecordingMetadata = {
      participants: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      streams: [
        { id: 's1', label: 'L1' },
        { id: 's2', label: 'L2' },
        { id: 's3', label: 'L3' },
        { id: 's4', label: 'L4' },
      ],
      participantStreams: [
        { participantId: 'a', send: ['s1', 's3'] },
        { participantId: 'b', send: ['s2', 's3'] },
        { participantId: 'c', send: ['s4'] },
      ],
    };
    const roles = streamRoles(meta, ['L1', 'L2', 'L3', 'L4', 'none', '__proto__', 'constructor']);
    expect(roles['L1']).toBe('caller');
    expect(roles['L2']).toBe('agent');
    expect(roles['L3']).toBe('unknown');
    expect(roles['L4']).toBe('unknown');
    expect(roles['none']).toBe('unknown');
    expect(roles['__proto__']).toBe('unknown');
    expect(roles['constructor']).toBe('unknown');
  });
});
