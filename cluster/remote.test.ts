/**
 * Remote analysis with real parts: a real nats-server, real `npm run worker` processes
 * (src/worker.ts: InferencePool threads, onnxruntime), and the service side's RemoteInference.
 * A worker killed with SIGKILL loses no window silently: what it held is retried on another
 * worker or dropped with a reason; a new worker picks the work up with nothing restarted.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../events/NatsServerProcess.js';
import { registry } from '../kernel/metrics.js';
import { decodeWorkReply, decodeWorkRequest, encodeWorkReply, encodeWorkRequest } from '../events/workWire.js';
import { ModelRegistry, type AvailableModel } from '../detectors/registry/ModelRegistry.js';
import { buildTestModels } from '../detectors/testing/testModels.js';
import { audioWindow, faceWindow, streamRef } from '../detectors/testing/windows.js';
import { InferencePool } from '../pipeline/inference/InferencePool.js';
import type { DetectorScore, DropEvent, InferenceBackend } from '../pipeline/inference/InferenceBackend.js';
import type { AnalysisWindow } from '../pipeline/messages.js';
import { RemoteInference, workRequestOf } from './RemoteInference.js';
import { workSubjects } from './workSubjects.js';
import { exited, startWorkerProcess } from './testing/workerProcess.js';

const copy = (w: AnalysisWindow): AnalysisWindow => (w.type === 'audio-window' ? { ...w, samples: w.samples.slice() } : { ...w, crops: w.crops.slice() });

let nats: NatsServerProcess;
let nc: NatsConnection;
let modelsDir: string;
let models: AvailableModel[];
const workers: ChildProcess[] = [];

/** An analysis worker process on the test models (what `npm run worker` runs). */
/** DFD_FACE_FORGERY_FRAMES on the worker process and faceForgeryFrames on the local pool: the same scoring on both. */
const FACE_FORGERY_FRAMES = 2;

async function startWorker(): Promise<ChildProcess> {
  // The face-forgery model scores 2 frames of each face window on the worker, as the local pool below is set.
  const { child } = await startWorkerProcess(nats, { DFD_MODELS_DIR: modelsDir, DFD_FACE_FORGERY_FRAMES: String(FACE_FORGERY_FRAMES) });
  workers.push(child);
  return child;
}

function collect(r: InferenceBackend): { scores: DetectorScore[]; drops: DropEvent[] } {
  const out = { scores: [] as DetectorScore[], drops: [] as DropEvent[] };
  r.on('score', (s) => out.scores.push(s));
  r.on('dropped', (d) => out.drops.push(d));
  return out;
}

/** dfd_windows_dropped_total on this process's registry, summed over the series matching `labels`. */
async function droppedCount(labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric('dfd_windows_dropped_total');
  if (!m) return 0;
  return (await m.get()).values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 10))) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  nats = await NatsServerProcess.start();
  nc = await connect({ servers: nats.url, ...nats.serviceAuth });
  modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-remote-'));
  buildTestModels(modelsDir);
  const reg = new ModelRegistry({ dir: modelsDir });
  await reg.load();
  models = reg.available();
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await nc?.close();
  await nats?.close();
  fs.rmSync(modelsDir, { recursive: true, force: true });
});

