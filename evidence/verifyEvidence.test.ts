/**
 * The offline verifier on real bundles (real audit chain code, real Ed25519 key, shipped model
 * manifests): a valid bundle passes; every single-byte change anywhere in the file fails with a
 * typed code and a position that holds the changed byte (property test over positions and bit
 * patterns); targeted tampering is named precisely; the CLI's exit codes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRecord } from '../events/AuditLog.js';
import { EvidenceKey } from '../events/EvidenceKey.js';
import { renderEvidence, type EvidenceBundle } from './EvidenceBundle.js';
import { sampleEvidence, shippedManifest, type SampleEvidence } from './testing/sampleEvidence.js';
import { verifyEvidence, type EvidenceProblem, type EvidenceReport } from './verifyEvidence.js';
import { main as cli } from './cli.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function problem(r: EvidenceReport): EvidenceProblem {
  if (r.ok) throw new Error('expected the bundle to fail verification');
  return r.problem;
}

/** Byte span of `needle` (its n-th occurrence) in the file. */
function byteIndexOf(text: string, needle: string, from = 0): number {
  const i = text.indexOf(needle, from);
  if (i < 0) throw new Error(`no ${needle}`);
  return Buffer.byteLength(text.slice(0, i));
}

/** Byte spans of every event object in a rendered bundle. */
function eventSpans(text: string, events: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let at = text.indexOf('"events": [');
  for (let i = 0; i < events; i++) {
    const start = text.indexOf('\n    {', at) + 5;
    const end = text.indexOf('\n    }', start) + 6;
    out.push({ start: Buffer.byteLength(text.slice(0, start)), end: Buffer.byteLength(text.slice(0, end)) });
    at = end;
  }
  return out;
}

/**
 * The contract of a reported position for a file whose byte `p` was changed:
 *  'byte'  -> exactly p; 'range' -> p inside [byteOffset, byteEnd);
 *  'parse' -> reading stopped at or after p (within 3 bytes for broken UTF-8, which can be found one sequence early).
 *             How far after is not bounded: a space before an event's "{" turned into "[" opens an array the parser
 *             only finds unbalanced at the end of the events list, up to the whole file later (fast-check found
 *             byte 1307 -> "[" reported at byte 18848, seed 51354505).
 */
function expectLocates(p: number, e: EvidenceProblem): void {
  expect(e.code).toMatch(/^ERR_EVIDENCE_/);
  if (e.precision === 'byte') expect(e.byteOffset).toBe(p);
  else if (e.precision === 'range') expect(e.byteOffset <= p && p < e.byteEnd, `${p} in [${e.byteOffset}, ${e.byteEnd}) ${e.code}`).toBe(true);
  else if (e.code === 'ERR_EVIDENCE_ENCODING') expect(Math.abs(e.byteOffset - p)).toBeLessThanOrEqual(3);
  else {
    expect(e.byteOffset).toBeGreaterThanOrEqual(p);
  }
}

