/**
 * The one place that imports mediasoup. mediasoup 3.8.4 reads MEDIASOUP_WORKER_BIN when
 * its module is evaluated, so `workerBin.ts` (which sets it) is imported first.
 */
import './workerBin.js';
import * as mediasoup from 'mediasoup';

export { mediasoup };
export type { types } from 'mediasoup';
