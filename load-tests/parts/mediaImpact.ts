/**
 * Does analysis slow the call? One process, two services (same settings, one with the
 * analysis pipeline, one without). A probe stream goes from the media agent into an RTP
 * ingest producer and comes back to the agent through an SFU consumer on a PlainTransport;
 * the agent timestamps send and receipt with one clock and matches packets by RTP
 * timestamp. Blocks alternate off/on (so drifting background load hits both alike), first
 * with no other streams, then with each count of `background` speech streams in the measured
 * service (e.g. half and all of the measured capacity): in the "on" service they are analysed,
 * in the "off" one the SFU receives and forwards them with their taps paused.
 */
import type { Service } from '../../src/Service.js';
import { Peer } from '../../sfu/Peer.js';
import { AgentClient } from '../AgentClient.js';
import { publishSpeechStreams, sfuCpuMs, startBenchService, type BenchServiceSettings, stopAll } from '../harness.js';
import type { RtpTarget } from '../RtpLoadSender.js';
import { loadAvg1, sleep, summarize, type Summary } from '../stats.js';

export interface MediaImpactOptions {
  /** Background stream counts, ascending (0, no other streams, is always measured first). */
  background: number[];
  blockSec: number;
  rounds: number;
  /**
   * Send slots per 20 ms of the background streams (RtpLoadSender): 10 spreads them as
   * independent calls would be; 1 sends them all in one burst (lockstep, the worst case).
   */
  phases: number;
  /** Nice value of the media agent (the probe's sender and receiver); 0 leaves it. */
  agentNice: number;
  /** Scheduling policy of the media agent (real time: it stands in for the network and remote callers). */
  agentSched?: 'normal' | 'fifo' | 'rr';
}

export interface ImpactCell {
  delayMs: Summary;
  /** RFC 3550 interarrival jitter over the blocks (mean of the per-block final estimates), ms. */
  jitterMs: number;
  sent: number;
  received: number;
  unmatched: number;
  /** CPU of the measured side's mediasoup worker during the blocks, ms per second (user + system). */
  sfuCpuMsPerSec: number;
}

export interface ImpactCondition {
  background: number;
  off: ImpactCell;
  on: ImpactCell;
  /** on / off of p50 and p99 delay, and on - off of p99 in ms. */
  ratioP50: number;
  ratioP99: number;
  deltaP99Ms: number;
  loadAvg1: number;
}

export interface MediaImpactResult {
  conditions: ImpactCondition[];
  /** Send slots per 20 ms of the background streams (1 = lockstep bursts). */
  phases: number;
  /** Nice value of the media agent process. */
  agentNice: number;
  /** Scheduling policy of the media agent process. */
  agentSched: 'normal' | 'fifo' | 'rr';
  settings: BenchServiceSettings;
  method: string;
}

interface Side {
  service: Service;
  probeTarget: RtpTarget;
  group: string;
}

function rfc3550(delays: number[]): number {
  let j = 0;
  for (let i = 1; i < delays.length; i++) j += (Math.abs(delays[i]! - delays[i - 1]!) - j) / 16;
  return j;
}

async function side(service: Service, agent: AgentClient, probePort: number, name: string, ssrc: number): Promise<Side> {
  const room = await service.rooms.getOrCreate(`impact-${name}`);
  const src = new Peer({ id: `probe-src-${name}`, displayName: 'Probe', role: 'participant', notify: () => {} });
  room.join(src);
  const ingest = await room.createRtpIngest(src, { kind: 'audio', ssrc, payloadType: 111 });
  // The receiving participant: a plain RTP consumer sending to the agent's probe socket.
  const transport = await room.router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await transport.connect({ ip: '127.0.0.1', port: probePort });
  const consumer = await transport.consume({ producerId: ingest.producerId, rtpCapabilities: room.router.rtpCapabilities, paused: true });
  await consumer.resume();
  service.onClose(() => transport.close());
  void agent;
  return { service, probeTarget: { ip: ingest.ip, port: ingest.port, ssrc, payloadType: 111 }, group: `bg-${name}` };
}

