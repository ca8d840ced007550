/**
 * Assembles and seals an evidence bundle from what the service recorded: the call's audit
 * records (read back from JetStream), its anchors, the call's summary, the model manifests
 * and the effective settings. Pure apart from signing; the caller reads the inputs.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DfdError } from '../kernel/errors.js';
import { GENESIS_HASH, type AuditBundle } from '../events/AuditLog.js';
import type { AuditAnchor } from '../events/auditAnchor.js';
import type { EvidenceKey } from '../events/EvidenceKey.js';
import {
  CHAIN_ALGORITHM,
  EVIDENCE_FORMAT,
  EVIDENCE_VERSION,
  SEALED_SECTIONS,
  sealSigningInput,
  sectionDigest,
  type EvidenceBundle,
  type EvidenceCall,
  type EvidenceModel,
  type SealedSection,
} from './EvidenceBundle.js';

export interface BuildEvidenceInput {
  audit: AuditBundle;
  anchors: readonly AuditAnchor[];
  /** Summary from the call history; its room and call must be the audit bundle's. */
  call: Omit<EvidenceCall, 'firstEventTs' | 'lastEventTs'>;
  models: EvidenceModel[];
  settings: Record<string, unknown>;
  key: EvidenceKey;
  exporter?: { name: string; version: string };
  now?: Date;
}

let packageInfo: { name: string; version: string } | undefined;

/** This checkout's package name and version (package.json). */
export function exporterInfo(): { name: string; version: string } {
  if (!packageInfo) {
    try {
      const pkg = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { name?: unknown; version?: unknown };
      packageInfo = { name: typeof pkg.name === 'string' ? pkg.name : 'deepfake-defense', version: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
    } catch {
      packageInfo = { name: 'deepfake-defense', version: '0.0.0' };
    }
  }
  return packageInfo;
}

export function buildEvidence(input: BuildEvidenceInput): EvidenceBundle {
  const { audit, call } = input;
  if (audit.call.roomId !== call.roomId || audit.call.callId !== call.callId) {
    throw new DfdError('ERR_INTERNAL', 'audit records and call summary are of different calls');
  }
  const events = audit.records;
  const headHash = events.at(-1)?.audit?.hash ?? GENESIS_HASH;
  const anchors = input.anchors.filter((a) => a.roomId === call.roomId && a.callId === call.callId);
  const built = {
    format: EVIDENCE_FORMAT,
    version: EVIDENCE_VERSION,
    exportedAt: (input.now ?? new Date()).toISOString(),
    exporter: input.exporter ?? exporterInfo(),
    call: { ...call, participants: call.participants.map((p) => ({ ...p })), firstEventTs: events[0]?.ts ?? null, lastEventTs: events.at(-1)?.ts ?? null },
    chain: { algorithm: CHAIN_ALGORITHM, genesisHash: GENESIS_HASH, records: events.length, headHash },
    events,
    anchors: [...anchors],
    models: input.models,
    settings: input.settings,
  };
  // Digests are taken over exactly what the file will hold (a JSON round trip drops undefined).
  const unsealed = JSON.parse(JSON.stringify(built)) as typeof built;
  const digests = Object.fromEntries(SEALED_SECTIONS.map((s) => [s, sectionDigest(unsealed, s)])) as Record<SealedSection, string>;
  const sealBody = { algorithm: 'ed25519' as const, publicKey: input.key.publicKeyPem, keyFingerprint: input.key.fingerprint, digests };
  return { ...unsealed, seal: { ...sealBody, signature: input.key.sign(sealSigningInput(sealBody)) } };
}
