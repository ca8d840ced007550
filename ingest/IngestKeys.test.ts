import { describe, expect, it } from 'vitest';
import { IngestKeys } from './IngestKeys.js';

describe('IngestKeys', () => {
  it('verifies tenant keys and refuses wrong, missing and non-string keys with ERR_INGEST_AUTH', () => {
    const keys = new IngestKeys({ keys: ['acme=0123456789abcdef0123', 'globex = fedcba9876543210fedc'] });
    expect(keys.verify('0123456789abcdef0123')).toEqual({ tenant: 'acme' });
    expect(keys.verify('fedcba9876543210fedc')).toEqual({ tenant: 'globex' });
    for (const bad of ['0123456789abcdef012', '', undefined, 42, 'x'.repeat(300)]) expect(() => keys.verify(bad)).toThrow(expect.objectContaining({ code: 'ERR_INGEST_AUTH' }));
    expect(keys.demoKey).toBeUndefined();
  });

  it('refuses short keys and malformed entries as configuration errors', () => {
    expect(() => new IngestKeys({ keys: ['acme=short'] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => new IngestKeys({ keys: ['no-equals-sign-here-at-all'] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => new IngestKeys({ keys: ['bad tenant=0123456789abcdef0123'] })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('demo mode: one key for tenant "demo", stable for a given secret; none configured and no demo: nothing passes', () => {
    const a = new IngestKeys({ demo: true, secret: 's3cret' });
    const b = new IngestKeys({ demo: true, secret: 's3cret' });
    expect(a.demoKey).toBeDefined();
    expect(a.demoKey).toBe(b.demoKey);
    expect(a.verify(a.demoKey)).toEqual({ tenant: 'demo' });
    expect(new IngestKeys({ demo: true, secret: 'other' }).demoKey).not.toBe(a.demoKey);
    const off = new IngestKeys({ demo: false });
    expect(off.enabled).toBe(false);
    expect(() => off.verify(a.demoKey)).toThrow(expect.objectContaining({ code: 'ERR_INGEST_AUTH' }));
    // Configured keys replace the demo key.
    expect(new IngestKeys({ demo: true, keys: ['acme=0123456789abcdef0123'] }).demoKey).toBeUndefined();
  });
});
