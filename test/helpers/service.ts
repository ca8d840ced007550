/**
 * Starts a real service (real mediasoup worker, real HTTP/WebSocket) on a free port.
 * Analysis threads run at nice 0 here, not the service default 10: the suite shares its
 * machine with browsers and other test files, and tests wait on verdicts; the default is
 * covered by test/e2e/pipeline.test.ts and src/config.test.ts. Weak-evidence challenges are off
 * (DFD_CHALLENGE_LEAN_P and DFD_CHALLENGE_LEAN_P_TELEPHONE 1) unless a test turns them on: a test model's leaning verdict would start
 * challenges the test did not ask for (test/e2e/auto-challenge.test.ts and phone-lean.test.ts cover them).
 */
import { loadConfig, type Config } from '../../src/config.js';
import { Service, type ServiceOptions } from '../../src/Service.js';
import { setLogLevel, type LogLevel } from '../../kernel/log.js';

export async function startTestService(overrides: Partial<Config> = {}, options: Partial<ServiceOptions> = { events: false, analysis: false }): Promise<Service> {
  const logLevel = (process.env['LOG_LEVEL'] as LogLevel | undefined) ?? 'warn';
  setLogLevel(logLevel);
  const config = loadConfig({}, { host: '127.0.0.1', port: 0, numWorkers: 1, tokenSecret: 'test-secret', operatorPassword: 'test-password', dataDir: '', logLevel, authRatePerMin: 1_000_000, joinRatePerMin: 1_000_000, sipPort: 0, analysisNice: 0, challengeLeanP: 1, challengeLeanPTelephone: 1, challengeLeanPG722: 1, challengeLeanPSipOpus: 1, ...overrides });
  return Service.start(config, options);
}
