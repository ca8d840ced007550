import { describe, expect, it } from 'vitest';
import { DfdError } from '../../kernel/errors.js';
import {
  SipHeaders,
  SipStreamFramer,
  buildResponse,
  isKeepAlive,
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseVia,
  serializeSipMessage,
  splitHeaderList,
  type SipRequest,
  type SipResponse,
} from './SipMessage.js';

const crlf = (lines: string[]): string => lines.join('\r\n');

/** RFC 3261 section 24.2, F1 (Alice's INVITE to Bob), with its SDP. */
const SDP = crlf(['v=0', 'o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com', 's=-', 'c=IN IP4 192.0.2.101', 't=0 0', 'm=audio 49172 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', '']);
const INVITE = crlf([
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '',
  SDP,
]);

const refused = (fn: () => unknown, code = 'ERR_SIP_MALFORMED'): DfdError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DfdError);
    expect((e as DfdError).code).toBe(code);
    return e as DfdError;
  }
  throw new Error('did not throw');
};

function req(extra: string[] = [], method = 'OPTIONS', body = ''): Buffer {
  return Buffer.from(
    crlf([
      `${method} sip:srs@example.com SIP/2.0`,
      'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKabc;rport',
      'From: <sip:src@example.net>;tag=a1',
      'To: <sip:srs@example.com>',
      'Call-ID: c1@198.51.100.7',
      `CSeq: 1 ${method}`,
      ...extra,
      '',
      body,
    ]),
  );
}

describe('SipHeaders', () => {
  it('expands compact forms and finds names case-insensitively, in order', () => {
    const h = new SipHeaders([
      ['v', 'SIP/2.0/UDP a.example;branch=z9hG4bK1'],
      ['f', '<sip:a@x>;tag=1'],
      ['t', '<sip:b@y>'],
      ['i', 'abc'],
      ['m', '<sip:a@1.2.3.4>'],
      ['l', '0'],
      ['c', 'application/sdp'],
      ['k', 'timer'],
      ['s', 'hi'],
      ['e', 'gzip'],
      ['X-Custom', 'keep'],
    ]);
    expect([...h].map(([n]) => n)).toEqual(['Via', 'From', 'To', 'Call-ID', 'Contact', 'Content-Length', 'Content-Type', 'Supported', 'Subject', 'Content-Encoding', 'X-Custom']);
    expect(h.get('CALL-ID')).toBe('abc');
    expect(h.get('call-id')).toBe('abc');
    expect(h.get('x-custom')).toBe('keep');
    expect(h.get('Missing')).toBeUndefined();
  });

  it('splits list headers at commas outside quotes and <>, across lines', () => {
    const h = new SipHeaders();
    h.add('Via', 'SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2');
    h.add('v', 'SIP/2.0/UDP c;branch=z9hG4bK3');
    h.add('Contact', '"Doe, John" <sip:j@x;a=1,2>;q=0.5, <sip:k@y>');
    h.add('WWW-Authenticate', 'Digest realm="r", nonce="n", qop="auth"');
    expect(h.getAll('via')).toEqual(['SIP/2.0/UDP a;branch=z9hG4bK1', 'SIP/2.0/TCP b;branch=z9hG4bK2', 'SIP/2.0/UDP c;branch=z9hG4bK3']);
    expect(h.get('Via')).toBe('SIP/2.0/UDP a;branch=z9hG4bK1');
    expect(h.getAll('m')).toEqual(['"Doe, John" <sip:j@x;a=1,2>;q=0.5', '<sip:k@y>']);
    // Not a list header: the line stays whole.
    expect(h.getAll('WWW-Authenticate')).toEqual(['Digest realm="r", nonce="n", qop="auth"']);
    expect(splitHeaderList('"a\\", b" <x>, c')).toEqual(['"a\\", b" <x>', 'c']);
    refused(() => splitHeaderList('"open, b'));
  });

  it('set replaces in place, add appends, delete removes all', () => {
    const h = new SipHeaders([
      ['X-A', '1'],
      ['X-B', '2'],
      ['x-a', '3'],
    ]);
    h.set('x-a', 'x');
    expect(h.entries()).toEqual([
      ['x-a', 'x'],
      ['X-B', '2'],
    ]);
    h.add('X-C', '4').add('x-c', '5');
    expect(h.getAll('X-C')).toEqual(['4', '5']);
    expect(h.delete('x-C')).toBe(2);
    expect(h.has('X-C')).toBe(false);
    expect(h.size).toBe(2);
  });

  it('refuses header injection and bad names', () => {
    const h = new SipHeaders();
    refused(() => h.add('X', 'a\r\nVia: evil'));
    refused(() => h.set('Bad Name', 'v'));
    refused(() => h.add('', 'v'));
  });
});

