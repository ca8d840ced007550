/** ensureStream against a fake JetStream manager: create, update, and a failure that is not "not found". */
import { describe, expect, it } from 'vitest';
import type { JetStreamManager } from 'nats';
import { createLogger } from '../kernel/log.js';
import { ensureStream, type EnsuredStreamConfig } from './ensureStream.js';

const log = createLogger('events.test');
const cfg: EnsuredStreamConfig = { name: 'DFD_TEST', subjects: ['dfd_test.>'] };

/** A JetStreamManager whose streams.info fails with `infoError` (or succeeds); records the calls. */
function fakeJsm(infoError?: Error & { code?: string }): { jsm: JetStreamManager; calls: string[] } {
  const calls: string[] = [];
  const streams = {
    info: async (name: string) => {
      calls.push(`info ${name}`);
      if (infoError) throw infoError;
      return {};
    },
    update: async (name: string) => {
      calls.push(`update ${name}`);
      return {};
    },
    add: async (c: EnsuredStreamConfig) => {
      calls.push(`add ${c.name}`);
      return {};
    },
  };
  return { jsm: { streams } as unknown as JetStreamManager, calls };
}

describe('ensureStream', () => {
  it('updates a stream that exists', async () => {
    const { jsm, calls } = fakeJsm();
    await ensureStream(jsm, cfg, 'test', log);
    expect(calls).toEqual(['info DFD_TEST', 'update DFD_TEST']);
  });

  it('creates a stream that does not exist (code 404 or "not found")', async () => {
    for (const err of [Object.assign(new Error('stream missing'), { code: '404' }), new Error('stream not found')]) {
      const { jsm, calls } = fakeJsm(err);
      await ensureStream(jsm, cfg, 'test', log);
      expect(calls).toEqual(['info DFD_TEST', 'add DFD_TEST']);
    }
  });

  it('any other failure is ERR_CONFIG naming the stream, with the cause', async () => {
    const cause = Object.assign(new Error('permission denied'), { code: '403' });
    const { jsm, calls } = fakeJsm(cause);
    await expect(ensureStream(jsm, cfg, 'test', log)).rejects.toMatchObject({ code: 'ERR_CONFIG', details: { stream: 'DFD_TEST' }, cause });
    expect(calls).toEqual(['info DFD_TEST']);
  });
});
