/**
 * Entry point for `npm start`: the service with an embedded NATS and a demo room.
 */
import { loadConfig } from './config.js';
import { setLogLevel, createLogger, type LogLevel } from './log.js';
import { Service } from './Service.js';
import { DfdError } from './errors.js';

const log = createLogger('main');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof DfdError) {
      process.stderr.write(`configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  setLogLevel(config.logLevel as LogLevel);
  const service = await Service.start(config);
  await service.rooms.getOrCreate(config.demoRoom);

  const base = service.baseUrl;
  process.stdout.write(
    [
      '',
      'Deepfake defense service is running.',
      `  Meeting page : ${base}/meet?room=${config.demoRoom}&name=Alice&autojoin=1`,
      `  Dashboard    : ${base}/dashboard  (user "${config.operatorUser}", password ${service.auth.generatedPassword ? `"${service.auth.generatedPassword}", generated: set DFD_OPERATOR_PASSWORD` : 'from DFD_OPERATOR_PASSWORD'})`,
      `  API          : ${base}/v1/openapi.json`,
      `  NATS         : ${service.bus?.server ? `embedded at ${service.bus.server.url}` : config.natsUrl.join(', ')}`,
      `  Health       : ${base}/healthz`,
      `  Metrics      : ${base}/metrics`,
      '',
    ].join('\n') + '\n',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    service
      .close()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  log.error('start-up failed', { error: e });
  process.exit(1);
});
