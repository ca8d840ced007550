/** Worker entry for SupervisedWorker.test.ts: answers each message as its `type` says. */
import { parentPort, threadId } from 'node:worker_threads';

type Msg = { type: 'echo'; n: number } | { type: 'crash' } | { type: 'close' } | { type: 'deaf' };

let deaf = false;
parentPort!.on('message', (m: Msg) => {
  switch (m.type) {
    case 'echo':
      parentPort!.postMessage({ type: 'echo', n: m.n, threadId });
      break;
    case 'crash':
      process.exit(3);
      break;
    case 'deaf':
      // From now on the close message is ignored: close() must fall back to terminating.
      deaf = true;
      parentPort!.postMessage({ type: 'deaf' });
      break;
    case 'close':
      if (!deaf) parentPort!.close();
      break;
  }
});
parentPort!.postMessage({ type: 'ready', threadId });
