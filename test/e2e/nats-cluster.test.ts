/**
 * Scale-out on a real 3-node NATS JetStream cluster (issue 16): a service node with remote analysis
 * (DFD_ANALYSIS=remote, NATS_URL listing the three nodes, DFD_JETSTREAM_REPLICAS=3) and two
 * `npm run worker` processes as the `worker` user of deploy/nats/dfd-auth.conf. An RTP caller's
 * windows are scored by the workers and its events published and stored. Then, mid-call:
 *   1. one worker is killed (SIGKILL): the other one goes on serving, scores keep coming;
 *   2. the NATS node the service is connected to is killed: the service reconnects to another node,
 *      score and verdict events keep coming, and the audit stream (3 replicas) keeps storing them.
 * Recovery times are printed (`nats-cluster-e2e` line) and collected in docs/scaling.md.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DfdEvent } from '../../events/schema.js';
import { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import { encodeOpus, readWav } from '../../pipeline/testing/audioSupport.js';
import { Peer } from '../../sfu/Peer.js';
import type { Service } from '../../src/Service.js';
import { fixtures } from '../fixtures/build.js';
import { removeDir, testModelsDir } from '../helpers/models.js';
import { startTestService } from '../helpers/service.js';
import { NatsCluster } from '../helpers/natsCluster.js';
import { untilValue } from '../helpers/until.js';
import { exited, startWorkerProcess } from '../../cluster/testing/workerProcess.js';

const ROOM = 'cluster';

describe('scale-out on a 3-node NATS cluster: a worker and a NATS node lost mid-call', () => {
  let cluster: NatsCluster;
  let service: Service;
  let modelsDir: string;
  let sender: RtpLoadSender | undefined;
  const workers: ChildProcess[] = [];
  const subscribers: NatsConnection[] = [];

  beforeAll(async () => {
    cluster = await NatsCluster.start();
    modelsDir = testModelsDir();
    service = await startTestService(
      { modelsDir, analysis: 'remote', natsUrl: cluster.urls, natsUser: 'service', natsPass: cluster.passwords.service, jetstreamReplicas: 3, challenges: false, faceAnalysis: false },
      { events: true, analysis: true },
    );
    for (let i = 0; i < 2; i++) {
      const { child } = await startWorkerProcess(undefined, { NATS_URL: cluster.urls.join(','), NATS_USER: 'worker', NATS_PASS: cluster.passwords.worker, DFD_MODELS_DIR: modelsDir });
      workers.push(child);
    }
  }, 180_000);

  afterAll(async () => {
    sender?.close();
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    for (const nc of subscribers) await nc.close().catch(() => undefined);
    await service?.close();
    await cluster?.close();
    removeDir(modelsDir);
  });

  it('keeps scoring, publishing and storing through the loss of a worker and of the NATS node the service uses', async () => {
    const served = service.bus!.connection.info?.server_name;
    expect(served, 'the service is connected to a cluster node').toBeDefined();
    // Watch from a node the test will not kill, as the `reader` user a dashboard would use.
    const watchNode = cluster.nodes.find((n) => n.name !== served)!;
    const watcher = await connect({ servers: watchNode.url, user: 'reader', pass: cluster.passwords.reader });
    subscribers.push(watcher);
    const events: { e: DfdEvent; at: number }[] = [];
    watcher.subscribe(`dfd.v1.${ROOM}.>`, { callback: (err, m) => void (!err && events.push({ e: m.json<DfdEvent>(), at: Date.now() })) });
    await watcher.flush();
    const scoresAfter = (t: number): number => events.filter((x) => x.e.type === 'score' && x.at > t).length;
    const verdictsAfter = (t: number): number => events.filter((x) => x.e.type === 'verdict' && x.at > t).length;

    const room = await service.rooms.getOrCreate(ROOM);
    const caller = new Peer({ id: 'caller', displayName: 'Caller', role: 'participant', notify: () => {} });
    room.join(caller);
    const t = await room.createRtpIngest(caller, { kind: 'audio', ssrc: 5151, payloadType: 111 });
    sender = new RtpLoadSender({ frames: encodeOpus(readWav(fixtures.speechWav).samples) });
    sender.add({ ip: t.ip, port: t.port, ssrc: 5151, payloadType: 111 });
    sender.start();
    await untilValue('scores and a verdict through the workers', () => scoresAfter(0) >= 2 && verdictsAfter(0) >= 1, 90_000);
    expect(service.pipeline?.inference.constructor.name).toBe('RemoteInference');

    // 1. A worker dies; the other one serves (requests to the dead one time out and are sent again).
    workers[0]!.kill('SIGKILL');
    await exited(workers[0]!);
    const workerKilled = Date.now();
    await untilValue('scores after a worker was killed', () => scoresAfter(workerKilled) >= 2, 60_000);
    const afterWorker = events.find((x) => x.e.type === 'score' && x.at > workerKilled)!.at - workerKilled;

    // 2. The NATS node the service is connected to dies.
    const admin = await connect({ servers: watchNode.url, user: 'service', pass: cluster.passwords.service });
    subscribers.push(admin);
    const stored = async (): Promise<number> => (await (await admin.jetstreamManager()).streams.info('DFD_AUDIT')).state.messages;
    const replicas = (await (await admin.jetstreamManager()).streams.info('DFD_AUDIT')).config.num_replicas;
    expect(replicas).toBe(3);
    const storedBefore = await stored();
    await cluster.kill(served!);
    const nodeKilled = Date.now();
    await untilValue('score and verdict events after the NATS node was killed', () => scoresAfter(nodeKilled) >= 2 && verdictsAfter(nodeKilled) >= 1, 90_000);
    const afterNode = events.find((x) => x.e.type === 'score' && x.at > nodeKilled)!.at - nodeKilled;
    const reconnectedTo = service.bus!.connection.info?.server_name;
    expect(reconnectedTo).not.toBe(served);
    // The audit trail (3 replicas) still stores: more records than before the kill.
    // Stream info times out while the stream elects a new leader (the killed node may have led it).
    let nowStored = 0;
    for (const deadline = Date.now() + 60_000; nowStored <= storedBefore && Date.now() < deadline; ) {
      nowStored = await stored().catch(() => 0);
      if (nowStored <= storedBefore) await new Promise((r) => setTimeout(r, 250));
    }
    const auditStoringAfterMs = Date.now() - nodeKilled;
    expect(nowStored).toBeGreaterThan(storedBefore);
    expect(service.bus!.auditStatus.storing).toBe(true);
    process.stdout.write(
      `${JSON.stringify({ test: 'nats-cluster-e2e', serviceNode: served, reconnectedTo, firstScoreAfterWorkerKillMs: afterWorker, firstScoreAfterNatsNodeKillMs: afterNode, auditReadableAndGrownAfterMs: auditStoringAfterMs, auditRecordsBefore: storedBefore, auditRecordsAfter: nowStored })}\n`,
    );
  }, 360_000);
});