describe('parseSipMessage', () => {
  it('reads the RFC 3261 INVITE (24.2 F1) with its SDP body', () => {
    const m = parseSipMessage(Buffer.from(INVITE));
    expect(m.kind).toBe('request');
    const r = m as SipRequest;
    expect(r.method).toBe('INVITE');
    expect(r.uri).toBe('sip:bob@biloxi.com');
    expect(r.headers.get('call-id')).toBe('a84b4c76e66710@pc33.atlanta.com');
    expect(parseCSeq(r.headers.get('CSeq')!)).toEqual({ seq: 314159, method: 'INVITE' });
    expect(r.body.toString()).toBe(SDP);
  });

  it('reads a response, an empty reason phrase, and skips leading CRLFs', () => {
    const m = parseSipMessage(Buffer.from(`\r\n\r\n${crlf(['SIP/2.0 180 Ringing', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'From: <sip:a@x>;tag=1', 'To: <sip:b@y>;tag=2', 'Call-ID: x', 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''])}`)) as SipResponse;
    expect(m).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing' });
    const e = parseSipMessage(Buffer.from(crlf(['SIP/2.0 200 ', 'v: SIP/2.0/UDP a;branch=z9hG4bK1', 'f: <sip:a@x>;tag=1', 't: <sip:b@y>', 'i: x', 'CSeq: 1 BYE', 'l: 0', '', '']))) as SipResponse;
    expect(e.status).toBe(200);
    expect(e.reason).toBe('');
    expect(e.headers.get('From')).toBe('<sip:a@x>;tag=1');
  });

  it('unfolds continuation lines and reads compact forms', () => {
    const m = parseSipMessage(req(['Subject: I know you\'re there,', '   pick up the phone', '\tand talk to me!', 'l: 0', '']));
    expect(m.headers.get('Subject')).toBe("I know you're there, pick up the phone and talk to me!");
  });

  it('body by Content-Length; without it (UDP) the rest; extra bytes past it dropped', () => {
    expect(parseSipMessage(req([], 'MESSAGE', 'hello')).body.toString()).toBe('hello');
    expect(parseSipMessage(req(['Content-Length: 3'], 'MESSAGE', 'hello')).body.toString()).toBe('hel');
    refused(() => parseSipMessage(req(['Content-Length: 9'], 'MESSAGE', 'hello')));
    refused(() => parseSipMessage(req(['Content-Length: -1'], 'MESSAGE', 'hello')));
  });

  it('refuses what is malformed, each with ERR_SIP_MALFORMED', () => {
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['only CRLF', Buffer.from('\r\n\r\n')],
      ['no end of headers', Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x')],
      ['SIP/3.0', Buffer.from(req().toString().replace('SIP/2.0\r\n', 'SIP/3.0\r\n'))],
      ['no scheme', Buffer.from(req().toString().replace('sip:srs@example.com', 'srs'))],
      ['two spaces', Buffer.from(req().toString().replace('OPTIONS ', 'OPTIONS  '))],
      ['status 99', Buffer.from(req().toString().replace(/^.*\r\n/, 'SIP/2.0 99 X\r\n'))],
      ['no colon', req(['Garbage'])],
      ['bad name', req(['Bad Name: x'])],
      ['two From', req(['From: <sip:x@y>'])],
      ['missing Via', Buffer.from(req().toString().replace(/Via: .*\r\n/, ''))],
      ['missing Call-ID', Buffer.from(req().toString().replace(/Call-ID: .*\r\n/, ''))],
      ['CSeq method mismatch', Buffer.from(req().toString().replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'))],
      ['CSeq too big', Buffer.from(req().toString().replace('CSeq: 1 OPTIONS', 'CSeq: 2147483648 OPTIONS'))],
      ['bad Via', Buffer.from(req().toString().replace('SIP/2.0/UDP', 'SIP/1.0/UDP'))],
      ['Max-Forwards 256', req(['Max-Forwards: 256'])],
      ['bare LF', Buffer.from('OPTIONS sip:a@b SIP/2.0\nVia: x\n\n')],
      ['NUL in a header', req(['X: a\u0000b'])],
      ['not UTF-8', Buffer.concat([req(['X: a']).subarray(0, 20), Buffer.from([0xff, 0xfe]), req().subarray(20)])],
      ['fold before first header', Buffer.from(req().toString().replace('\r\nVia', '\r\n x\r\nVia'))],
    ];
    for (const [what, buf] of cases) expect(refused(() => parseSipMessage(buf)).code, what).toBe('ERR_SIP_MALFORMED');
  });

  it('enforces the limits', () => {
    refused(() => parseSipMessage(req([], 'MESSAGE', 'x'.repeat(70_000))));
    refused(() => parseSipMessage(req(Array.from({ length: 101 }, (_, i) => `X-${i}: v`))));
    expect(parseSipMessage(req(Array.from({ length: 90 }, (_, i) => `X-${i}: v`))).headers.size).toBe(95);
    refused(() => parseSipMessage(req([`X: ${'a'.repeat(8200)}`])));
    refused(() => parseSipMessage(req(['X: v']), { maxHeaders: 5 }));
    expect(parseSipMessage(req([`X: ${'a'.repeat(8200)}`]), { maxHeaderLineBytes: 9000 }).headers.get('X')).toHaveLength(8200);
  });

  it('serializes with Content-Length from the body and parses back the same', () => {
    const m = parseSipMessage(Buffer.from(INVITE));
    const out = serializeSipMessage(m);
    expect(out.toString()).toBe(INVITE);
    m.body = Buffer.from('changed');
    const again = parseSipMessage(serializeSipMessage(m));
    expect(again.headers.get('Content-Length')).toBe('7');
    expect(again.body.toString()).toBe('changed');
    const h = new SipHeaders([['Via', 'SIP/2.0/UDP a;branch=z9hG4bK1']]);
    expect(serializeSipMessage({ kind: 'response', status: 200, reason: 'OK', headers: h, body: Buffer.alloc(0) }).toString()).toBe('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n');
    refused(() => serializeSipMessage({ kind: 'request', method: 'BAD METHOD', uri: 'sip:a', headers: h, body: Buffer.alloc(0) }));
  });

  it('isKeepAlive spots CRLF pings only', () => {
    expect(isKeepAlive(Buffer.from('\r\n\r\n'))).toBe(true);
    expect(isKeepAlive(Buffer.from('\r\n'))).toBe(true);
    expect(isKeepAlive(Buffer.from('\r\nX'))).toBe(false);
    expect(isKeepAlive(Buffer.alloc(0))).toBe(false);
  });
});

describe('header values', () => {
  it('parseNameAddr reads display names, URIs and params', () => {
    expect(parseNameAddr('"Alice \\"A\\" Liddell" <sip:alice@atlanta.com>;tag=1928301774')).toEqual({ display: 'Alice "A" Liddell', uri: 'sip:alice@atlanta.com', params: { tag: '1928301774' } });
    expect(parseNameAddr('Bob Smith <sip:bob@biloxi.com;transport=tcp>')).toEqual({ display: 'Bob Smith', uri: 'sip:bob@biloxi.com;transport=tcp', params: {} });
    // Without <>, parameters belong to the header (RFC 3261 section 20.10).
    expect(parseNameAddr('sip:bob@biloxi.com;tag=abc;Expires=60;lr')).toEqual({ uri: 'sip:bob@biloxi.com', params: { tag: 'abc', expires: '60', lr: '' } });
    expect(parseNameAddr('<tel:+15551234567>')).toEqual({ uri: 'tel:+15551234567', params: {} });
    for (const bad of ['', '"unterminated <sip:a@b>', '<sip:a@b', 'noscheme', '<sip:a@b> junk', '<sip:a@b>;tag=1;tag=2', '<sip:a@b>;=x', 'sip:a@b,c']) refused(() => parseNameAddr(bad));
    // A parameter named __proto__ stays data.
    const p = parseNameAddr('<sip:a@b>;__proto__=x').params;
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(p['__proto__']).toBe('x');
  });

  it('parseVia reads transport, sent-by and params', () => {
    expect(parseVia('SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds')).toEqual({ transport: 'UDP', host: 'pc33.atlanta.com', params: { branch: 'z9hG4bK776asdhds' } });
    expect(parseVia('SIP / 2.0 / tcp 192.0.2.1:5061 ;branch=z9hG4bKx;received=203.0.113.5;rport=40000')).toEqual({ transport: 'TCP', host: '192.0.2.1', port: 5061, params: { branch: 'z9hG4bKx', received: '203.0.113.5', rport: '40000' } });
    expect(parseVia('SIP/2.0/UDP [2001:db8::9]:5060;rport;branch=z9hG4bKy')).toEqual({ transport: 'UDP', host: '2001:db8::9', port: 5060, params: { rport: '', branch: 'z9hG4bKy' } });
    for (const bad of ['SIP/2.0/UDP', 'HTTP/1.1/TCP a', 'SIP/2.0/UDP a:99999', 'SIP/2.0/UDP [zz::1]', 'SIP/2.0/UDP a_b.com', 'SIP/2.0/UDP a;rport=x']) refused(() => parseVia(bad));
  });

  it('parseCSeq reads number and method', () => {
    expect(parseCSeq(' 4711   INVITE ')).toEqual({ seq: 4711, method: 'INVITE' });
    for (const bad of ['INVITE', '1', '-1 INVITE', '2147483648 INVITE', '1 IN VITE']) refused(() => parseCSeq(bad));
  });
});

describe('buildResponse', () => {
  const invite = (): SipRequest => {
    const r = parseSipMessage(Buffer.from(INVITE)) as SipRequest;
    r.headers.add('Via', 'SIP/2.0/UDP proxy.example;branch=z9hG4bKp1, SIP/2.0/UDP edge.example;branch=z9hG4bKp0');
    r.headers.add('Record-Route', '<sip:proxy.example;lr>');
    r.headers.add('Timestamp', '54');
    return r;
  };

  it('copies Via (all, in order), From, To + tag, Call-ID, CSeq (RFC 3261 8.2.6)', () => {
    const r = buildResponse(invite(), 200, 'OK', { toTag: 'srs1', headers: [['Contact', '<sip:srs@192.0.2.9>']], body: Buffer.from('v=0\r\n'), contentType: 'application/sdp' });
    expect(r.headers.getAll('Via')).toEqual(['SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds', 'SIP/2.0/UDP proxy.example;branch=z9hG4bKp1', 'SIP/2.0/UDP edge.example;branch=z9hG4bKp0']);
    expect(r.headers.get('From')).toBe('Alice <sip:alice@atlanta.com>;tag=1928301774');
    expect(parseNameAddr(r.headers.get('To')!).params['tag']).toBe('srs1');
    expect(r.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.atlanta.com');
    expect(r.headers.get('CSeq')).toBe('314159 INVITE');
    expect(r.headers.get('Record-Route')).toBe('<sip:proxy.example;lr>');
    expect(r.headers.get('Timestamp')).toBeUndefined();
    expect(r.headers.get('Content-Type')).toBe('application/sdp');
    const back = parseSipMessage(serializeSipMessage(r)) as SipResponse;
    expect(back.status).toBe(200);
    expect(back.body.toString()).toBe('v=0\r\n');
    expect(back.headers.get('Content-Length')).toBe('5');
  });

  it('100 gets no tag and copies Timestamp; others get a random tag; an existing tag stays', () => {
    const trying = buildResponse(invite(), 100, 'Trying');
    expect(parseNameAddr(trying.headers.get('To')!).params['tag']).toBeUndefined();
    expect(trying.headers.get('Timestamp')).toBe('54');
    expect(trying.headers.get('Record-Route')).toBeUndefined();
    const busy = buildResponse(invite(), 486, 'Busy Here');
    expect(parseNameAddr(busy.headers.get('To')!).params['tag']).toMatch(/^[0-9a-f]{16}$/);
    expect(busy.headers.get('Record-Route')).toBeUndefined();
    const inDialog = parseSipMessage(Buffer.from(req([], 'BYE').toString().replace('To: <sip:srs@example.com>', 'To: <sip:srs@example.com>;tag=mine'))) as SipRequest;
    expect(buildResponse(inDialog, 200, 'OK', { toTag: 'other' }).headers.get('To')).toBe('<sip:srs@example.com>;tag=mine');
    refused(() => buildResponse(invite(), 700, 'X'));
    refused(() => buildResponse(invite(), 200, 'OK\r\nX: y'));
    refused(() => buildResponse(invite(), 200, 'OK', { toTag: 'a b' }));
  });
});

describe('SipStreamFramer', () => {
  const msgs = [Buffer.from(INVITE), req(['Content-Length: 0']), req(['Content-Length: 5'], 'MESSAGE', 'hello')];
  const stream = Buffer.concat([Buffer.from('\r\n\r\n'), msgs[0]!, Buffer.from('\r\n\r\n\r\n\r\n'), msgs[1]!, msgs[2]!]);

  it('frames messages in one chunk or byte by byte, skipping keep-alives', () => {
    for (const size of [stream.length, 1, 7, 100]) {
      const f = new SipStreamFramer();
      const got: Buffer[] = [];
      let pings = 0;
      f.on('message', (m) => got.push(m));
      f.on('keepalive', () => pings++);
      const returned: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) returned.push(...f.push(stream.subarray(i, i + size)));
      expect(got.map(String), `chunk ${size}`).toEqual(msgs.map(String));
      expect(returned.map(String)).toEqual(msgs.map(String));
      expect(pings).toBe(3);
      expect(f.buffered).toBe(0);
      expect(parseSipMessage(got[2]!).body.toString()).toBe('hello');
    }
  });

  it('a missing Content-Length breaks the stream (after the messages before it)', () => {
    const f = new SipStreamFramer();
    const got: Buffer[] = [];
    f.on('message', (m) => got.push(m));
    refused(() => f.push(Buffer.concat([msgs[1]!, req()])));
    expect(got).toHaveLength(1);
    expect(f.broken).toBe(true);
    refused(() => f.push(msgs[1]!));
  });

  it('refuses bad or conflicting Content-Length, oversize messages and buffers', () => {
    refused(() => new SipStreamFramer().push(req(['Content-Length: x'])));
    refused(() => new SipStreamFramer().push(req(['Content-Length: 1', 'l: 2'])));
    refused(() => new SipStreamFramer().push(req(['Content-Length: 70000'])));
    refused(() => new SipStreamFramer().push(Buffer.alloc(70_000, 0x41)));
    const f = new SipStreamFramer({ maxBufferedBytes: 1000 });
    refused(() => f.push(Buffer.concat([req(['Content-Length: 2000']), Buffer.alloc(1500)])));
    // A message the parser refuses still frames: the stream goes on.
    const g = new SipStreamFramer();
    const bad = Buffer.from(crlf(['OPTIONS nope SIP/2.0', 'Content-Length: 0', '', '']));
    expect(g.push(Buffer.concat([bad, msgs[1]!])).map(String)).toEqual([bad.toString(), msgs[1]!.toString()]);
    refused(() => parseSipMessage(bad));
  });
});
