/**
 * Entry point for `npm run worker`: an analysis worker for service nodes started with
 * DFD_ANALYSIS=remote (WorkerService.ts). Needs NATS_URL (and NATS_USER/NATS_PASS or
 * NATS_TOKEN when the server asks for them). SIGTERM or SIGINT: stop taking work, answer the
 * windows in progress, exit.
 */
import { loadConfigOrExit } from './config.js';
import { createLogger, setLogLevel } from '../kernel/log.js';
import { DfdError } from '../kernel/errors.js';
import { WorkerService } from './WorkerService.js';

const log = createLogger('worker');

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  setLogLevel(config.logLevel);
  // A rejected promise nobody handles is a bug to fix, logged; it does not stop the windows other calls are waiting for.
  process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { error: reason }));
  let worker: WorkerService;
  try {
    worker = await WorkerService.start(config);
  } catch (e) {
    if (e instanceof DfdError && e.code === 'ERR_CONFIG') {
      process.stderr.write(`configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info('stopping', { signal });
    void worker.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.stdout.write(`Analysis worker is running: ${worker.pool.detectors().map((d) => d.id).join(', ')}; health http://${config.host}:${worker.port}/healthz\n`);
}

void main();
