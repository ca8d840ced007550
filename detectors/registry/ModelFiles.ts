/**
 * Reads one model folder (`manifest.json` + the ONNX file it names) and checks what can be
 * checked without onnxruntime: the manifest schema and the file's sha256. Every loader of
 * the tree (the registry, the face models, the evaluation tool) goes through here, so a
 * bad or missing file gets the same typed error everywhere.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DfdError } from '../../kernel/errors.js';
import { parseManifest, type Manifest } from './Manifest.js';

export interface ModelFiles {
  manifest: Manifest;
  modelPath: string;
  bytes: Buffer;
}

export async function readModelFiles(dir: string): Promise<ModelFiles> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new DfdError('ERR_MODEL_MANIFEST', 'manifest.json is missing', { dir: path.basename(dir) });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DfdError('ERR_MODEL_MANIFEST', 'manifest.json is not valid JSON');
  }
  const manifest = parseManifest(json);
  const modelPath = path.join(dir, manifest.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch {
    throw new DfdError('ERR_MODEL_MISSING', manifest.file, { file: manifest.file });
  }
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.sha256) {
    throw new DfdError('ERR_MODEL_HASH', undefined, { file: manifest.file });
  }
  return { manifest, modelPath, bytes };
}
