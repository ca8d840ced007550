// Makes dist/ep-check/: the execution-provider check (pipeline/inference/providers.bench.ts) and the
// audio models' InferencePool benchmark (models.bench.ts, with the inference worker thread it starts) as
// single files, with the onnxruntime-node and onnxruntime-common they load (this platform's binaries
// only), so both run with any Node 20 binary on a machine that has neither this checkout's node_modules
// nor npm (from a checkout's root):
//   node dist/ep-check/providers.mjs --ep webgpu --models detectors/models
//   node dist/ep-check/models.mjs --ep webgpu
// docs/performance.md, "GPU path", says how it ran on an H100.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'ep-check');
fs.rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'pipeline/inference/providers.bench.ts', out: 'providers' },
    { in: 'pipeline/inference/models.bench.ts', out: 'models' },
    // InferencePool starts its worker from the module beside its own (kernel/workerThread.ts): here, beside models.mjs
    { in: 'pipeline/inference/InferenceWorker.ts', out: 'InferenceWorker' },
  ],
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['onnxruntime-node'],
  // CommonJS dependencies inside the bundle call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
const modules = path.join(root, 'node_modules');
const copy = (rel) => fs.cpSync(path.join(modules, rel), path.join(out, 'node_modules', rel), { recursive: true });
copy('onnxruntime-common');
for (const part of ['package.json', 'dist', 'lib']) copy(path.join('onnxruntime-node', part));
const bin = path.join('onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch);
if (!fs.existsSync(path.join(modules, bin))) throw new Error(`onnxruntime-node has no binaries for ${process.platform}/${process.arch}`);
copy(bin);
process.stdout.write(`${path.relative(root, out)}/providers.mjs, models.mjs\n`);
