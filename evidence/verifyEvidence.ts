/**
 * Offline verification of an evidence bundle file (docs/evidence.md). Needs nothing but the
 * file: no service, no NATS, no network.
 *
 * Checks, in order, stopping at the first problem:
 *   1. the bytes are UTF-8 and JSON;
 *   2. the file is exactly `JSON.stringify(bundle, null, 2) + "\n"` (any changed byte that
 *      leaves valid JSON with the same meaning, e.g. whitespace, is caught here);
 *   3. the bundle's shape (format, version, sections, seal fields);
 *   4. the seal: public key and fingerprint agree, the Ed25519 signature over the section
 *      digests verifies, and (optionally) the key is the one the recipient expects;
 *   5. the digests of the header, call, models and settings sections, and of the chain summary;
 *   6. every event: schema-valid (events/schemas), of this call, index i, linked to event i-1
 *      by prevHash, and its hash recomputes (sha256 of the canonical JSON, as AuditLog does);
 *      the last hash is the sealed head and the count the sealed count;
 *   7. every anchor signed by the bundle's key matches the event it anchors; then the anchors digest.
 *
 * A problem carries a typed code (ERR_EVIDENCE_*) and where it is, in bytes from the start of
 * the file, with line and column, the section, and the event or anchor index:
 *   precision 'byte'  : the changed byte is at byteOffset (a hash or digest that no longer matches);
 *   precision 'range' : the change is inside [byteOffset, byteEnd) (an event, an anchor, a field, a section);
 *   precision 'parse' : reading stopped at byteOffset; the change is there or shortly before it
 *                       (at most one line up; for bad UTF-8, within 3 bytes).
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DfdError, ErrorCodes, type ErrorCode } from '../kernel/errors.js';
import { GENESIS_HASH, hashRecord } from '../events/AuditLog.js';
import { AuditAnchorSchema, verifyAnchor, type AuditAnchor } from '../events/auditAnchor.js';
import { keyFingerprint, verifySignature } from '../events/EvidenceKey.js';
import { parseEvent, type DfdEvent } from '../events/schema.js';
import { CHAIN_ALGORITHM, EVIDENCE_FORMAT, EVIDENCE_VERSION, SEALED_SECTIONS, renderEvidence, sealSigningInput, sectionDigest, type SealedSection } from './EvidenceBundle.js';
import { JsonSyntaxError, LocatedJson, pointer, positionIn, type Span } from './LocatedJson.js';

export type EvidenceErrorCode = Extract<ErrorCode, `ERR_EVIDENCE_${string}`>;
export type Precision = 'byte' | 'range' | 'parse';

export interface EvidenceProblem {
  code: EvidenceErrorCode;
  message: string;
  precision: Precision;
  /** UTF-8 byte offset of the problem (see `precision`). */
  byteOffset: number;
  /** Byte offset just after the range that holds the change. */
  byteEnd: number;
  line: number;
  column: number;
  /** Top-level section: header, call, chain, events, anchors, models, settings, seal. */
  section?: string;
  eventIndex?: number;
  anchorIndex?: number;
  /** JSON Pointer of the value concerned. */
  path?: string;
}

export interface EvidenceSummary {
  format: typeof EVIDENCE_FORMAT;
  version: number;
  roomId: string;
  callId: string;
  exportedAt: string;
  events: number;
  headHash: string;
  keyFingerprint: string;
  anchors: {
    total: number;
    /** Anchors signed by the bundle's key, checked against the chain. */
    verified: number;
    /** Anchors signed by another key (e.g. before a key change): listed, not checked. */
    otherKey: number;
    /** Highest event index vouched for by a verified anchor (-1: none). */
    lastAnchoredIndex: number;
    /** A verified anchor written when the call ended covers the last event. */
    callEndCoversHead: boolean;
  };
}

export type EvidenceReport = { ok: true; summary: EvidenceSummary; warnings: string[] } | { ok: false; problem: EvidenceProblem };

export interface VerifyEvidenceOptions {
  /** `sha256:<hex>` the seal's key must have; empty accepts any key (compare `summary.keyFingerprint` yourself). */
  expectedKeyFingerprint: string;
  /** Check that the bytes are the canonical layout (step 2). Off: content only, for files re-indented by other tools. */
  layout: boolean;
  /** Larger inputs are refused. */
  maxBytes: number;
}

