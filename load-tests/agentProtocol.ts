/** IPC messages between the benchmark (AgentClient) and the media agent process. */
import type { RtpTarget } from './RtpLoadSender.js';

export type AgentRequest =
  | { id: number; type: 'add'; group: string; targets: RtpTarget[] }
  | { id: number; type: 'pause'; group: string }
  | { id: number; type: 'resume'; group: string }
  | { id: number; type: 'probe-open' }
  | { id: number; type: 'probe-start'; target: RtpTarget }
  | { id: number; type: 'probe-collect' }
  | { id: number; type: 'probe-stop' }
  | { id: number; type: 'stats' }
  | { id: number; type: 'close' };

export type AgentReply = { id: number; ok: true; data: unknown } | { id: number; ok: false; error: string };

export interface ProbeResult {
  /** Send-to-receive delay of every matched probe packet, ms. */
  delaysMs: number[];
  /** RFC 3550 interarrival jitter at the end of the interval, ms. */
  jitterMs: number;
  sent: number;
  received: number;
  /** Received packets whose RTP timestamp matched no sent packet. */
  unmatched: number;
}

export interface AgentStats {
  cpuMs: number;
  packetsSent: number;
  streams: number;
  speechSeconds: number;
}
