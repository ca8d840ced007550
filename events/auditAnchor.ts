/**
 * Audit anchors: signed statements "the chain of call C in room R had head hash H at index I
 * at time T", written while the call runs (every `anchorEvery` records and when the call ends)
 * to a JetStream stream of their own. A later rewrite of the audit stream cannot produce
 * anchors without the evidence key, and a bundle that lost records after an anchored index
 * shows it. Pure functions: no NATS here (see AnchorStore.ts), so offline verifiers can use it.
 *
 * signature = Ed25519(canonicalJson(anchor without `signature`)), base64.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { canonicalJson } from './canonicalJson.js';
import { verifySignature, type EvidenceKey } from './EvidenceKey.js';

export const ANCHOR_FORMAT = 'dfd-audit-anchor' as const;
export const ANCHOR_REASONS = ['periodic', 'call-end'] as const;
export type AnchorReason = (typeof ANCHOR_REASONS)[number];

const Token = Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' });

export const AuditAnchorSchema = Type.Object(
  {
    format: Type.Literal(ANCHOR_FORMAT),
    version: Type.Literal(1),
    roomId: Token,
    callId: Token,
    /** Chain index of the anchored record. */
    index: Type.Integer({ minimum: 0 }),
    /** That record's `audit.hash`. */
    hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    /** When the anchor was written (service clock). */
    ts: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$' }),
    reason: Type.Union(ANCHOR_REASONS.map((r) => Type.Literal(r))),
    keyFingerprint: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }),
    signature: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' }),
  },
  { additionalProperties: false },
);
export type AuditAnchor = Static<typeof AuditAnchorSchema>;

const check = TypeCompiler.Compile(AuditAnchorSchema);

export function isAuditAnchor(value: unknown): value is AuditAnchor {
  return check.Check(value);
}

/** The bytes an anchor's signature covers. */
export function anchorSigningInput(anchor: Omit<AuditAnchor, 'signature'> & { signature?: string }): string {
  const { signature: _omit, ...rest } = anchor;
  return canonicalJson(rest);
}

export function signAnchor(key: EvidenceKey, head: { roomId: string; callId: string; index: number; hash: string; reason: AnchorReason }, now: Date = new Date()): AuditAnchor {
  const unsigned = {
    format: ANCHOR_FORMAT,
    version: 1 as const,
    roomId: head.roomId,
    callId: head.callId,
    index: head.index,
    hash: head.hash,
    ts: now.toISOString(),
    reason: head.reason,
    keyFingerprint: key.fingerprint,
  };
  return { ...unsigned, signature: key.sign(anchorSigningInput(unsigned)) };
}

/** True when the anchor is well-formed and its signature verifies with `publicKeyPem`. */
export function verifyAnchor(anchor: unknown, publicKeyPem: string): boolean {
  return isAuditAnchor(anchor) && verifySignature(publicKeyPem, anchorSigningInput(anchor), anchor.signature);
}