export const defaultVerifyEvidenceOptions: VerifyEvidenceOptions = { expectedKeyFingerprint: '', layout: true, maxBytes: 1 << 30 };

class Stop {
  constructor(readonly problem: EvidenceProblem) {}
}

const anchorCheck = TypeCompiler.Compile(AuditAnchorSchema);
const HEX64 = /^[0-9a-f]{64}$/;
const SIGNATURE_RE = /^[A-Za-z0-9+/]{86}==$/;
const FINGERPRINT_RE = /^sha256:[0-9a-f]{64}$/;
const TOP_LEVEL = ['format', 'version', 'exportedAt', 'exporter', 'call', 'chain', 'events', 'anchors', 'models', 'settings', 'seal'] as const;
const HEADER_FIELDS = ['format', 'version', 'exportedAt', 'exporter'] as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function message(code: EvidenceErrorCode, detail: string): string {
  return `${ErrorCodes[code].message}: ${detail}`;
}

/** Index of the first UTF-8 byte that does not start a valid sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    const c1 = b[i + 1]!;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

function firstDiff(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return n;
}

/** Verifies a bundle file's bytes (or its text). Never throws for bad input: problems come back in the report. */
export function verifyEvidence(input: Uint8Array | string, options: Partial<VerifyEvidenceOptions> = {}): EvidenceReport {
  const o: VerifyEvidenceOptions = { ...defaultVerifyEvidenceOptions, ...options };
  try {
    return new Verifier(o).run(input);
  } catch (e) {
    if (e instanceof Stop) return { ok: false, problem: e.problem };
    // Only canonicalJson can still refuse a value here (a number JSON cannot represent, with layout off).
    if (e instanceof DfdError) {
      const code = 'ERR_EVIDENCE_FORMAT';
      return { ok: false, problem: { code, message: message(code, e.message), precision: 'range', byteOffset: 0, byteEnd: typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength, line: 1, column: 1 } };
    }
    throw e;
  }
}

class Verifier {
  readonly #o: VerifyEvidenceOptions;
  #doc: LocatedJson | undefined;
  #text = '';

  constructor(options: VerifyEvidenceOptions) {
    this.#o = options;
  }

  // ---- locating ----------------------------------------------------------------------

  #stopAtChar(code: EvidenceErrorCode, detail: string, start: number, end: number, precision: Precision, where: Partial<EvidenceProblem> = {}): never {
    const p = positionIn(this.#text, start);
    const byteEnd = positionIn(this.#text, Math.max(end, start + 1)).byteOffset;
    throw new Stop({ code, message: message(code, detail), precision, byteOffset: p.byteOffset, byteEnd, line: p.line, column: p.column, ...where });
  }

  /** The span of a value, or of its closest ancestor that has one. */
  #span(path: string): Span {
    const doc = this.#doc!;
    for (let p = path; ; p = p.slice(0, p.lastIndexOf('/'))) {
      const s = doc.spans.get(p);
      if (s) return s;
      if (p === '') return { start: 0, end: this.#text.length };
    }
  }

  #where(path: string): Partial<EvidenceProblem> {
    const [, top, idx] = path.split('/');
    const section = top === undefined ? undefined : (HEADER_FIELDS as readonly string[]).includes(top) ? 'header' : top;
    const index = idx !== undefined && /^\d+$/.test(idx) ? Number(idx) : undefined;
    return {
      path,
      ...(section ? { section } : {}),
      ...(section === 'events' && index !== undefined ? { eventIndex: index } : {}),
      ...(section === 'anchors' && index !== undefined ? { anchorIndex: index } : {}),
    };
  }

