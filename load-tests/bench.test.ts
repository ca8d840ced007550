/**
 * Cheap checks of the benchmark's own parts (the full smoke run is `npm run bench -- --smoke`
 * in CI): the statistics, the loopback guard, the chart markup, and one real probe round
 * trip through the SFU (media agent process -> RTP ingest -> PlainTransport consumer -> agent).
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures, fixtures } from '../test/fixtures/build.js';
import { startTestService } from '../test/helpers/service.js';
import type { Service } from '../src/Service.js';
import { Peer } from '../sfu/Peer.js';
import { linearFit, percentile, summarize } from './stats.js';
import { assertLoopback } from './loadgen.js';
import { RtpLoadSender } from './RtpLoadSender.js';
import { panelSvg } from './chart.js';
import { videoFromStages } from './parts/video.js';
import type { BenchRun, DetectorTiming } from './parts/stages.js';
import type { ModelTask } from '../detectors/registry/Manifest.js';
import { AgentClient } from './AgentClient.js';
import { sleep } from './stats.js';

describe('video cost model', () => {
  it('adds every presentation-attack model per crop to the face-forgery cost (cheapest batch each, one thread)', () => {
    const ms = (p50: number) => summarize([p50]);
    const t = (detector: string, task: ModelTask, batch: number, p50: number, threads = 1): DetectorTiming => ({ detector, task, source: 'repo', input: '', threads, batch, msPerWindow: ms(p50) });
    const decode: BenchRun = { command: '', ok: true, wallMs: 1, result: { ffmpegCpuMsPerOutputFrame: 2, nodeCpuMs: 10, output: { frames: 10 } } };
    const face: BenchRun = { command: '', ok: true, wallMs: 1, result: { detectMsPerFrame: { mean: 10 }, landmarksMsPerFace: { mean: 4 }, alignMsPerFace: { mean: 1 } } };
    const detectors = [t('face-forgery@1', 'face-forgery', 1, 12), t('face-forgery@1', 'face-forgery', 4, 9), t('face-antispoof@1', 'face-pad', 1, 3), t('face-antispoof@1', 'face-pad', 4, 2), t('face-liveness@1', 'face-pad', 1, 0.5), t('face-liveness@1', 'face-pad', 1, 0.1, 2), t('voice@1', 'voice-antispoof', 1, 4)];
    const v = videoFromStages(decode, face, detectors, 5);
    if ('error' in v) throw new Error(v.error);
    expect(v.perFrameCpuMs).toMatchObject({ faceForgery: 9, presentationAttack: 2.5, total: 2 + 1 + 10 + 4 + 1 + 9 + 2.5 });
    expect(v.analysedFramesPerSecondPerCore).toBeCloseTo(1000 / 29.5, 1);
    expect(v.detectorShare).toBe(1);
    // with the face track, the detector's cost counts on the share of frames that ran it
    const tracked: BenchRun = { ...face, result: { ...(face.result as object), detectorShare: 0.2, redetectEvery: 5 } };
    const w = videoFromStages(decode, tracked, detectors, 5);
    if ('error' in w) throw new Error(w.error);
    expect(w.perFrameCpuMs).toMatchObject({ faceDetect: 2, total: 2 + 1 + 2 + 4 + 1 + 9 + 2.5 });
    expect(w.detectorShare).toBe(0.2);
    expect(w.inputs).toContain('1 frame in 5');
    // face-forgery scoring 2 frames of each 5-frame window (DFD_FACE_FORGERY_FRAMES) counts 2/5 of its per-crop cost
    const sub = videoFromStages(decode, tracked, detectors, 5, { frames: 2, window: 5 });
    if ('error' in sub) throw new Error(sub.error);
    expect(sub.perFrameCpuMs).toMatchObject({ faceForgery: 3.6, total: 2 + 1 + 2 + 4 + 1 + 3.6 + 2.5 });
    expect(sub.forgeryShare).toBeCloseTo(0.4, 12);
    expect(sub.inputs).toContain('2 of each 5-frame window');
    expect(w.forgeryShare).toBe(1);
  });
});

describe('benchmark statistics', () => {
  it('nearest-rank percentiles and summaries', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 unsorted
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.95)).toBe(95);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBeNaN();
    const s = summarize(xs);
    expect(s).toMatchObject({ n: 100, p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
  });

  it('least-squares line recovers slope and intercept', () => {
    const x = [0, 1, 2, 3, 4];
    const fit = linearFit(x, x.map((v) => 3 + 2 * v));
    expect(fit.slope).toBeCloseTo(2, 10);
    expect(fit.intercept).toBeCloseTo(3, 10);
    expect(fit.r2).toBeCloseTo(1, 10);
    expect(linearFit([1, 2, 3], [5, 5, 5]).slope).toBe(0);
  });
});

describe('load generators refuse non-loopback targets', () => {
  it('loadgen URL guard', () => {
    expect(() => assertLoopback('http://10.1.2.3:8080')).toThrow(/non-loopback/);
    expect(() => assertLoopback('http://example.com')).toThrow(/non-loopback/);
    expect(assertLoopback('http://127.0.0.1:8080').port).toBe('8080');
    expect(assertLoopback('http://[::1]:9000').port).toBe('9000');
  });

  it('RTP sender guard', () => {
    const s = new RtpLoadSender({ frames: [new Uint8Array([0xfc, 0xff, 0xfe])] });
    try {
      expect(() => s.add({ ip: '192.168.1.5', port: 5004, ssrc: 1, payloadType: 111 })).toThrow(/non-loopback/);
      s.add({ ip: '127.0.0.1', port: 5004, ssrc: 1, payloadType: 111 });
      expect(s.streams).toBe(1);
    } finally {
      s.close();
      s.close(); // idempotent
    }
  });
});

describe('RtpLoadSender phases', () => {
  async function arrivalOrder(phases: number): Promise<number[]> {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const port = (rx.address() as AddressInfo).port;
    const s = new RtpLoadSender({ frames: [new Uint8Array([0xfc, 0xff, 0xfe])], phases });
    const order: number[] = [];
    const got = new Promise<void>((resolve) =>
      rx.on('message', (m: Buffer) => {
        order.push(m.readUInt32BE(8));
        if (order.length === 12) resolve();
      }),
    );
    try {
      for (let ssrc = 1; ssrc <= 4; ssrc++) s.add({ ip: '127.0.0.1', port, ssrc, payloadType: 111 });
      s.start();
      await got;
      return order.slice(0, 12);
    } finally {
      s.close();
      rx.close();
    }
  }

  it('spreads streams over the 20 ms period in phase slots, each stream once per period', async () => {
    expect(await arrivalOrder(2)).toEqual([1, 3, 2, 4, 1, 3, 2, 4, 1, 3, 2, 4]);
    expect(await arrivalOrder(3)).toEqual([1, 4, 2, 3, 1, 4, 2, 3, 1, 4, 2, 3]);
  });

  it('phases 1 sends every stream in one burst (lockstep)', async () => {
    expect(await arrivalOrder(1)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it('rejects phases outside 1..20', () => {
    expect(() => new RtpLoadSender({ frames: [new Uint8Array([1])], phases: 0 })).toThrow(/phases/);
    expect(() => new RtpLoadSender({ frames: [new Uint8Array([1])], phases: 21 })).toThrow(/phases/);
  });
});

describe('chart', () => {
  it('renders series as SVG paths with escaped labels', () => {
    const svg = panelSvg({ title: 'A < B', xLabel: 'x', yLabel: 'y', series: [{ label: 'p95', color: '#000', points: [[1, 10], [2, 20]] }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('A &lt; B');
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(2);
  });
});

describe('forwarding-delay probe through a real SFU', () => {
  let service: Service;
  let agent: AgentClient;
  beforeAll(async () => {
    await ensureFixtures();
    service = await startTestService();
    agent = await AgentClient.start(fixtures.speechWav);
  }, 30_000);
  afterAll(async () => {
    await agent?.close();
    await service?.close();
  });

  it('matches every forwarded probe packet to its send time', async () => {
    const room = await service.rooms.getOrCreate('probe');
    const src = new Peer({ id: 'src', displayName: 'Probe', role: 'participant', notify: () => {} });
    room.join(src);
    const ingest = await room.createRtpIngest(src, { kind: 'audio', ssrc: 4242, payloadType: 111 });
    const { port } = await agent.probeOpen();
    const transport = await room.router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
    await transport.connect({ ip: '127.0.0.1', port });
    const consumer = await transport.consume({ producerId: ingest.producerId, rtpCapabilities: room.router.rtpCapabilities, paused: true });
    await consumer.resume();
    await agent.probeStart({ ip: ingest.ip, port: ingest.port, ssrc: 4242, payloadType: 111 });
    let got = { delaysMs: [] as number[], sent: 0, received: 0, unmatched: 0, jitterMs: 0 };
    const deadline = Date.now() + 10_000;
    const delays: number[] = [];
    while (delays.length < 40 && Date.now() < deadline) {
      await sleep(200);
      got = await agent.probeCollect();
      delays.push(...got.delaysMs);
    }
    await agent.probeStop();
    expect(delays.length).toBeGreaterThanOrEqual(40);
    expect(got.unmatched).toBe(0);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(5000);
    }
  }, 30_000);
});
