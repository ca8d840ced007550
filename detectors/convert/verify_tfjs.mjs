// Verifies converted ONNX models against the original TFJS graph models, both run in Node:
// TFJS from the bundle shipped in @vladmandic/human (CPU backend; the bundle's empty `util`
// shim is patched in a temp copy), ONNX with onnxruntime-node. Prints JSON, exits 1 on mismatch.
// Usage: node detectors/convert/verify_tfjs.mjs <tfjs model.json> <model.onnx> <tfOut:onnxOut>... [--tol 1e-3]
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import util from 'node:util';
import ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const tolIdx = args.indexOf('--tol');
const tol = tolIdx >= 0 ? Number(args.splice(tolIdx, 2)[1]) : 1e-3;
const [modelJson, onnxPath, ...pairs] = args;

const bundle = fileURLToPath(new URL('../../node_modules/@vladmandic/human/dist/tfjs.esm.js', import.meta.url));
const src = readFileSync(bundle, 'utf8').replace('var $k=Kt(()=>{});', 'var $k=()=>globalThis.__nodeUtil;');
const dir = mkdtempSync(join(tmpdir(), 'tfjs-ref-'));
writeFileSync(join(dir, 'tfjs.mjs'), src);
globalThis.__nodeUtil = util;
const origLog = console.log;
console.log = () => {};
const origWarn = console.warn;
console.warn = () => {};
const tf = await import(join(dir, 'tfjs.mjs'));
console.log = origLog;
console.warn = origWarn;
await tf.setBackend('cpu');
await tf.ready();

const mj = JSON.parse(readFileSync(modelJson, 'utf8'));
const specs = [];
const bufs = [];
for (const g of mj.weightsManifest) {
  specs.push(...g.weights);
  for (const p of g.paths) bufs.push(readFileSync(join(dirname(modelJson), p)));
}
const all = Buffer.concat(bufs);
const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
const model = await tf.loadGraphModel(
  tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData, format: mj.format }),
);
const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1 });
const inShape = session.inputMetadata?.[0]?.shape ?? [];
const inputNode = mj.modelTopology.node.find((n) => n.op === 'Placeholder');
const dims = inputNode.attr.shape.shape.dim.map((d) => Number(d.size));
dims[0] = 1;
const n = dims.reduce((a, b) => a * b, 1);

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const cases = {
  uniform: () => Float32Array.from({ length: n }, () => rand()),
  signed: () => Float32Array.from({ length: n }, () => rand() * 2 - 1),
  smooth: () => Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 97) * Math.cos(i / 1301)),
};
const results = [];
let ok = true;
for (const [label, make] of Object.entries(cases)) {
  const x = make();
  const outNames = pairs.map((p) => p.split(':')[0]);
  const tfOut = model.execute(tf.tensor(x, dims), outNames);
  const tfArr = Array.isArray(tfOut) ? tfOut : [tfOut];
  const ortOut = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  for (let i = 0; i < pairs.length; i++) {
    const ref = tfArr[i].dataSync();
    const got = ortOut[pairs[i].split(':')[1]].data;
    let maxAbs = 0;
    let maxRef = 0;
    for (let j = 0; j < ref.length; j++) {
      maxAbs = Math.max(maxAbs, Math.abs(ref[j] - got[j]));
      maxRef = Math.max(maxRef, Math.abs(ref[j]));
    }
    const rel = maxAbs / Math.max(1, maxRef);
    const pass = ref.length === got.length && rel <= tol;
    ok &&= pass;
    results.push({ case: label, output: pairs[i], n: ref.length, maxAbsDiff: maxAbs, maxAbsRef: maxRef, rel, pass });
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ model: modelJson, onnx: onnxPath, inputShape: inShape, tol, ok, results }));
process.exit(ok ? 0 : 1);
