/**
 * Points mediasoup at the worker binary the bootstrap installed (Debian experimental's
 * mediasoup-worker 3.8.4) unless the operator set MEDIASOUP_WORKER_BIN.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

if (!process.env['MEDIASOUP_WORKER_BIN']) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  process.env['MEDIASOUP_WORKER_BIN'] = path.join(root, '.deps/mediasoup-worker/mediasoup-worker');
}
