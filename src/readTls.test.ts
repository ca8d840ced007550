import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { readTls } from './readTls.js';
import { makeTestCert, type TestCert } from '../test/helpers/tls.js';

describe('readTls (DFD_TLS_CERT, DFD_TLS_KEY)', () => {
  let cert: TestCert;
  let other: TestCert;
  beforeAll(() => {
    cert = makeTestCert();
    other = makeTestCert();
  });
  afterAll(() => {
    for (const c of [cert, other]) if (c) fs.rmSync(c.dir, { recursive: true, force: true });
  });

  it('reads a matching pair, and nothing when neither is set', () => {
    const tls = readTls({ tlsCert: cert.certFile, tlsKey: cert.keyFile });
    expect(tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(readTls({ tlsCert: '', tlsKey: '' })).toBeUndefined();
  });

  it('refuses a half, unreadable, non-PEM or mismatched setting at start with ERR_CONFIG, never echoing the key', () => {
    expect(() => readTls({ tlsCert: cert.certFile, tlsKey: '' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => readTls({ tlsCert: '/nonexistent/cert.pem', tlsKey: cert.keyFile })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => readTls({ tlsCert: cert.keyFile, tlsKey: cert.keyFile })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    let err: unknown;
    try {
      readTls({ tlsCert: cert.certFile, tlsKey: other.keyFile });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG' });
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain('PRIVATE KEY');
  });
});