export async function runMediaImpact(opts: MediaImpactOptions, settings: BenchServiceSettings, modelsDir: string, speechWav: string, log: (m: string) => void): Promise<MediaImpactResult> {
  const off = await startBenchService(settings, modelsDir, { analysis: false });
  const on = await startBenchService(settings, modelsDir, { analysis: true });
  const agent = await AgentClient.start(speechWav, { phases: opts.phases, nice: opts.agentNice, sched: opts.agentSched ?? 'normal' });
  const conditions: ImpactCondition[] = [];
  try {
    const { port } = await agent.probeOpen();
    const sides = { off: await side(off, agent, port, 'off', 0x7001), on: await side(on, agent, port, 'on', 0x7002) };
    let published = 0;
    for (const bg of [0, ...opts.background.filter((b) => b > 0)]) {
      if (bg > published) {
        for (const [name, s] of Object.entries(sides)) {
          await publishSpeechStreams(s.service, agent, bg - published, { prefix: `bg-${name}`, firstIndex: published, roomSize: 10, group: s.group });
          await agent.pause(s.group);
        }
        published = bg;
      }
      const acc = {
        off: { d: [] as number[], j: [] as number[], sent: 0, received: 0, unmatched: 0, cpuMs: 0, ms: 0 },
        on: { d: [] as number[], j: [] as number[], sent: 0, received: 0, unmatched: 0, cpuMs: 0, ms: 0 },
      };
      for (let r = 0; r < opts.rounds; r++) {
        for (const which of ['off', 'on'] as const) {
          const s = sides[which];
          if (bg > 0) await agent.resume(s.group);
          await agent.probeStart(s.probeTarget);
          await sleep(1000); // settle: taps resumed, analysis windows flowing
          await agent.probeCollect();
          const cpu0 = await sfuCpuMs(s.service);
          const t0 = performance.now();
          await sleep(opts.blockSec * 1000);
          const res = await agent.probeCollect();
          const cpuMs = (await sfuCpuMs(s.service)) - cpu0;
          const ms = performance.now() - t0;
          await agent.probeStop();
          if (bg > 0) await agent.pause(s.group);
          const a = acc[which];
          a.d.push(...res.delaysMs);
          a.j.push(rfc3550(res.delaysMs));
          a.sent += res.sent;
          a.received += res.received;
          a.unmatched += res.unmatched;
          a.cpuMs += cpuMs;
          a.ms += ms;
          await sleep(300);
        }
      }
      const cell = (a: (typeof acc)['off']): ImpactCell => ({
        delayMs: summarize(a.d, 3),
        jitterMs: +(a.j.reduce((x, y) => x + y, 0) / Math.max(1, a.j.length)).toFixed(3),
        sent: a.sent,
        received: a.received,
        unmatched: a.unmatched,
        sfuCpuMsPerSec: +((a.cpuMs / Math.max(1, a.ms)) * 1000).toFixed(1),
      });
      const c: ImpactCondition = {
        background: bg,
        off: cell(acc.off),
        on: cell(acc.on),
        ratioP50: 0,
        ratioP99: 0,
        deltaP99Ms: 0,
        loadAvg1: loadAvg1(),
      };
      c.ratioP50 = +(c.on.delayMs.p50 / c.off.delayMs.p50).toFixed(3);
      c.ratioP99 = +(c.on.delayMs.p99 / c.off.delayMs.p99).toFixed(3);
      c.deltaP99Ms = +(c.on.delayMs.p99 - c.off.delayMs.p99).toFixed(3);
      conditions.push(c);
      log(`media-impact bg=${bg} off p50/p99=${c.off.delayMs.p50}/${c.off.delayMs.p99} on=${c.on.delayMs.p50}/${c.on.delayMs.p99} ms matched=${c.on.delayMs.n} sfu cpu ms/s off/on=${c.off.sfuCpuMsPerSec}/${c.on.sfuCpuMsPerSec}`);
    }
  } finally {
    await stopAll(agent, on, off);
  }
  return {
    conditions,
    phases: opts.phases,
    agentNice: opts.agentNice,
    agentSched: opts.agentSched ?? 'normal',
    settings,
    method:
      `probe RTP (Opus, 50 pkt/s) from the media agent process -> RTP ingest producer -> PlainTransport consumer -> agent; delay = receive - send on the agent clock, matched by RTP timestamp; blocks alternate analysis off/on; background streams sent in ${opts.phases === 1 ? 'one burst per 20 ms (lockstep)' : `${opts.phases} phase slots per 20 ms`}`,
  };
}
