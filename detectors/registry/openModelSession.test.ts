import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openModelSession } from './openModelSession.js';
import { readModelFiles } from './ModelFiles.js';
import { repoRoot } from '../../kernel/paths.js';

const shipped = path.join(repoRoot, 'detectors/models/voice-antispoof');

describe('openModelSession (the one model-loading path)', () => {
  it('opens a shipped model from its folder or from files already read, with the manifest names', async () => {
    const a = await openModelSession(shipped, { task: 'voice-antispoof' });
    expect(a.session.inputNames).toEqual(a.manifest.inputs.map((i) => i.name));
    await a.session.release();
    const b = await openModelSession(await readModelFiles(shipped));
    expect(b.manifest.id).toBe('voice-antispoof');
    await b.session.release();
  });

  it('refuses another task, a changed file and a name the model does not have, with typed errors', async () => {
    await expect(openModelSession(shipped, { task: 'face-forgery' })).rejects.toMatchObject({ code: 'ERR_MODEL_MANIFEST' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-open-model-'));
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(shipped, 'manifest.json'), 'utf8')) as { file: string; inputs: { name: string }[] };
      const bytes = fs.readFileSync(path.join(shipped, manifest.file));
      fs.writeFileSync(path.join(dir, manifest.file), Buffer.concat([bytes, Buffer.from([0])]));
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      await expect(openModelSession(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_HASH' });
      const files = await readModelFiles(shipped);
      const renamed = { ...files, manifest: { ...files.manifest, inputs: files.manifest.inputs.map((i) => ({ ...i, name: 'audio' })) } };
      await expect(openModelSession(renamed)).rejects.toMatchObject({ code: 'ERR_MODEL_SHAPE', message: expect.stringContaining('"waveform"') });
      // onnxruntime's reason travels in the message (a provider that cannot start says so the same way).
      const junk = { ...files, bytes: Buffer.from('not a model') };
      const err: unknown = await openModelSession(junk).catch((x: unknown) => x);
      expect(err).toMatchObject({ code: 'ERR_MODEL_SHAPE', message: expect.stringContaining('onnxruntime cannot load the model: Failed to load model because protobuf parsing failed') });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
