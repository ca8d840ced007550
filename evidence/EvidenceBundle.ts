/**
 * The evidence bundle format (`dfd-evidence-bundle`, version 1): one call as one self-contained
 * JSON file. Documented for recipients in docs/evidence.md.
 *
 *   header    format, version, exportedAt, exporter
 *   call      room, call id, kind, times, participants with their final states (from the call history)
 *   chain     how the audit chain is hashed, its record count and head hash
 *   events    the call's events in chain order, each with its audit link {index, prevHash, hash}
 *   anchors   signed chain heads written while the call ran (events/auditAnchor.ts)
 *   models    detector manifests installed at export: id, version, file sha256, verdict weight
 *   settings  the settings that shaped verdicts and challenges (thresholds, weights, windows)
 *   seal      Ed25519 signature over the SHA-256 digest of every section above
 *
 * Events are protected by the hash chain; every other section by its digest in the seal; the
 * seal by its signature. The file itself is `JSON.stringify(bundle, null, 2) + "\n"` exactly,
 * so no byte can change without the verifier noticing (layout, content or signature).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../events/canonicalJson.js';
import type { AuditAnchor } from '../events/auditAnchor.js';
import type { DfdEvent } from '../events/schema.js';

export const EVIDENCE_FORMAT = 'dfd-evidence-bundle' as const;
export const EVIDENCE_VERSION = 1 as const;
export const CHAIN_ALGORITHM = 'sha256(canonical-json(record without audit.hash))' as const;

/** Sections with a digest in the seal, in this order. `events` are covered by `chain.headHash`. */
export const SEALED_SECTIONS = ['header', 'call', 'chain', 'anchors', 'models', 'settings'] as const;
export type SealedSection = (typeof SEALED_SECTIONS)[number];

export interface EvidenceParticipant {
  peerId: string;
  displayName: string;
  joinedAt: string;
  leftAt: string | null;
  /** The state of the participant's last verdict event ('collecting' without one). */
  finalState: string;
  finalPFake: number | null;
  finalConfidence: number | null;
}

export interface EvidenceCall {
  roomId: string;
  callId: string;
  /** 'room': a meeting through the SFU; 'phone': a participant came in over plain RTP (telephony gateway). */
  kind: 'room' | 'phone';
  startedAt: string | null;
  endedAt: string | null;
  participants: EvidenceParticipant[];
  firstEventTs: string | null;
  lastEventTs: string | null;
}

export interface EvidenceChain {
  algorithm: typeof CHAIN_ALGORITHM;
  genesisHash: string;
  records: number;
  /** Hash of the last event (genesisHash without events). */
  headHash: string;
}

export interface EvidenceModel {
  id: string;
  version: string;
  task: string;
  file: string;
  /** sha256 of the model file, as its manifest states it (the registry checks the file against it at load). */
  sha256: string;
  /** sha256 of the manifest.json bytes. */
  manifestSha256: string;
  /** How much the detector moves verdicts (0..1; manifest `verdict.weight`, 1 when absent). */
  verdictWeight: number;
  /** Its weight on phone legs (windows scored with the telephone calibration; manifest `verdict.weightTelephone`, else `verdictWeight`). */
  verdictWeightTelephone: number;
  verdictWeightBasis: string | null;
  calibration: { method: string; a: number; b: number; fittedOn: string };
  /** Versions of this model id that the call's events name ([] when the call never used it). */
  versionsInCall: string[];
  /** What the service's model registry said at export: file present and hash checked ('available'), or not; 'unknown' without analysis. */
  registryStatus: 'available' | 'unavailable' | 'unknown';
}

export interface EvidenceSeal {
  algorithm: 'ed25519';
  /** SPKI PEM of the signing key. */
  publicKey: string;
  /** `sha256:<hex>` of the key's SPKI DER bytes: compare it with the fingerprint the operator publishes. */
  keyFingerprint: string;
  /** sha256 hex of canonicalJson(section) for every sealed section. */
  digests: Record<SealedSection, string>;
  /** Ed25519 over canonicalJson({algorithm, publicKey, keyFingerprint, digests}), base64. */
  signature: string;
}

export interface EvidenceBundle {
  format: typeof EVIDENCE_FORMAT;
  version: typeof EVIDENCE_VERSION;
  exportedAt: string;
  exporter: { name: string; version: string };
  call: EvidenceCall;
  chain: EvidenceChain;
  events: DfdEvent[];
  anchors: AuditAnchor[];
  models: EvidenceModel[];
  settings: Record<string, unknown>;
  seal: EvidenceSeal;
}

/** The value a section digest covers. */
export function sectionValue(bundle: Partial<Record<string, unknown>>, section: SealedSection): unknown {
  if (section === 'header') return { format: bundle['format'], version: bundle['version'], exportedAt: bundle['exportedAt'], exporter: bundle['exporter'] };
  return bundle[section];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function sectionDigest(bundle: Partial<Record<string, unknown>>, section: SealedSection): string {
  return sha256Hex(canonicalJson(sectionValue(bundle, section)));
}

/** What the seal's signature covers. */
export function sealSigningInput(seal: Omit<EvidenceSeal, 'signature'> & { signature?: unknown }): string {
  return canonicalJson({ algorithm: seal.algorithm, publicKey: seal.publicKey, keyFingerprint: seal.keyFingerprint, digests: seal.digests });
}

/** The exact bytes of a bundle file. */
export function renderEvidence(bundle: EvidenceBundle | unknown): string {
  return JSON.stringify(bundle, null, 2) + '\n';
}

export function evidenceFileName(bundle: Pick<EvidenceBundle, 'call'>): string {
  return `evidence-${bundle.call.roomId}-${bundle.call.callId}.json`;
}