  #stopAt(code: EvidenceErrorCode, detail: string, path: string, extra: Partial<EvidenceProblem> = {}): never {
    const s = this.#span(path);
    return this.#stopAtChar(code, detail, s.start, s.end, 'range', { ...this.#where(path), ...extra });
  }

  #stopAtSpans(code: EvidenceErrorCode, detail: string, paths: string[], where: Partial<EvidenceProblem>): never {
    const spans = paths.map((p) => this.#span(p));
    return this.#stopAtChar(code, detail, Math.min(...spans.map((s) => s.start)), Math.max(...spans.map((s) => s.end)), 'range', where);
  }

  /** A value with its property name when it is an object member (a schema may object to either). */
  #stopAtMember(code: EvidenceErrorCode, detail: string, path: string): never {
    const key = this.#doc!.keySpans.get(path);
    const value = this.#doc!.spans.get(path);
    if (!key || !value) return this.#stopAt(code, detail, path);
    return this.#stopAtChar(code, detail, key.start, value.end, 'range', this.#where(path));
  }

  #stopAtKey(code: EvidenceErrorCode, detail: string, path: string): never {
    const s = this.#doc!.keySpans.get(path) ?? this.#span(path);
    return this.#stopAtChar(code, detail, s.start, s.end, 'range', this.#where(path));
  }

  /** A plain ASCII string value (hex, base64, constant) that differs from `expected`: the first differing byte. */
  #stopAtDiff(code: EvidenceErrorCode, detail: string, path: string, actual: string, expected: string): never {
    const s = this.#span(path);
    if (!/^[\x20-\x7e]*$/.test(actual) || /["\\]/.test(actual)) return this.#stopAt(code, detail, path);
    const at = s.start + 1 + firstDiff(actual, expected);
    return this.#stopAtChar(code, detail, Math.min(at, s.end - 1), Math.min(at, s.end - 1) + 1, 'byte', this.#where(path));
  }

  // ---- steps -------------------------------------------------------------------------

  run(input: Uint8Array | string): EvidenceReport {
    const o = this.#o;
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
    if (size > o.maxBytes) {
      const code = 'ERR_EVIDENCE_READ';
      throw new Stop({ code, message: message(code, `the file has ${size} bytes, more than the limit of ${o.maxBytes}`), precision: 'range', byteOffset: 0, byteEnd: size, line: 1, column: 1 });
    }
    this.#text = this.#decode(input);
    this.#parse();
    if (o.layout) this.#layout();
    const b = this.#structure();
    const digests = this.#seal(b);
    this.#sections(b, digests);
    const head = this.#events(b);
    return this.#anchors(b, digests, head);
  }

  #decode(input: Uint8Array | string): string {
    if (typeof input === 'string') return input;
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      const at = Math.max(0, firstInvalidUtf8(input));
      const before = new TextDecoder('utf-8').decode(input.subarray(0, at));
      const lines = before.split('\n');
      throw new Stop({
        code: 'ERR_EVIDENCE_ENCODING',
        message: message('ERR_EVIDENCE_ENCODING', 'invalid UTF-8 sequence'),
        precision: 'parse',
        byteOffset: at,
        byteEnd: at + 1,
        line: lines.length,
        column: (lines.at(-1)?.length ?? 0) + 1,
      });
    }
  }

  #parse(): void {
    try {
      this.#doc = LocatedJson.parse(this.#text);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      this.#stopAtChar('ERR_EVIDENCE_JSON', e.message, e.offset, e.offset + 1, 'parse');
    }
  }

  #layout(): void {
    const canonical = renderEvidence(this.#doc!.value);
    if (canonical === this.#text) return;
    const at = firstDiff(canonical, this.#text);
    const detail = 'the file differs from the layout it was exported in';
    // Inside (or just after) a number, string or literal: that token was changed, e.g. a digit
    // that makes a number no longer print the same way. Elsewhere: whitespace, exactly here.
    // An object that now has an integer-like key is printed with that key first (JavaScript
    // property order): the changed key is somewhere in that object.
    const reordered = this.#objectWithIndexKeyAt(at);
    if (reordered) this.#stopAtChar('ERR_EVIDENCE_FORM', detail, reordered.span.start, reordered.span.end, 'range', this.#where(reordered.path));
    const leaf = this.#leafAt(at);
    if (leaf) this.#stopAtChar('ERR_EVIDENCE_FORM', detail, leaf.span.start, Math.max(leaf.span.end, at + 1), 'range', this.#where(leaf.path));
    this.#stopAtChar('ERR_EVIDENCE_FORM', detail, at, at + 1, 'byte', this.#whereChar(at));
  }

  #objectWithIndexKeyAt(at: number): { path: string; span: Span } | undefined {
    let best: { path: string; span: Span } | undefined;
    for (const [path, span] of this.#doc!.spans) {
      if (this.#text[span.start] !== '{' || span.start >= at || at >= span.end) continue;
      if (!best || span.end - span.start < best.span.end - best.span.start) best = { path, span };
    }
    if (!best) return undefined;
    let v: unknown = this.#doc!.value;
    for (const seg of best.path.split('/').slice(1)) v = (v as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
    return isObj(v) && Object.keys(v).some((k) => /^(0|[1-9]\d{0,8})$/.test(k)) ? best : undefined;
  }

  #leafAt(at: number): { path: string; span: Span } | undefined {
    for (const [path, span] of this.#doc!.spans) {
      const c = this.#text[span.start];
      if (c !== '{' && c !== '[' && span.start <= at && at <= span.end) return { path, span };
    }
    return undefined;
  }

  /** Section and index of the innermost value holding a character (for layout problems). */
  #whereChar(at: number): Partial<EvidenceProblem> {
    let best: { path: string; size: number } | undefined;
    for (const [path, s] of this.#doc!.spans) {
      if (s.start <= at && at < s.end && path.split('/').length <= 3 && (!best || s.end - s.start < best.size)) best = { path, size: s.end - s.start };
    }
    return best ? this.#where(best.path) : {};
  }

  #structure(): Bundle {
    const root = this.#doc!.value;
    const F = 'ERR_EVIDENCE_FORMAT';
    if (!isObj(root)) return this.#stopAt(F, 'the file is not a JSON object', '');
    for (const k of Object.keys(root)) if (!(TOP_LEVEL as readonly string[]).includes(k)) this.#stopAtKey(F, `unexpected property "${k}"`, pointer(k));
    for (const k of TOP_LEVEL) if (!has(root, k)) this.#stopAt(F, `missing property "${k}"`, '');
    if (typeof root['format'] !== 'string') this.#stopAt(F, 'format is not a string', '/format');
    if (root['format'] !== EVIDENCE_FORMAT) this.#stopAtDiff(F, `format is not "${EVIDENCE_FORMAT}"`, '/format', root['format'] as string, EVIDENCE_FORMAT);
    if (root['version'] !== EVIDENCE_VERSION) this.#stopAt(F, `unsupported version (this verifier reads version ${EVIDENCE_VERSION})`, '/version');
    if (typeof root['exportedAt'] !== 'string') this.#stopAt(F, 'exportedAt is not a string', '/exportedAt');
    if (!isObj(root['exporter'])) this.#stopAt(F, 'exporter is not an object', '/exporter');
    const call = root['call'];
    if (!isObj(call)) return this.#stopAt(F, 'call is not an object', '/call');
    for (const k of ['roomId', 'callId'] as const) if (typeof call[k] !== 'string') this.#stopAt(F, `call.${k} is not a string`, `/call/${k}`);
    const chain = root['chain'];
    if (!isObj(chain)) return this.#stopAt(F, 'chain is not an object', '/chain');
    for (const k of Object.keys(chain)) if (!['algorithm', 'genesisHash', 'records', 'headHash'].includes(k)) this.#stopAtKey(F, `unexpected property "${k}"`, `/chain/${k}`);
    if (typeof chain['algorithm'] !== 'string') this.#stopAt(F, 'chain.algorithm is not a string', '/chain/algorithm');
    if (chain['algorithm'] !== CHAIN_ALGORITHM) this.#stopAtDiff(F, 'unknown chain algorithm', '/chain/algorithm', chain['algorithm'] as string, CHAIN_ALGORITHM);
    if (typeof chain['genesisHash'] !== 'string') this.#stopAt(F, 'chain.genesisHash is not a string', '/chain/genesisHash');
    if (chain['genesisHash'] !== GENESIS_HASH) this.#stopAtDiff(F, 'chain.genesisHash is not 64 zeros', '/chain/genesisHash', chain['genesisHash'] as string, GENESIS_HASH);
    if (!Number.isInteger(chain['records']) || (chain['records'] as number) < 0) this.#stopAt(F, 'chain.records is not a count', '/chain/records');
    if (typeof chain['headHash'] !== 'string' || !HEX64.test(chain['headHash'])) this.#stopAt(F, 'chain.headHash is not a sha256 hex digest', '/chain/headHash');
    if (!Array.isArray(root['events'])) this.#stopAt(F, 'events is not an array', '/events');
    if (!Array.isArray(root['anchors'])) this.#stopAt(F, 'anchors is not an array', '/anchors');
    if (!Array.isArray(root['models'])) this.#stopAt(F, 'models is not an array', '/models');
    if (!isObj(root['settings'])) this.#stopAt(F, 'settings is not an object', '/settings');
    const seal = root['seal'];
    if (!isObj(seal)) return this.#stopAt(F, 'seal is not an object', '/seal');
    const sealKeys = ['algorithm', 'publicKey', 'keyFingerprint', 'digests', 'signature'];
    for (const k of Object.keys(seal)) if (!sealKeys.includes(k)) this.#stopAtKey(F, `unexpected property "${k}"`, `/seal/${k}`);
    for (const k of sealKeys) if (!has(seal, k)) this.#stopAt(F, `missing property "${k}"`, '/seal');
    if (typeof seal['algorithm'] !== 'string') this.#stopAt(F, 'seal.algorithm is not a string', '/seal/algorithm');
    if (seal['algorithm'] !== 'ed25519') this.#stopAtDiff(F, 'seal.algorithm is not "ed25519"', '/seal/algorithm', seal['algorithm'] as string, 'ed25519');
    if (typeof seal['publicKey'] !== 'string') this.#stopAt(F, 'seal.publicKey is not a string', '/seal/publicKey');
    if (typeof seal['keyFingerprint'] !== 'string' || !FINGERPRINT_RE.test(seal['keyFingerprint'])) this.#stopAt(F, 'seal.keyFingerprint is not sha256:<hex>', '/seal/keyFingerprint');
    if (typeof seal['signature'] !== 'string' || !SIGNATURE_RE.test(seal['signature'])) this.#stopAt(F, 'seal.signature is not a base64 Ed25519 signature', '/seal/signature');
    const digests = seal['digests'];
    if (!isObj(digests)) return this.#stopAt(F, 'seal.digests is not an object', '/seal/digests');
    for (const k of Object.keys(digests)) if (!(SEALED_SECTIONS as readonly string[]).includes(k)) this.#stopAtKey(F, `unexpected property "${k}"`, `/seal/digests/${pointer(k).slice(1)}`);
    for (const k of SEALED_SECTIONS) {
      if (!has(digests, k)) this.#stopAt(F, `missing digest "${k}"`, '/seal/digests');
      if (typeof digests[k] !== 'string' || !HEX64.test(digests[k])) this.#stopAt(F, `digest "${k}" is not a sha256 hex digest`, `/seal/digests/${k}`);
    }
    return root as unknown as Bundle;
  }

  /** Step 4; returns the digests computed from the sections. */
  #seal(b: Bundle): Record<SealedSection, string> {
    const S = 'ERR_EVIDENCE_SIGNATURE';
    const seal = b.seal;
    const where = { section: 'seal' };
    let fingerprint: string;
    try {
      fingerprint = keyFingerprint(seal.publicKey);
    } catch {
      return this.#stopAt(S, 'seal.publicKey is not a valid public key', '/seal/publicKey');
    }
    if (fingerprint !== seal.keyFingerprint) this.#stopAtSpans(S, 'seal.keyFingerprint is not the fingerprint of seal.publicKey', ['/seal/publicKey', '/seal/keyFingerprint'], where);
    const computed = Object.fromEntries(SEALED_SECTIONS.map((s) => [s, sectionDigest(b as unknown as Record<string, unknown>, s)])) as Record<SealedSection, string>;
    if (!verifySignature(seal.publicKey, sealSigningInput(seal), seal.signature)) {
      // The signature covers the digests: one that no longer matches its section was changed.
      for (const s of SEALED_SECTIONS) {
        if (seal.digests[s] !== computed[s]) this.#stopAtDiff(S, `the sealed digest of "${s}" was changed`, `/seal/digests/${s}`, seal.digests[s], computed[s]);
      }
      this.#stopAt(S, 'the signature does not verify with seal.publicKey', '/seal/signature');
    }
    if (this.#o.expectedKeyFingerprint && seal.keyFingerprint !== this.#o.expectedKeyFingerprint) {
      this.#stopAt('ERR_EVIDENCE_KEY', `sealed by ${seal.keyFingerprint}, expected ${this.#o.expectedKeyFingerprint}`, '/seal/keyFingerprint');
    }
    return computed;
  }

  /** Step 5 (anchors come last, after the events they point at). */
  #sections(b: Bundle, computed: Record<SealedSection, string>): void {
    const D = 'ERR_EVIDENCE_DIGEST';
    if (computed.header !== b.seal.digests.header) this.#stopAtSpans(D, 'the header (exportedAt, exporter) was changed', ['/exportedAt', '/exporter'], { section: 'header' });
    for (const s of ['call', 'models', 'settings'] as const) {
      if (computed[s] !== b.seal.digests[s]) this.#stopAt(D, `section "${s}" was changed`, `/${s}`);
    }
    if (computed.chain !== b.seal.digests.chain) {
      const head = b.events.at(-1);
      const actualHead = isObj(head) && isObj(head['audit']) && typeof head['audit']['hash'] === 'string' ? head['audit']['hash'] : GENESIS_HASH;
      if (b.chain.headHash !== actualHead && HEX64.test(actualHead)) this.#stopAtDiff(D, 'chain.headHash was changed', '/chain/headHash', b.chain.headHash, actualHead);
      if (b.chain.records !== b.events.length) this.#stopAt(D, 'chain.records was changed', '/chain/records');
      this.#stopAt(D, 'section "chain" was changed', '/chain');
    }
  }

  /** Step 6; returns the head hash. */
  #events(b: Bundle): string {
    const C = 'ERR_EVIDENCE_CHAIN';
    const events = b.events as unknown[];
    let prev = GENESIS_HASH;
    for (let i = 0; i < events.length; i++) {
      const path = `/events/${i}`;
      let ev: DfdEvent;
      try {
        ev = parseEvent(JSON.stringify(events[i]), Number.MAX_SAFE_INTEGER);
      } catch (e) {
        const d = e instanceof DfdError ? e.details : undefined;
        const at = typeof d?.['path'] === 'string' ? d['path'] : '';
        const problem = typeof d?.['problem'] === 'string' ? d['problem'] : 'invalid event';
        return this.#stopAtMember('ERR_EVIDENCE_SCHEMA', `event ${i}${at}: ${problem}`, `${path}${at}`);
      }
      if (!ev.audit) return this.#stopAt(C, `event ${i} has no audit link`, path);
      if (ev.roomId !== b.call.roomId) this.#stopAt(C, `event ${i} is of another room`, `${path}/roomId`);
      if (ev.callId !== b.call.callId) this.#stopAt(C, `event ${i} is of another call`, ev.callId === undefined ? path : `${path}/callId`);
      if (ev.audit.index !== i) this.#stopAt(C, `event ${i} has chain index ${ev.audit.index} (an event is missing, duplicated or out of order)`, `${path}/audit/index`);
      if (ev.audit.prevHash !== prev) this.#stopAtDiff(C, `event ${i}: prevHash is not the hash of event ${i - 1}`, `${path}/audit/prevHash`, ev.audit.prevHash, prev);
      const hash = hashRecord(ev);
      if (hash !== ev.audit.hash) {
        const next = events[i + 1];
        const nextPrev = isObj(next) && isObj(next['audit']) ? next['audit']['prevHash'] : b.chain.headHash;
        // The content still hashes to what the next link (or the sealed head) expects: the stored hash itself changed.
        if (nextPrev === hash) this.#stopAtDiff(C, `event ${i}: its stored hash was changed`, `${path}/audit/hash`, ev.audit.hash, hash);
        this.#stopAt(C, `event ${i} was changed (its content no longer hashes to its audit hash)`, path);
      }
      prev = hash;
    }
    if (events.length !== b.chain.records) this.#stopAt(C, `the bundle holds ${events.length} events, the sealed chain ${b.chain.records}`, '/events');
    if (prev !== b.chain.headHash) this.#stopAt(C, 'the last event is not the sealed chain head', '/events');
    return prev;
  }

  /** Step 7. */
  #anchors(b: Bundle, computed: Record<SealedSection, string>, head: string): EvidenceReport {
    const A = 'ERR_EVIDENCE_ANCHOR';
    const anchors = b.anchors as unknown[];
    const n = b.events.length;
    let verified = 0;
    let otherKey = 0;
    let lastAnchored = -1;
    let callEndCoversHead = false;
    for (let j = 0; j < anchors.length; j++) {
      const path = `/anchors/${j}`;
      const a = anchors[j];
      if (!anchorCheck.Check(a)) {
        const e = anchorCheck.Errors(a).First();
        this.#stopAtMember(A, `anchor ${j}${e?.path ?? ''}: ${e?.message ?? 'invalid anchor'}`, `${path}${e?.path ?? ''}`);
      }
      const anchor = a as AuditAnchor;
      if (anchor.keyFingerprint !== b.seal.keyFingerprint) {
        otherKey++;
        continue;
      }
      if (!verifyAnchor(anchor, b.seal.publicKey)) this.#stopAt(A, `anchor ${j}: its signature does not verify`, path);
      if (anchor.roomId !== b.call.roomId || anchor.callId !== b.call.callId) this.#stopAt(A, `anchor ${j} is of another call`, path);
      if (anchor.index >= n) this.#stopAt(A, `anchor ${j} vouches for event ${anchor.index}, but the bundle ends at event ${n - 1}: events are missing`, `${path}/index`);
      const ev = b.events[anchor.index]!;
      if (ev.audit?.hash !== anchor.hash) this.#stopAt(A, `anchor ${j}: event ${anchor.index} is not the event anchored while the call ran (the chain was rewritten)`, `${path}/hash`);
      verified++;
      lastAnchored = Math.max(lastAnchored, anchor.index);
      if (anchor.reason === 'call-end' && anchor.index === n - 1) callEndCoversHead = true;
    }
    if (computed.anchors !== b.seal.digests.anchors) this.#stopAt('ERR_EVIDENCE_DIGEST', 'section "anchors" was changed', '/anchors');

    const warnings: string[] = [];
    if (!this.#o.expectedKeyFingerprint) warnings.push(`the seal's key is ${b.seal.keyFingerprint}: compare it with the fingerprint the operator published (--expect-key)`);
    if (verified === 0) warnings.push('no anchor signed by this key: the chain head is vouched for by the export seal only');
    else if (lastAnchored < n - 1) warnings.push(`events ${lastAnchored + 1}..${n - 1} come after the last anchor: they are vouched for by the export seal only`);
    if (otherKey > 0) warnings.push(`${otherKey} anchor(s) signed by another key were not checked`);
    for (const m of b.models as unknown[]) {
      if (!isObj(m) || !Array.isArray(m['versionsInCall'])) continue;
      for (const v of m['versionsInCall']) if (v !== m['version']) warnings.push(`model ${String(m['id'])}: the call used version ${String(v)}, the exported manifest is version ${String(m['version'])}`);
    }
    return {
      ok: true,
      summary: {
        format: EVIDENCE_FORMAT,
        version: b.version,
        roomId: b.call.roomId,
        callId: b.call.callId,
        exportedAt: b.exportedAt,
        events: n,
        headHash: head,
        keyFingerprint: b.seal.keyFingerprint,
        anchors: { total: anchors.length, verified, otherKey, lastAnchoredIndex: lastAnchored, callEndCoversHead },
      },
      warnings,
    };
  }
}

/** The parts of a bundle the verifier reads, once the structure check passed. */
interface Bundle {
  format: string;
  version: number;
  exportedAt: string;
  call: { roomId: string; callId: string };
  chain: { algorithm: string; genesisHash: string; records: number; headHash: string };
  events: DfdEvent[];
  anchors: unknown[];
  models: unknown[];
  settings: Record<string, unknown>;
  seal: { algorithm: 'ed25519'; publicKey: string; keyFingerprint: string; digests: Record<SealedSection, string>; signature: string };
}
