/**
 * Worker-thread entry of the pool's `threads` placement: an InferenceEngine (one
 * onnxruntime-node session per model) that runs one batch at a time, so ORT's blocking
 * `run()` never holds the main loop.
 *
 * Protocol: see protocol.ts. One `init`, then `run` jobs; each job answers `result` or
 * `job-error`; `close` ends the thread after the current job. Anything thrown outside a
 * job crashes the worker; the pool restarts it. Never `terminate()` this worker while a
 * job runs: tearing down onnxruntime mid-run aborts the whole process.
 */
import { parentPort } from 'node:worker_threads';
import { InferenceEngine } from './InferenceEngine.js';
import type { FromWorker, ToWorker } from './protocol.js';

let engine: InferenceEngine | undefined;

function post(msg: FromWorker): void {
  parentPort!.postMessage(msg);
}

// Jobs are processed strictly one after another.
let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (msg: ToWorker) => {
  chain = chain.then(async () => {
    switch (msg.type) {
      case 'init': {
        const opened = await InferenceEngine.open(msg);
        engine = opened.engine;
        post({ type: 'ready', failed: opened.failed });
        return;
      }
      case 'run':
        post(engine ? await engine.run(msg) : { type: 'job-error', jobId: msg.jobId, message: 'worker not initialised' });
        return;
      case 'close':
        await engine?.close();
        engine = undefined;
        parentPort!.close();
        return;
      case 'crash':
        process.exit(70);
    }
  });
});
