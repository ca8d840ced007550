import { describe, expect, it } from 'vitest';
import { serialise } from './log.js';

describe('log field redaction', () => {
  it('never writes the value of a secret-named field, at any depth', () => {
    expect(serialise('hunter2', 'password')).toBe('[redacted]');
    expect(serialise({ user: 'op', pass: 'x', nested: { apiKey: 'k', token: 't', tokenTtlSec: 60 } }, 'creds')).toEqual({
      user: 'op',
      pass: '[redacted]',
      nested: { apiKey: '[redacted]', token: '[redacted]', tokenTtlSec: 60 },
    });
    expect(serialise(['a'], 'authorization')).toEqual(['[redacted]']);
  });

  it('masks query-string keys and bearer credentials inside strings and error messages', () => {
    expect(serialise('wss://h/v1/ingest/twilio?key=abc.def&x=1', 'url')).toBe('wss://h/v1/ingest/twilio?key=[redacted]&x=1');
    expect(serialise('header Bearer eyJhbGciOi.x.y seen', 'note')).toBe('header Bearer [redacted] seen');
    const e = serialise(new Error('connect failed for /ws?token=SECRET123'), 'err') as { message: string };
    expect(e.message).toBe('connect failed for /ws?token=[redacted]');
    expect(JSON.stringify(e)).not.toContain('SECRET123');
  });

  it('leaves ordinary fields alone', () => {
    expect(serialise('room-1', 'roomId')).toBe('room-1');
    expect(serialise(3, 'tokens')).toBe(3);
  });
});
