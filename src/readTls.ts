/**
 * The operator's TLS certificate and key (DFD_TLS_CERT, DFD_TLS_KEY), read and checked at
 * start-up: both or neither, readable PEM files, and a key that matches the certificate.
 * Anything else stops the start with ERR_CONFIG naming the setting (never the key's bytes).
 */
import fs from 'node:fs';
import tls from 'node:tls';
import { DfdError } from '../kernel/errors.js';
import type { Config } from './config.js';

export function readTls(config: Pick<Config, 'tlsCert' | 'tlsKey'>): { cert: Buffer; key: Buffer } | undefined {
  const { tlsCert, tlsKey } = config;
  if (!tlsCert && !tlsKey) return undefined;
  if (!tlsCert || !tlsKey) throw new DfdError('ERR_CONFIG', 'DFD_TLS_CERT and DFD_TLS_KEY go together: set both or neither');
  const read = (file: string, setting: string, marker: RegExp): Buffer => {
    let b: Buffer;
    try {
      b = fs.readFileSync(file);
    } catch (e) {
      throw new DfdError('ERR_CONFIG', `${setting} cannot be read`, { setting, file, reason: (e as NodeJS.ErrnoException).code ?? 'unknown' });
    }
    if (!marker.test(b.toString('latin1'))) throw new DfdError('ERR_CONFIG', `${setting} is not a PEM file of the expected kind`, { setting, file });
    return b;
  };
  const cert = read(tlsCert, 'DFD_TLS_CERT', /-----BEGIN CERTIFICATE-----/);
  const key = read(tlsKey, 'DFD_TLS_KEY', /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/);
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    throw new DfdError('ERR_CONFIG', 'DFD_TLS_CERT and DFD_TLS_KEY do not form a usable pair (key mismatch or encrypted key)', {
      reason: (e as { code?: string }).code ?? 'unknown',
    });
  }
  return { cert, key };
}