describe('verifyEvidence', () => {
  let s: SampleEvidence;
  let bytes: Buffer;
  let spans: { start: number; end: number }[];

  beforeAll(() => {
    s = sampleEvidence();
    bytes = Buffer.from(s.text);
    spans = eventSpans(s.text, s.events.length);
  });

  it('accepts an untouched bundle and reports what it checked', () => {
    const r = verifyEvidence(bytes, { expectedKeyFingerprint: s.key.fingerprint });
    expect(r).toMatchObject({
      ok: true,
      summary: {
        roomId: 'boardroom',
        callId: 'c-sample-0001',
        events: 21,
        headHash: s.events.at(-1)!.audit!.hash,
        keyFingerprint: s.key.fingerprint,
        anchors: { total: 3, verified: 3, otherKey: 0, lastAnchoredIndex: 20, callEndCoversHead: true },
      },
    });
    if (r.ok) expect(r.warnings).toEqual([]);
    // The bundle is self-contained: no media, the shipped manifests with their checksums, the verdict thresholds.
    expect(Object.keys(s.bundle).sort()).toEqual(['anchors', 'call', 'chain', 'events', 'exportedAt', 'exporter', 'format', 'models', 'seal', 'settings', 'version']);
    const voice = shippedManifest('voice-antispoof');
    expect(s.bundle.models.find((m) => m.id === 'voice-antispoof')).toMatchObject({ version: voice.version, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), verdictWeight: voice.verdict?.weight, versionsInCall: [voice.version] });
    expect(s.bundle.settings).toMatchObject({ verdict: { machine: { suspiciousEnter: 0.6, deepfakeEnter: 0.85 } }, challenges: { maxPerCall: 6 } });
  });

  it('fails on any single changed byte and reports where it is (property, every part of the file)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (p, mask) => {
        const b = Buffer.from(bytes);
        b[p] = b[p]! ^ mask;
        const e = problem(verifyEvidence(b));
        expectLocates(p, e);
        // Inside an event, a located problem names that event.
        const inEvent = spans.findIndex((sp) => sp.start <= p && p < sp.end);
        if (inEvent >= 0 && e.precision !== 'parse' && e.section === 'events') expect(e.eventIndex).toBe(inEvent);
      }),
      { numRuns: 400 },
    );
  });

  it('a space before the first event turned into "[" fails as broken JSON, found where the structure breaks', () => {
    const p = spans[0]!.start - 1;
    expect(bytes[p]).toBe(0x20);
    const b = Buffer.from(bytes);
    b[p] = 0x5b;
    const e = problem(verifyEvidence(b));
    expect(e).toMatchObject({ code: 'ERR_EVIDENCE_JSON', precision: 'parse' });
    expectLocates(p, e);
    expect(e.byteOffset).toBeGreaterThan(spans.at(-1)!.start);
  });

  it('fails on a changed byte at positions sampled across the whole file', () => {
    for (let p = 0; p < bytes.length; p += 53) {
      for (const mask of [0x01, 0x20]) {
        const b = Buffer.from(bytes);
        b[p] = b[p]! ^ mask;
        expectLocates(p, problem(verifyEvidence(b)));
      }
    }
  });

  it('accepts no other spelling of the same signature, and locates a property name turned into a number', () => {
    // Base64 of 64 bytes has 4 spare bits in its last character: a different character can decode to the same bytes.
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sig = s.bundle.seal.signature;
    const i = b64.indexOf(sig[85]!);
    const twin = sig.slice(0, 85) + b64[(i & 0x30) | ((i + 1) & 0x0f)] + '==';
    expect(Buffer.from(twin, 'base64')).toEqual(Buffer.from(sig, 'base64'));
    const at = byteIndexOf(s.text, sig) + 85;
    const e = problem(verifyEvidence(s.text.replace(sig, twin)));
    expect(e).toMatchObject({ code: 'ERR_EVIDENCE_SIGNATURE', section: 'seal' });
    expectLocates(at, e);
    // "a" -> "4": JavaScript prints integer-like keys first, so the layout differs before the change.
    const key = byteIndexOf(s.text, '"a": ') + 1;
    const b = Buffer.from(bytes);
    b[key] = '4'.charCodeAt(0);
    const k = problem(verifyEvidence(b));
    expect(k).toMatchObject({ code: 'ERR_EVIDENCE_FORM', precision: 'range', section: 'models' });
    expectLocates(key, k);
  });

  it('names a changed event by index and byte range, and a changed stored hash by its exact byte', () => {
    const at = byteIndexOf(s.text, '"windowSeq": 2,');
    const b = Buffer.from(bytes);
    b[at + '"windowSeq": '.length] = '7'.charCodeAt(0);
    const e = problem(verifyEvidence(b));
    expect(e).toMatchObject({ code: 'ERR_EVIDENCE_CHAIN', precision: 'range', section: 'events', eventIndex: 6 });
    expect(e.byteOffset).toBe(spans[6]!.start);
    expect(e.byteEnd).toBe(spans[6]!.end);

    const hash = s.events[4]!.audit!.hash;
    const h = byteIndexOf(s.text, `"hash": "${hash}"`) + '"hash": "'.length + 10;
    const c = Buffer.from(bytes);
    c[h] = c[h] === 0x61 ? 0x62 : 0x61;
    expect(problem(verifyEvidence(c))).toMatchObject({ code: 'ERR_EVIDENCE_CHAIN', precision: 'byte', byteOffset: h, eventIndex: 4, path: '/events/4/audit/hash' });
  });

  it('reports a layout-only change (whitespace) at its byte, and accepts a re-indented file with layout off', () => {
    const at = byteIndexOf(s.text, '\n  "call"') + 1;
    const b = Buffer.from(bytes);
    b[at] = 0x09;
    expect(problem(verifyEvidence(b))).toMatchObject({ code: 'ERR_EVIDENCE_FORM', precision: 'byte', byteOffset: at });
    const reindented = JSON.stringify(JSON.parse(s.text), null, 4);
    expect(problem(verifyEvidence(reindented)).code).toBe('ERR_EVIDENCE_FORM');
    expect(verifyEvidence(reindented, { layout: false }).ok).toBe(true);
  });

  it('names bad UTF-8, broken JSON, a foreign format and a missing section', () => {
    const b = Buffer.from(bytes);
    const z = byteIndexOf(s.text, 'Zoë');
    b[z + 2] = 0xff;
    expect(problem(verifyEvidence(b))).toMatchObject({ code: 'ERR_EVIDENCE_ENCODING', byteOffset: z + 2 });
    expect(problem(verifyEvidence(s.text.slice(0, 1000)))).toMatchObject({ code: 'ERR_EVIDENCE_JSON', precision: 'parse' });
    expect(problem(verifyEvidence(renderEvidence({ hello: 'world' })))).toMatchObject({ code: 'ERR_EVIDENCE_FORMAT' });
    const noSettings = clone(s.bundle) as Partial<EvidenceBundle>;
    delete noSettings.settings;
    expect(problem(verifyEvidence(renderEvidence(noSettings)))).toMatchObject({ code: 'ERR_EVIDENCE_FORMAT', message: expect.stringContaining('settings') });
    expect(problem(verifyEvidence(renderEvidence({ ...clone(s.bundle), version: 2 })))).toMatchObject({ code: 'ERR_EVIDENCE_FORMAT', path: '/version' });
  });

  it('detects sections changed without re-sealing, and a seal made with another key than expected', () => {
    const settings = clone(s.bundle);
    (settings.settings['verdict'] as { machine: { suspiciousEnter: number } }).machine.suspiciousEnter = 0.9;
    expect(problem(verifyEvidence(renderEvidence(settings)))).toMatchObject({ code: 'ERR_EVIDENCE_DIGEST', section: 'settings' });
    const models = clone(s.bundle);
    models.models[0]!.sha256 = '0'.repeat(64);
    expect(problem(verifyEvidence(renderEvidence(models)))).toMatchObject({ code: 'ERR_EVIDENCE_DIGEST', section: 'models' });
    const other = EvidenceKey.loadOrCreate();
    expect(problem(verifyEvidence(bytes, { expectedKeyFingerprint: other.fingerprint }))).toMatchObject({ code: 'ERR_EVIDENCE_KEY', path: '/seal/keyFingerprint' });
  });

  it('detects removed, reordered and re-hashed events', () => {
    const removed = clone(s.bundle);
    removed.events.splice(3, 1);
    expect(problem(verifyEvidence(renderEvidence(removed)))).toMatchObject({ code: 'ERR_EVIDENCE_CHAIN', eventIndex: 3, path: '/events/3/audit/index' });
    const swapped = clone(s.bundle);
    [swapped.events[7], swapped.events[8]] = [swapped.events[8]!, swapped.events[7]!];
    expect(problem(verifyEvidence(renderEvidence(swapped)))).toMatchObject({ code: 'ERR_EVIDENCE_CHAIN', eventIndex: 7 });
    // Changed and re-hashed: the next event's link no longer matches.
    const rehashed = clone(s.bundle);
    const ev = rehashed.events[5]!;
    (ev.payload as { pFake: number }).pFake = 0.99;
    ev.audit!.hash = hashRecord(ev);
    expect(problem(verifyEvidence(renderEvidence(rehashed)))).toMatchObject({ code: 'ERR_EVIDENCE_CHAIN', eventIndex: 6, path: '/events/6/audit/prevHash' });
    // A schema-invalid event is named with the field.
    const invalid = clone(s.bundle);
    (invalid.events[2]!.payload as { pFake: number }).pFake = 7;
    expect(problem(verifyEvidence(renderEvidence(invalid)))).toMatchObject({ code: 'ERR_EVIDENCE_SCHEMA', eventIndex: 2, path: '/events/2/payload/pFake' });
  });

  it('catches a chain rewritten and re-sealed after the call: the anchors written during the call disagree', () => {
    const rewritten = sampleEvidence({ key: s.key, rewriteEvent: 3 });
    const e = problem(verifyEvidence(rewritten.text));
    expect(e).toMatchObject({ code: 'ERR_EVIDENCE_ANCHOR', section: 'anchors', anchorIndex: 0, path: '/anchors/0/hash' });
    expect(e.message).toContain('rewritten');
  });

  describe('npm run verify-evidence (evidence/cli.ts)', () => {
    let dir: string;
    const run = (args: string[]) => {
      let out = '';
      let err = '';
      const code = cli(args, (t) => (out += t), (t) => (err += t));
      return { code, out, err };
    };
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-evidence-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('exits 0 for a valid file, 1 with the code and position for a changed byte, 2 when it cannot read', () => {
      const good = path.join(dir, 'good.json');
      fs.writeFileSync(good, bytes);
      const ok = run([good, '--expect-key', s.key.fingerprint]);
      expect(ok.code).toBe(0);
      expect(ok.out).toContain('VALID');

      const bad = path.join(dir, 'bad.json');
      const b = Buffer.from(bytes);
      const at = byteIndexOf(s.text, '"windowSeq": 2,') + '"windowSeq": '.length;
      b[at] = '9'.charCodeAt(0);
      fs.writeFileSync(bad, b);
      const ko = run([bad]);
      expect(ko.code).toBe(1);
      expect(ko.err).toContain('ERR_EVIDENCE_CHAIN');
      expect(ko.err).toContain(`at byte ${spans[6]!.start}`);
      expect(ko.err).toContain('event 6');
      const json = run([bad, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.out)).toMatchObject({ ok: false, problem: { code: 'ERR_EVIDENCE_CHAIN', eventIndex: 6 } });

      expect(run([path.join(dir, 'missing.json')]).code).toBe(2);
      expect(run([]).code).toBe(2);
      expect(run([good, '--expect-key', 'nope']).code).toBe(2);
    });
  });
});
