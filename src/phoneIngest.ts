/**
 * The service's phone-ingest endpoints (ingest/), started from the config: Twilio Media
 * Streams (/v1/ingest/twilio) and Genesys AudioHook (/v1/ingest/audiohook) on the HTTP
 * server's WebSocket upgrades, SIP (plain and SIPREC) on its own port. Each call becomes a
 * room and its streams phone legs, analysed by the same pipeline. `Service` builds what
 * they get from it (rooms, keys, challenges, shutdown state, call marking) and registers
 * each one's closer.
 */
import type { Server } from 'node:http';
import { DfdError } from '../kernel/errors.js';
import { TwilioIngestServer, type TwilioIngestServerDeps } from '../ingest/twilio/TwilioIngestServer.js';
import { AudioHookIngestServer, type AudioHookIngestServerDeps } from '../ingest/audiohook/AudioHookIngestServer.js';
import { SipServer, type SipServerDeps } from '../ingest/sip/SipServer.js';
import type { Config } from './config.js';

/** Phone calls over Twilio Media Streams: each call a room, its caller a peer. */
export function startTwilioIngest(server: Server, deps: TwilioIngestServerDeps, c: Config): TwilioIngestServer {
  const limits = { maxStreams: c.ingestMaxStreams, maxFrameBytes: c.ingestMaxFrameBytes };
  return new TwilioIngestServer(server, deps, { ...limits, session: { startTimeoutMs: c.ingestStartTimeoutMs } });
}

/** Phone calls over Genesys AudioHook: like Twilio, but challenges go to the agent (AudioHook cannot play audio). */
export function startAudioHookIngest(server: Server, deps: AudioHookIngestServerDeps, c: Config): AudioHookIngestServer {
  const limits = { maxStreams: c.ingestMaxStreams, maxFrameBytes: c.ingestMaxFrameBytes };
  return new AudioHookIngestServer(server, deps, { ...limits, session: { openTimeoutMs: c.ingestStartTimeoutMs } });
}

/** The SIP user agent server on DFD_SIP_HOST:DFD_SIP_PORT. Throws ERR_CONFIG when the port is in use. */
export async function listenSip(deps: SipServerDeps, c: Config): Promise<SipServer> {
  try {
    return await SipServer.listen(deps, {
      host: c.sipHost,
      port: c.sipPort,
      announcedIp: c.sipAnnouncedIp || c.announcedIp || (c.sipHost === '0.0.0.0' || c.sipHost === '::' ? '127.0.0.1' : c.sipHost),
      rtpMinPort: c.sipRtpMinPort,
      rtpMaxPort: c.sipRtpMaxPort,
      auth: c.sipAuth,
      allow: c.sipAllow,
      maxCalls: c.sipMaxCalls,
      rtpTimeoutMs: c.sipRtpTimeoutSec * 1000,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new DfdError('ERR_CONFIG', `SIP port ${c.sipPort} is in use: set DFD_SIP_PORT, or DFD_INGEST_SIP=false`, { port: c.sipPort });
    }
    throw e;
  }
}
