/**
 * Detectors for tests: the small real ONNX graphs of detectors/testing/testModels.ts in a
 * fresh temporary models folder (the trained models' accuracy is not what tests check).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTestModels } from '../../detectors/testing/testModels.js';
import { readModelFiles } from '../../detectors/registry/ModelFiles.js';
import type { Manifest } from '../../detectors/registry/Manifest.js';

export function testModelsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-models-'));
  buildTestModels(dir);
  return dir;
}

/** Rewrites `<dir>/<id>/manifest.json` through `patch` (a test's own calibration or verdict weights). */
export function patchManifest(dir: string, id: string, patch: (m: Record<string, unknown>) => Record<string, unknown>): void {
  const file = path.join(dir, id, 'manifest.json');
  fs.writeFileSync(file, JSON.stringify(patch(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The test models without the face-forgery one (test-face): for tests of the face path
 * itself. test-face is a mean-colour graph, not a detector; on some real faces it reads
 * "fake", the verdict turns suspicious and the service starts an automatic challenge.
 */
export function voiceOnlyTestModelsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-models-'));
  const built = buildTestModels(dir);
  fs.rmSync(built.face.dir, { recursive: true, force: true });
  return dir;
}

/**
 * A fresh models folder holding only these model folders (each validated by readModelFiles and copied as
 * `<id>/manifest.json` + its ONNX file), for tests and tools that run committed or candidate models alone.
 * Returns the folder and the manifests in the order given.
 */
export async function modelsDirOf(dirs: readonly string[]): Promise<{ dir: string; manifests: Manifest[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-models-'));
  const manifests: Manifest[] = [];
  for (const src of dirs) {
    const m = (await readModelFiles(src)).manifest;
    fs.mkdirSync(path.join(dir, m.id));
    for (const f of ['manifest.json', m.file]) fs.copyFileSync(path.join(src, f), path.join(dir, m.id, f));
    manifests.push(m);
  }
  return { dir, manifests };
}
