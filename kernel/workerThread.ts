/**
 * Starts a worker thread from a module next to the caller, under plain Node (built .js)
 * or under tsx/vitest (.ts source). For .ts entries the worker gets `--import tsx` and,
 * because Node 20 does not apply loader hooks to a worker's own entry module, a two-line
 * eval bootstrap that registers tsx before importing the entry.
 *
 * `priority` (Linux): the worker thread sets its own nice value, scheduling policy and CPUs
 * before it imports its entry, so everything it starts (onnxruntime's threads, child
 * processes) inherits them. Analysis workers run below the thread that carries signalling and media and
 * below the mediasoup workers (kernel/threadPriority.ts).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ThreadPriority } from './threadPriority.js';

export interface StartWorkerOptions extends Omit<WorkerOptions, 'eval'> {
  /** Nice value, policy and CPUs the thread gives itself first (undefined, or nice 0, normal and no CPUs: inherit). */
  priority?: ThreadPriority;
}

/** `entry` is the module name without extension, resolved beside `callerUrl` with the caller's own extension. */
export function startWorker(callerUrl: string, entry: string, startOptions: StartWorkerOptions = {}): Worker {
  const { priority, ...options } = startOptions;
  const ext = path.extname(fileURLToPath(callerUrl));
  const url = new URL(`./${entry}${ext}`, callerUrl);
  const priorityStep =
    priority !== undefined && (priority.nice !== 0 || priority.policy !== 'normal' || (priority.cpus?.length ?? 0) > 0)
      ? `.then(() => import(${JSON.stringify(new URL(`./threadPriority${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url).href)}))` +
        `.then((p) => p.applyWorkerPriority(${JSON.stringify(priority)}, ${JSON.stringify(entry)}))`
      : '';
  if (!url.pathname.endsWith('.ts')) {
    if (!priorityStep) return new Worker(url, options);
    const code = `Promise.resolve()${priorityStep}.then(() => import(${JSON.stringify(url.href)})).catch((e) => { console.error(e); process.exit(1); });`;
    return new Worker(code, { ...options, eval: true });
  }
  const execArgv = [...(options.execArgv ?? process.execArgv)];
  const has = execArgv.some((a, i) => (a === '--import' && execArgv[i + 1] === 'tsx') || a === '--import=tsx');
  if (!has) execArgv.push('--import', 'tsx');
  // The ESM build of tsx's API sits beside the CJS one that require.resolve finds.
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const mjs = path.join(path.dirname(cjs), 'index.mjs');
  const tsxApi = fs.existsSync(mjs) ? pathToFileURL(mjs).href : 'tsx/esm/api';
  const code =
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); })${priorityStep}.then(() => import(${JSON.stringify(url.href)}))` +
    `.catch((e) => { console.error(e); process.exit(1); });`;
  return new Worker(code, { ...options, eval: true, execArgv });
}
