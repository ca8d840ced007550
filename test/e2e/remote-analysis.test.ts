/**
 * DFD_ANALYSIS=remote end to end: a real service (mediasoup, decode, VAD, windows) whose detector
 * inference runs on a separate `npm run worker` process over a real nats-server. A caller's RTP
 * becomes score and verdict events on NATS as with local analysis; the worker is killed with
 * SIGKILL and another one started: scores resume, nothing else restarts.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServerProcess } from '../../events/NatsServerProcess.js';
import type { DfdEvent } from '../../events/schema.js';
import type { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import type { Service } from '../../src/Service.js';
import { removeDir, testModelsDir } from '../helpers/models.js';
import { startTestService } from '../helpers/service.js';
import { speakIntoRoom } from '../helpers/rtpCaller.js';
import { exited, startWorkerProcess } from '../../cluster/testing/workerProcess.js';
import { registry } from '../../kernel/metrics.js';

/** The service side's request outcomes and drops, for a failure message. */
async function remoteOutcomes(): Promise<string> {
  const get = async (name: string): Promise<string> => JSON.stringify((await registry.getSingleMetric(name)?.get())?.values.map((v) => [v.labels, v.value]) ?? []);
  return `requests ${await get('dfd_remote_requests_total')} drops ${await get('dfd_windows_dropped_total')} windows ${await get('dfd_audio_windows_total')}`;
}

describe('remote analysis: service node + analysis worker over NATS', () => {
  let nats: NatsServerProcess;
  let service: Service;
  let nc: NatsConnection;
  let modelsDir: string;
  let sender: RtpLoadSender | undefined;
  const workers: ChildProcess[] = [];

  async function startWorker(): Promise<ChildProcess> {
    const { child } = await startWorkerProcess(nats, { DFD_MODELS_DIR: modelsDir });
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    // Room for the service's audit trail, call history and anchors (JetStream), as an operator's NATS has.
    nats = await NatsServerProcess.start({ maxFileStore: 4 * 1024 ** 3 });
    modelsDir = testModelsDir();
    const a = nats.serviceAuth;
    service = await startTestService(
      { modelsDir, analysis: 'remote', natsUrl: [nats.url], ...('user' in a ? { natsUser: a.user, natsPass: a.pass } : { natsToken: a.token }), challenges: false, faceAnalysis: false },
      { events: true, analysis: true },
    );
    nc = await connect({ servers: nats.url, ...nats.serviceAuth });
  }, 120_000);

  afterAll(async () => {
    sender?.close();
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await nc?.close();
    await service?.close();
    await nats?.close();
    removeDir(modelsDir);
  });

  it("a caller's audio is scored by the worker and its verdict published; SIGKILL the worker, start another: scores resume", async () => {
    const first = await startWorker();
    const events: DfdEvent[] = [];
    const t0 = Date.now();
    const times: string[] = [];
    const sub = nc.subscribe('dfd.v1.remote.*.*', {
      callback: (err, m) => {
        if (err) return;
        const e = m.json<DfdEvent>();
        events.push(e);
        times.push(`${e.type}@${Date.now() - t0}`);
      },
    });
    await nc.flush();

    sender = await speakIntoRoom(service, 'remote', 4242);

    const until = async (cond: () => boolean, what: string, ms = 90_000): Promise<void> => {
      for (const deadline = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${times.join(' ')}; ${await remoteOutcomes()}`);
    };
    await until(() => events.some((e) => e.type === 'score') && events.some((e) => e.type === 'verdict' && e.payload.state !== 'collecting'), 'a score and a verdict from the worker');
    const score = events.find((e) => e.type === 'score')!;
    expect(score).toMatchObject({ roomId: 'remote', peerId: 'caller', payload: { detector: 'test-voice' } });
    expect(service.pipeline?.inference.constructor.name).toBe('RemoteInference');

    first.kill('SIGKILL');
    await exited(first);
    const killedAt = Date.now();
    const scoresBefore = events.filter((e) => e.type === 'score').length;
    await startWorker();
    const restartedAt = Date.now();
    await until(() => events.filter((e) => e.type === 'score').length > scoresBefore + 1, 'scores after the new worker started');
    const resumed = Date.now();
    process.stdout.write(`events: ${times.join(' ')}\n${await remoteOutcomes()}\n`);
    process.stdout.write(`remote-analysis e2e: new worker serving ${restartedAt - killedAt} ms after the kill; scores resumed ${resumed - restartedAt} ms after it served (${resumed - killedAt} ms after the kill)\n`);
    expect(events.filter((e) => e.type === 'verdict').at(-1)?.peerId).toBe('caller');
    sub.unsubscribe();
  }, 240_000);
});