describe('remote analysis (real nats-server, real worker processes)', () => {
  it('scores windows on a worker exactly as the local pool does; SIGKILL the worker: windows are dropped with a reason; a new worker serves again', async () => {
    const first = await startWorker();
    const remote = new RemoteInference(nc, models, { timeoutMs: 1_500, retries: 1 });
    const got = collect(remote);
    const local = new InferencePool(models, { faceForgeryFrames: FACE_FORGERY_FRAMES });
    const expected = collect(local);
    await local.ready();
    const windows = [audioWindow({ seq: 1, seconds: 2, seed: 3 }), audioWindow({ seq: 2, seconds: 1, seed: 4 }), faceWindow({ seq: 3, frames: 3, seed: 5 })];
    for (const w of windows) {
      remote.submit(copy(w));
      local.submit(copy(w));
    }
    await until(() => got.scores.length + got.drops.length >= 3 && expected.scores.length === 3, 'remote and local scores').catch((e: unknown) => {
      throw new Error(`${String(e)}: remote ${JSON.stringify({ scores: got.scores.map((s) => s.seq), drops: got.drops })}, local ${expected.scores.length}`);
    });
    await local.close();
    expect(got.drops.map((d) => `${d.seq} ${d.detector} ${d.reason}`)).toEqual([]);
    for (const s of expected.scores) {
      const r = got.scores.find((x) => x.seq === s.seq)!;
      expect(r).toMatchObject({ detector: s.detector, task: s.task, modelVersion: s.modelVersion, stream: s.stream, wallEnd: s.wallEnd });
      expect(r.pFake).toBeCloseTo(s.pFake, 6);
      expect(r.evidence).toBeCloseTo(s.evidence, 9);
    }

    // The worker dies: its windows are not lost silently.
    first.kill('SIGKILL');
    await exited(first);
    const killedAt = performance.now();
    remote.submit(copy(audioWindow({ seq: 10, seconds: 2, seed: 6 })));
    await until(() => got.drops.some((d) => d.seq === 10), 'the window sent while no worker runs to be dropped');
    expect(['no-workers', 'remote-timeout']).toContain(got.drops.find((d) => d.seq === 10)!.reason);

    // A new worker: scores resume, nothing else restarted.
    await startWorker();
    let seq = 11;
    for (;;) {
      remote.submit(copy(audioWindow({ seq, seconds: 2, seed: seq })));
      const s = seq++;
      await until(() => got.scores.some((x) => x.seq === s) || got.drops.some((d) => d.seq === s), `window ${s}`);
      if (got.scores.some((x) => x.seq === s)) break;
    }
    process.stdout.write(`remote analysis: scores resumed ${Math.round(performance.now() - killedAt)} ms after the worker was killed (new worker start-up included)\n`);
    await remote.close();
  }, 180_000);

  it('a worker answers malformed or foreign work messages with ERR_WORK_MESSAGE and keeps serving; /healthz and /metrics say so', async () => {
    // This worker alone in the queue group, so its counters see every message sent here.
    for (const x of workers) if (x.exitCode === null && x.signalCode === null) x.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    const { child: w, port } = await startWorkerProcess(nats, { DFD_MODELS_DIR: modelsDir });
    workers.push(w);
    const subject = workSubjects('dfd.v1').infer;
    const ask = async (data: Uint8Array): Promise<ReturnType<typeof decodeWorkReply>> => decodeWorkReply((await nc.request(subject, data, { timeout: 10_000 })).data);
    const garbage: Uint8Array[] = [new Uint8Array([1, 2, 3]), new TextEncoder().encode('{"v":1}'), new Uint8Array([0x44, 0x46, 0x57, 9, 0, 0, 0, 0])];
    const { header, body } = workRequestOf(audioWindow({ seq: 1, seconds: 1 }));
    // A header that lies about its body, and one with an unknown field.
    garbage.push(encodeWorkRequest({ ...header, samples: 10 } as typeof header, body));
    garbage.push(encodeWorkRequest({ ...header, extra: 1 } as unknown as typeof header, body));
    for (const g of garbage) expect(await ask(g)).toMatchObject({ v: 1, error: { code: 'ERR_WORK_MESSAGE' } });
    const ok = await ask(encodeWorkRequest(header, body));
    expect('results' in ok && ok.results.map((r) => r.type)).toEqual(['score']);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, nats: true, detectors: expect.arrayContaining(['test-voice', 'test-face']), pending: 0 });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lines = metrics.split('\n');
    expect(lines).toContain(`dfd_worker_requests_total{outcome="rejected"} ${garbage.length}`);
    expect(lines).toContain('dfd_worker_requests_total{outcome="ok"} 1');
    expect(w.exitCode).toBeNull();
    w.kill('SIGTERM');
    expect(await new Promise((r) => w.once('exit', (code) => r(code)))).toBe(0);
  }, 120_000);

  it("a speaker embedding comes back with the channel of the window this node sent (a noise-suppressed sender's included), on a wire that carries wideband or telephone", async () => {
    // The shipped speaker model alone, on its own worker process (the test models' workers stopped first, so that
    // every window reaches this one).
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-remote-spk-'));
    try {
      fs.cpSync(path.resolve('detectors/models/speaker-embed'), path.join(dir, 'speaker-embed'), { recursive: true });
      const reg = new ModelRegistry({ dir });
      await reg.load();
      const { child } = await startWorkerProcess(nats, { DFD_MODELS_DIR: dir });
      workers.push(child);
      const remote = new RemoteInference(nc, reg.available(), { timeoutMs: 10_000, retries: 1 });
      const channels = new Map<number, string>();
      remote.on('embedding', (e) => channels.set(e.seq, e.channel));
      const marks = [undefined, 'suppressed', 'telephone', 'wideband'] as const;
      marks.forEach((channel, i) => {
        const w = audioWindow({ stream: streamRef(`spk${i}`), seq: i + 1, seconds: 2, seed: 70 + i });
        if (w.type !== 'audio-window') throw new Error('audio expected');
        remote.submit({ ...w, quality: { ...w.quality, ...(channel ? { channel } : {}) } });
      });
      await until(() => channels.size === marks.length, 'four embeddings');
      expect([...channels.entries()].sort((x, y) => x[0] - y[0]).map(([, c]) => c)).toEqual(['wideband', 'suppressed', 'telephone', 'wideband']);
      await remote.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('without any worker, windows are dropped as no-workers at once (never queued without bound)', async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    const remote = new RemoteInference(nc, models, { timeoutMs: 5_000 });
    const got = collect(remote);
    const before = await droppedCount({ detector: 'test-face', reason: 'no-workers' });
    remote.submit(copy(faceWindow({ seq: 1, stream: streamRef('cam', 'video') })));
    await until(() => got.drops.length > 0, 'a drop');
    // counted where the local pool counts its drops, so one alert and one panel serve both placements
    expect(await droppedCount({ detector: 'test-face', reason: 'no-workers' })).toBe(before + 1);
    const face = models.find((m) => m.id === 'test-face')!;
    expect(got.drops).toEqual([expect.objectContaining({ seq: 1, reason: 'no-workers', detector: 'test-face', modelVersion: face.manifest.version })]);
    await remote.close();
  }, 60_000);

  it("a worker's drop names the worker's own model version; from a worker that leaves it out, the version this service lists", async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    // A worker of another release on the real queue group: it answers every window with a drop, with its version (seq 1) or without (seq 2).
    const subjects = workSubjects('dfd.v1');
    const voice = models.find((m) => m.id === 'test-voice')!;
    const sub = nc.subscribe(subjects.infer, {
      queue: subjects.queue,
      callback: (_err, m) => {
        const { header } = decodeWorkRequest(m.data);
        const version = header.seq === 1 ? { modelVersion: '9.9.9' } : {};
        m.respond(encodeWorkReply({ v: 1, results: [{ type: 'dropped', detector: voice.id, task: voice.manifest.task, ...version, reason: 'queue-full' }] }));
      },
    });
    await nc.flush();
    const remote = new RemoteInference(nc, models, { timeoutMs: 5_000 });
    const got = collect(remote);
    remote.submit(copy(audioWindow({ seq: 1, seconds: 1, seed: 7 })));
    remote.submit(copy(audioWindow({ seq: 2, seconds: 1, seed: 8 })));
    await until(() => got.drops.length === 2, 'both drops');
    expect(got.drops.map((d) => [d.seq, d.detector, d.reason, d.modelVersion]).sort()).toEqual([
      [1, 'test-voice', 'queue-full', '9.9.9'],
      [2, 'test-voice', 'queue-full', voice.manifest.version],
    ]);
    await remote.close();
    sub.unsubscribe();
  }, 60_000);
});
