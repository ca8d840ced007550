/**
 * Exports one call as an evidence bundle file: reads its audit records and anchors back from
 * JetStream (after the event queue drained), takes the model manifests and effective
 * settings, and seals the result with the service's evidence key. The caller supplies the
 * call summary (from the call history).
 */
import type { AuditBundle } from '../events/AuditLog.js';
import type { AuditAnchor } from '../events/auditAnchor.js';
import type { EvidenceKey } from '../events/EvidenceKey.js';
import { buildEvidence } from './buildEvidence.js';
import { evidenceFileName, renderEvidence, type EvidenceBundle, type EvidenceCall } from './EvidenceBundle.js';
import { modelInventory } from './modelInventory.js';

export interface EvidenceExporterDeps {
  /** The call's audit records, in chain order (EventBus.exportBundle after a flush). */
  readAudit(roomId: string, callId: string): Promise<AuditBundle>;
  readAnchors(roomId: string, callId: string): Promise<AuditAnchor[]>;
  key: EvidenceKey;
  modelsDir: string;
  /** Model registry availability by id, when analysis runs. */
  modelStatus(): ReadonlyMap<string, boolean>;
  /** Effective settings (evidence/verdictSettings.ts). */
  settings(): Record<string, unknown>;
}

export interface EvidenceFile {
  bundle: EvidenceBundle;
  /** The file's exact text (what `verify-evidence` checks byte by byte). */
  text: string;
  fileName: string;
}

export class EvidenceExporter {
  readonly #deps: EvidenceExporterDeps;

  constructor(deps: EvidenceExporterDeps) {
    this.#deps = deps;
  }

  get keyFingerprint(): string {
    return this.#deps.key.fingerprint;
  }

  get publicKeyPem(): string {
    return this.#deps.key.publicKeyPem;
  }

  async export(call: Omit<EvidenceCall, 'firstEventTs' | 'lastEventTs'>): Promise<EvidenceFile> {
    const d = this.#deps;
    const audit = await d.readAudit(call.roomId, call.callId);
    const anchors = await d.readAnchors(call.roomId, call.callId);
    const bundle = buildEvidence({
      audit,
      anchors,
      call,
      models: modelInventory({ modelsDir: d.modelsDir, status: d.modelStatus() }, audit.records),
      settings: d.settings(),
      key: d.key,
    });
    return { bundle, text: renderEvidence(bundle), fileName: evidenceFileName(bundle) };
  }
}
