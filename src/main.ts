/**
 * Entry point for `npm start`: the service with an embedded NATS and a demo room.
 * SIGTERM, SIGINT or SIGHUP shut it down in order (see Shutdown.ts); a second one exits at once.
 */
import { loadConfigOrExit } from './config.js';
import { setLogLevel, createLogger } from '../kernel/log.js';
import { Service } from './Service.js';
import { isDfdError } from '../kernel/errors.js';
import { ShutdownController } from './Shutdown.js';
import { describeCpuBudget, readCpuBudget } from '../kernel/cpuBudget.js';

const log = createLogger('main');

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  setLogLevel(config.logLevel);
  const cpu = readCpuBudget();
  log.info(`CPU budget: ${describeCpuBudget(cpu)}`, { mediasoupWorkers: config.numWorkers, audioWorkers: config.audioWorkers, quotaPath: cpu.quotaPath });
  if (cpu.notes.length > 0) log.warn('some cgroup CPU files could not be read; the CPU budget rests on the rest', { notes: cpu.notes });
  // Before anything starts: a signal during start-up is honoured once the service is up.
  const shutdown = new ShutdownController({ timeoutMs: config.shutdownTimeoutMs }).install();
  // A promise rejected with nobody to handle it is a bug to fix, but it must not abort every call with it: it is
  // logged. During a shutdown, mediasoup requests cut short by their worker's exit (the whole process group got
  // the signal) are expected and logged at info.
  process.on('unhandledRejection', (reason) => {
    const cutShort = shutdown.signal !== undefined && reason instanceof Error && reason.name === 'InvalidStateError';
    if (cutShort) log.info('a mediasoup request was cut short by the shutdown', { error: reason.message });
    else log.error('unhandled promise rejection', { error: reason });
  });
  const service = await Service.start(config);
  shutdown.attach(service);
  if (shutdown.signal) return;
  try {
    await service.rooms.getOrCreate(config.demoRoom);
  } catch (e) {
    if (shutdown.signal) return; // stopped while the demo room was being created
    // Several service nodes: the demo room is open on another one, and its joins are sent there.
    if (!isDfdError(e, 'ERR_WRONG_NODE')) throw e;
    log.info('the demo room is served by another node', { node: e.details?.['node'] });
  }

  const base = service.baseUrl;
  process.stdout.write(
    [
      '',
      'Deepfake defense service is running.',
      `  Meeting page : ${base}/meet?room=${config.demoRoom}&name=Alice&autojoin=1`,
      `  Dashboard    : ${base}/dashboard  (user "${config.operatorUser}", password ${service.auth.generatedPassword ? `"${service.auth.generatedPassword}", generated: set DFD_OPERATOR_PASSWORD` : 'from DFD_OPERATOR_PASSWORD'})`,
      `  API          : ${base}/v1/openapi.json`,
      `  Twilio       : ${twilioLine(service, base)}`,
      `  AudioHook    : ${audiohookLine(service, base)}`,
      `  SIP          : ${sipLine(service)}`,
      `  NATS         : ${service.bus?.server ? `embedded at ${service.bus.server.url}` : config.natsUrl.join(', ')}`,
      `  Health       : ${base}/healthz`,
      `  Metrics      : ${base}/metrics`,
      '',
    ].join('\n') + '\n',
  );
}

/** The Twilio Media Streams URL with its key (the demo key, when one was generated). */
function twilioLine(service: Service, base: string): string {
  if (!service.twilio) return 'off (DFD_INGEST_TWILIO=false)';
  const url = `${base.replace(/^http/, 'ws')}/v1/ingest/twilio`;
  const key = service.ingestKeys.demoKey;
  if (key) return `${url}?key=${key}  (TwiML: <Connect><Stream url="${url}"><Parameter name="key" value="${key}"/></Stream></Connect>)`;
  return service.ingestKeys.enabled ? `${url}  (key: a <Parameter name="key"> from DFD_INGEST_KEYS)` : `${url}  (refuses every stream: set DFD_INGEST_KEYS)`;
}

/** The Genesys AudioHook URL and the API key to give the AudioHook Monitor integration. */
function audiohookLine(service: Service, base: string): string {
  if (!service.audiohook) return 'off (DFD_INGEST_AUDIOHOOK=false)';
  const url = `${base.replace(/^http/, 'ws')}/v1/ingest/audiohook`;
  const key = service.ingestKeys.demoKey;
  if (key) return `${url}  (API key: ${key})`;
  return service.ingestKeys.enabled ? `${url}  (API key: one from DFD_INGEST_KEYS)` : `${url}  (refuses every session: set DFD_INGEST_KEYS)`;
}

/** Where to send SIP calls, and the digest credentials (the demo key, when one was generated). */
function sipLine(service: Service): string {
  const sip = service.sip;
  if (!sip) return 'off (DFD_INGEST_SIP=false)';
  const o = sip.options;
  const target = `sip:screen@${o.announcedIp}:${sip.port} (UDP and TCP; RTP ${o.rtpMinPort}-${o.rtpMaxPort})`;
  if (o.auth === 'allowlist') return `${target}  (sources ${o.allow.join(', ')} trusted, no digest)`;
  const key = service.ingestKeys.demoKey;
  if (key) return `${target}  (digest user "demo", password ${key})`;
  return service.ingestKeys.enabled ? `${target}  (digest: user = tenant, password = its key from DFD_INGEST_KEYS)` : `${target}  (refuses every call: set DFD_INGEST_KEYS)`;
}

main().catch((e: unknown) => {
  log.error('start-up failed', { error: e });
  process.exit(1);
});
