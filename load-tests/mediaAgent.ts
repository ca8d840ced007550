/**
 * The media side of the benchmark, in its own process so that its CPU is not counted as
 * the service's: it sends N looped speech streams as Opus RTP (RtpLoadSender) to RTP
 * ingest ports, and runs a latency probe: one more paced stream whose packets it also
 * receives back from an SFU consumer (PlainTransport), timestamping both ends with the
 * same clock. Driven over the Node IPC channel by AgentClient; loopback targets only.
 *
 *   forked by AgentClient.start(): node --import tsx load-tests/mediaAgent.ts <speech.wav>
 */
import dgram from 'node:dgram';
import { readWav, encodeOpus } from '../pipeline/testing/audioSupport.js';
import { serializeRtpPacket } from '../pipeline/rtp/RtpPacket.js';
import { RtpLoadSender, type RtpTarget } from './RtpLoadSender.js';
import type { AgentReply, AgentRequest, ProbeResult } from './agentProtocol.js';

const wavPath = process.argv[2];
/** Send slots per 20 ms (RtpLoadSender phases): argv[3], default 10; 1 is lockstep. */
const phases = process.argv[3] === undefined ? 10 : Number(process.argv[3]);
if (!wavPath || !process.send || !Number.isInteger(phases)) {
  process.stderr.write('mediaAgent: usage: fork with IPC, a speech WAV path and optionally the send phases per 20 ms\n');
  process.exit(2);
}
const wav = readWav(wavPath);
if (wav.sampleRate !== 48000) throw new Error('mediaAgent needs a 48 kHz WAV (channels are averaged to mono)');
const frames = encodeOpus(wav.samples);

/** Load streams by group; a group keeps its socket (comedia ingest ports lock onto it) across pause/resume. */
const groups = new Map<string, RtpLoadSender>();
const group = (name: string): RtpLoadSender => {
  let g = groups.get(name);
  if (!g) {
    g = new RtpLoadSender({ frames, phases });
    groups.set(name, g);
  }
  return g;
};
const streamCount = (): number => [...groups.values()].reduce((n, g) => n + g.streams, 0);
const packetsSent = (): number => [...groups.values()].reduce((n, g) => n + g.packetsSent, 0);
const closeAll = (): void => {
  for (const g of groups.values()) g.close();
  probe?.close();
};

/** Paced probe stream with send timestamps by RTP timestamp, and a receive socket. */
class Probe {
  readonly recv = dgram.createSocket('udp4');
  readonly send = dgram.createSocket('udp4');
  target: RtpTarget | undefined;
  #timer: NodeJS.Timeout | undefined;
  #seq = 1000;
  #ts = 12345;
  #frame = 0;
  #t0 = 0;
  #ticks = 0;
  readonly #sentAt = new Map<number, number>();
  #delays: number[] = [];
  #jitter = 0;
  #lastTransit: number | undefined;
  #sent = 0;
  #received = 0;
  #unmatched = 0;

  async open(): Promise<number> {
    this.recv.on('message', (msg) => this.#onPacket(msg));
    await new Promise<void>((resolve) => this.recv.bind(0, '127.0.0.1', resolve));
    return this.recv.address().port;
  }

  start(target: RtpTarget): void {
    this.target = target;
    this.#t0 = performance.now();
    this.#ticks = 0;
    const tick = (): void => {
      const due = Math.floor((performance.now() - this.#t0) / 20);
      while (this.#ticks < due) {
        this.#sendOne();
        this.#ticks++;
      }
      this.#timer = setTimeout(tick, Math.max(1, this.#t0 + (this.#ticks + 1) * 20 - performance.now()));
    };
    tick();
  }

  #sendOne(): void {
    const t = this.target!;
    const pkt = serializeRtpPacket({ payloadType: t.payloadType, sequenceNumber: this.#seq, timestamp: this.#ts, ssrc: t.ssrc, payload: frames[this.#frame % frames.length]!, marker: false });
    this.#sentAt.set(this.#ts, performance.now());
    if (this.#sentAt.size > 4096) this.#sentAt.delete(this.#sentAt.keys().next().value!);
    this.send.send(pkt, t.port, t.ip);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + 960) >>> 0;
    this.#frame++;
    this.#sent++;
  }

  #onPacket(msg: Buffer): void {
    const now = performance.now();
    if (msg.length < 12) return;
    const pt = msg[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP (rtcp-mux)
    this.#received++;
    const sentAt = this.#sentAt.get(msg.readUInt32BE(4));
    if (sentAt === undefined) {
      this.#unmatched++;
      return;
    }
    const transit = now - sentAt;
    this.#delays.push(transit);
    // RFC 3550 interarrival jitter, in ms.
    if (this.#lastTransit !== undefined) this.#jitter += (Math.abs(transit - this.#lastTransit) - this.#jitter) / 16;
    this.#lastTransit = transit;
    if (this.#delays.length > 200_000) this.#delays.shift();
  }

  /** Returns what was measured since the last collect and starts afresh. */
  collect(): ProbeResult {
    const r: ProbeResult = { delaysMs: this.#delays, jitterMs: this.#jitter, sent: this.#sent, received: this.#received, unmatched: this.#unmatched };
    this.#delays = [];
    this.#jitter = 0;
    this.#lastTransit = undefined;
    this.#sent = 0;
    this.#received = 0;
    this.#unmatched = 0;
    return r;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #closed = false;

  close(): void {
    this.stop();
    if (this.#closed) return;
    this.#closed = true;
    this.recv.close();
    this.send.close();
  }
}

let probe: Probe | undefined;

function reply(r: AgentReply): void {
  process.send!(r);
}

process.on('message', (raw) => {
  const m = raw as AgentRequest;
  try {
    switch (m.type) {
      case 'add': {
        const g = group(m.group);
        for (const t of m.targets) g.add(t);
        g.start();
        reply({ id: m.id, ok: true, data: { streams: streamCount() } });
        break;
      }
      case 'pause':
        groups.get(m.group)?.stop();
        reply({ id: m.id, ok: true, data: {} });
        break;
      case 'resume':
        groups.get(m.group)?.start();
        reply({ id: m.id, ok: true, data: {} });
        break;
      case 'probe-open':
        probe?.close();
        probe = new Probe();
        void probe.open().then((port) => reply({ id: m.id, ok: true, data: { port } }));
        break;
      case 'probe-start':
        if (!probe) throw new Error('probe not open');
        probe.stop();
        probe.start(m.target);
        reply({ id: m.id, ok: true, data: {} });
        break;
      case 'probe-collect':
        if (!probe) throw new Error('probe not open');
        reply({ id: m.id, ok: true, data: probe.collect() });
        break;
      case 'probe-stop':
        probe?.stop();
        reply({ id: m.id, ok: true, data: {} });
        break;
      case 'stats': {
        const u = process.cpuUsage();
        reply({ id: m.id, ok: true, data: { cpuMs: (u.user + u.system) / 1000, packetsSent: packetsSent(), streams: streamCount(), speechSeconds: (frames.length * 960) / 48000 } });
        break;
      }
      case 'close':
        closeAll();
        reply({ id: m.id, ok: true, data: {} });
        process.disconnect();
        break;
    }
  } catch (e) {
    reply({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
process.on('disconnect', closeAll);
reply({ id: 0, ok: true, data: { ready: true, frames: frames.length } });
