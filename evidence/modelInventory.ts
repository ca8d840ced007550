/**
 * The detector models an evidence bundle names: every `<modelsDir>/<id>/manifest.json`, with
 * the version, file checksum, calibration and verdict weight it declares. Manifests only: the
 * model files were hashed against them by the model registry when the service loaded them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseManifest, verdictWeight, verdictWeightFor } from '../detectors/registry/Manifest.js';
import type { DfdEvent } from '../events/schema.js';
import type { EvidenceModel } from './EvidenceBundle.js';
import { sha256Hex } from './EvidenceBundle.js';

export interface ModelInventoryOptions {
  /** Folder holding one sub-folder per model. */
  modelsDir: string;
  /** Registry availability by model id (absent: 'unknown'). */
  status: ReadonlyMap<string, boolean>;
}

/** Model ids and versions named by a call's events. */
export function modelsInEvents(events: readonly DfdEvent[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of events) {
    for (const m of e.models) {
      let s = out.get(m.id);
      if (!s) out.set(m.id, (s = new Set()));
      s.add(m.version);
    }
  }
  return out;
}

/** Reads every manifest; a folder without a valid manifest is left out (the registry reports it). */
export function modelInventory(options: ModelInventoryOptions, events: readonly DfdEvent[]): EvidenceModel[] {
  const used = modelsInEvents(events);
  let dirs: fs.Dirent[] = [];
  try {
    dirs = fs.readdirSync(options.modelsDir, { withFileTypes: true }).filter((d) => d.isDirectory());
  } catch {
    return [];
  }
  const out: EvidenceModel[] = [];
  for (const d of dirs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    let text: string;
    let manifest;
    try {
      text = fs.readFileSync(path.join(options.modelsDir, d.name, 'manifest.json'), 'utf8');
      manifest = parseManifest(JSON.parse(text));
    } catch {
      continue;
    }
    const status = options.status.get(manifest.id);
    out.push({
      id: manifest.id,
      version: manifest.version,
      task: manifest.task,
      file: manifest.file,
      sha256: manifest.sha256,
      manifestSha256: sha256Hex(text),
      verdictWeight: verdictWeight(manifest.verdict?.weight),
      verdictWeightTelephone: verdictWeightFor(manifest.verdict, 'telephone'),
      verdictWeightBasis: manifest.verdict?.basis ?? null,
      calibration: { method: manifest.calibration.method, a: manifest.calibration.a, b: manifest.calibration.b, fittedOn: manifest.calibration.fittedOn },
      versionsInCall: [...(used.get(manifest.id) ?? [])].sort(),
      registryStatus: status === undefined ? 'unknown' : status ? 'available' : 'unavailable',
    });
  }
  return out;
}
