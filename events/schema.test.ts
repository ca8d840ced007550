import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { canonicalJson } from './canonicalJson.js';
import { renderSchemas, schemasDir } from './exportSchemas.js';
import { assertEvent, makeEvent, parseEvent, subjectFilter, subjectFor, type DfdEvent } from './schema.js';

const base = { roomId: 'room-1', peerId: 'peer_1', displayName: 'Alice', models: [{ id: 'aasist-l', version: '1.0.0' }] };

function samples(): DfdEvent[] {
  return [
    makeEvent('score', base, { detector: 'voice-antispoof', pFake: 0.2, evidence: 3.5, windowSeq: 7, queueMs: 4, inferenceMs: 480 }),
    makeEvent('verdict', { ...base, seq: 3 }, {
      state: 'suspicious',
      pFake: 0.61,
      confidence: 0.7,
      evidence: { speechSeconds: 12, faceFrames: 140 },
      quality: { packetLoss: 0.01, concealed: 0, bitrate: 32000, bandwidth: 'WB', frameRate: 14.8, faceSize: 120 },
      dropped: { audioWindows: 1, faceWindows: 0 },
      reason: 'voice detector above threshold',
    }),
    makeEvent('challenge', base, { challengeId: 'c1', challengeType: 'turn-head', modality: 'video', phase: 'outcome', outcome: 'passed', measurements: { yawDeg: 31.5 } }),
    makeEvent('quality', base, { packetLoss: 0.02, concealed: 0.01, bitrate: 24000, bandwidth: 'FB', frameRate: 15, faceSize: 96 }),
    makeEvent('decision', base, { decision: 'confirm', tagState: 'deepfake-likely', operator: 'op-7', note: 'confirmed by call' }),
  ];
}

describe('event schema', () => {
  it('accepts one valid event of every type and round-trips it through the consumer parser', () => {
    for (const ev of samples()) {
      expect(() => assertEvent(ev)).not.toThrow();
      expect(parseEvent(JSON.stringify(ev))).toEqual(ev);
    }
  });

  it('rejects invalid events with ERR_BAD_REQUEST and a path to the problem', () => {
    const [score, verdict] = samples() as [DfdEvent, DfdEvent];
    const cases: [unknown, string][] = [
      [{ ...verdict, payload: { ...verdict.payload, state: 'fake' } }, '/payload/state'],
      [{ ...score, payload: { ...score.payload, pFake: 1.5 } }, '/payload/pFake'],
      [{ ...score, schemaVersion: 2 }, '/schemaVersion'],
      [{ ...score, id: 'not-a-uuid' }, '/id'],
      [{ ...score, ts: 'yesterday' }, '/ts'],
      [{ ...score, unexpected: true }, '/unexpected'],
    ];
    for (const [value, p] of cases) {
      let err: unknown;
      try {
        assertEvent(value);
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err, 'ERR_BAD_REQUEST')).toBe(true);
      expect((err as { details: { path: string } }).details.path).toBe(p);
    }
  });

  it('lets consumers accept unknown extra fields (forward compatible) but not bad JSON', () => {
    const [score] = samples() as [DfdEvent];
    expect(parseEvent(JSON.stringify({ ...score, futureField: 1 })).id).toBe(score.id);
    expect(() => parseEvent('{nope')).toThrow(expect.objectContaining({ code: 'ERR_BAD_JSON' }) as Error);
    expect(() => parseEvent('x'.repeat(100), 50)).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }) as Error);
  });

  it('builds subjects only from safe tokens', () => {
    expect(subjectFor('dfd.v1', { roomId: 'r1', peerId: 'p-2', type: 'verdict' })).toBe('dfd.v1.r1.p-2.verdict');
    expect(subjectFilter('dfd.v1', { roomId: 'r1' })).toBe('dfd.v1.r1.*.*');
    for (const bad of ['a.b', '*', '>', 'a b', '', 'é', 'x'.repeat(129)]) {
      expect(() => subjectFor('dfd.v1', { roomId: bad, peerId: 'p', type: 'score' })).toThrow(expect.objectContaining({ code: 'ERR_BAD_REQUEST' }) as Error);
      expect(() => subjectFor('dfd.v1', { roomId: 'r', peerId: bad, type: 'score' })).toThrow(expect.objectContaining({ code: 'ERR_BAD_REQUEST' }) as Error);
    }
    expect(() => subjectFor('dfd.>', { roomId: 'r', peerId: 'p', type: 'score' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }) as Error);
  });

  it('property: any room/peer id either yields a 5-token subject or is rejected', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (room, peer) => {
        try {
          const s = subjectFor('dfd.v1', { roomId: room, peerId: peer, type: 'score' });
          expect(s.split('.')).toEqual(['dfd', 'v1', room, peer, 'score']);
        } catch (e) {
          expect(isDfdError(e, 'ERR_BAD_REQUEST')).toBe(true);
        }
      }),
    );
  });

  it('committed events/schemas/*.json equal the generated schemas', () => {
    const generated = renderSchemas();
    const committed = fs.readdirSync(schemasDir).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual(Object.keys(generated).sort());
    for (const [name, text] of Object.entries(generated)) expect(fs.readFileSync(path.join(schemasDir, name), 'utf8')).toBe(text);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level, drops undefined properties and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ s: 'é"\n', n: -0, f: 0.1 })).toBe('{"f":0.1,"n":0,"s":"é\\"\\n"}');
  });

  it('is independent of key insertion order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.boolean())), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(obj);
      }),
    );
  });

  it('rejects values JSON cannot represent faithfully', () => {
    for (const bad of [NaN, Infinity, new Date(0), [undefined], () => 1, 1n]) {
      expect(() => canonicalJson({ v: bad })).toThrow(expect.objectContaining({ code: 'ERR_BAD_REQUEST' }) as Error);
    }
  });
});
