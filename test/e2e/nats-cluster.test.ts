/**
 * Scale-out on a real 3-node NATS JetStream cluster (issue 16): two service nodes with remote analysis
 * (DFD_ANALYSIS=remote, NATS_URL listing the three nodes, DFD_JETSTREAM_REPLICAS=3, rooms pinned by
 * DFD_ROOM_REGISTRY=nats) and two `npm run worker` processes as the `worker` user of
 * deploy/nats/dfd-auth.conf. Node A runs in this process; node B is `npm start`'s program in its own
 * process group. An RTP caller on node A has its windows scored by the workers and its events
 * published and stored; a participant holds a room on node B. Then, mid-call:
 *   1. one worker is killed (SIGKILL): the other one goes on serving, scores keep coming;
 *   2. the NATS node service A is connected to is killed: A reconnects to another node, score and
 *      verdict events keep coming, and the audit stream (3 replicas) keeps storing them;
 *   3. service node B is killed (SIGKILL, whole process group): A's call goes on, and B's room is free
 *      for A once its lease runs out.
 * Recovery times are printed (`nats-cluster-e2e` line) and collected in docs/scaling.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DfdEvent } from '../../events/schema.js';
import type { RtpLoadSender } from '../../load-tests/RtpLoadSender.js';
import type { Service } from '../../src/Service.js';
import { removeDir, testModelsDir } from '../helpers/models.js';
import { startTestService } from '../helpers/service.js';
import { speakIntoRoom } from '../helpers/rtpCaller.js';
import { NatsCluster } from '../helpers/natsCluster.js';
import { untilAsyncValue, untilValue } from '../helpers/until.js';
import { TestSignallingClient } from '../helpers/wsClient.js';
import { exited, startWorkerProcess } from '../../cluster/testing/workerProcess.js';

const ROOM = 'cluster';
const LEASE_MS = 3000;

describe('scale-out on a 3-node NATS cluster: a worker, a NATS node and a service node lost mid-call', () => {
  let cluster: NatsCluster;
  let service: Service;
  let modelsDir: string;
  let sender: RtpLoadSender | undefined;
  const workers: ChildProcess[] = [];
  const subscribers: NatsConnection[] = [];
  let nodeB: ChildProcess | undefined;
  let nodeBPort = 0;
  let nodeBDir = '';

  beforeAll(async () => {
    cluster = await NatsCluster.start();
    modelsDir = testModelsDir();
    service = await startTestService(
      { modelsDir, analysis: 'remote', natsUrl: cluster.urls, natsUser: 'service', natsPass: cluster.passwords.service, jetstreamReplicas: 3, roomRegistry: 'nats', nodeId: 'node-a', publicUrl: 'http://node-a.test', roomLeaseMs: LEASE_MS, challenges: false, faceAnalysis: false },
      { events: true, analysis: true },
    );
    // Node B: the service's own program, in its own process group (so SIGKILL takes its mediasoup workers too).
    nodeBDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-node-b-'));
    nodeB = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        DFD_PORT: '0', DFD_HOST: '127.0.0.1', DFD_SIP_PORT: '0', DFD_DATA_DIR: nodeBDir, DFD_MEDIASOUP_WORKERS: '1', DFD_OPERATOR_PASSWORD: 'test-password', DFD_TOKEN_SECRET: 'test-secret',
        NATS_URL: cluster.urls.join(','), NATS_USER: 'service', NATS_PASS: cluster.passwords.service, DFD_JETSTREAM_REPLICAS: '3',
        DFD_ANALYSIS: 'remote', DFD_MODELS_DIR: modelsDir, DFD_ANALYSIS_NICE: '0', DFD_CHALLENGES: 'false', DFD_FACE_ANALYSIS: 'false',
        DFD_ROOM_REGISTRY: 'nats', DFD_NODE_ID: 'node-b', DFD_PUBLIC_URL: 'http://node-b.test', DFD_ROOM_LEASE_MS: String(LEASE_MS), LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    nodeB.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    nodeBPort = await new Promise<number>((resolve, reject) => {
      nodeB!.stdout!.on('data', (d: Buffer) => {
        out = (out + d.toString()).slice(-8000);
        const m = /"msg":"service listening".*?"port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      nodeB!.once('exit', (code) => reject(new Error(`service node B exited (${code}) before listening: ${out}`)));
    });
    nodeB.once('exit', (code, signal) => process.stderr.write(`service node B exited (${code ?? signal}): ${out.slice(-3000)}\n`));
    for (let i = 0; i < 2; i++) {
      const { child } = await startWorkerProcess(undefined, { NATS_URL: cluster.urls.join(','), NATS_USER: 'worker', NATS_PASS: cluster.passwords.worker, DFD_MODELS_DIR: modelsDir });
      workers.push(child);
    }
  }, 180_000);

  afterAll(async () => {
    sender?.close();
    if (nodeB?.pid && nodeB.exitCode === null && nodeB.signalCode === null) process.kill(-nodeB.pid, 'SIGKILL');
    if (nodeBDir) fs.rmSync(nodeBDir, { recursive: true, force: true });
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    for (const nc of subscribers) await nc.close().catch(() => undefined);
    await service?.close();
    await cluster?.close();
    removeDir(modelsDir);
  });

  const join = async (port: number, room: string, peer: string) => {
    const c = await TestSignallingClient.connect(port);
    try {
      return await c.request('join', { token: service.tokens.sign({ room, peer, name: peer, role: 'participant' }, 600) });
    } finally {
      if (peer.startsWith('probe')) c.ws.close();
    }
  };

  it('keeps scoring, publishing and storing through the loss of a worker, of the NATS node the service uses, and of another service node', async () => {
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

    // A participant holds a room on node B; node A sends joins for it there.
    expect((await join(nodeBPort, 'on-b', 'bob')).ok).toBe(true);
    expect(await join(service.port, 'on-b', 'probe-0')).toMatchObject({ ok: false, error: { code: 'ERR_WRONG_NODE', details: { node: 'node-b', url: 'http://node-b.test' } } });

    sender = await speakIntoRoom(service, ROOM, 5151);
    await untilValue('scores and a verdict through the workers', () => scoresAfter(0) >= 2 && verdictsAfter(0) >= 1, 90_000);
    expect(service.pipeline?.inference.constructor.name).toBe('RemoteInference');
    // The API of the other service node shows this node's call and the caller's verdict: every node reads every event.
    const login = await fetch(`http://127.0.0.1:${nodeBPort}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'test-password' }) });
    const bAuth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
    const seenOnB = await untilAsyncValue(
      'the call of node A in node B\'s /v1/rooms',
      async () => {
        const r = (await (await fetch(`http://127.0.0.1:${nodeBPort}/v1/rooms`, { headers: bAuth })).json()) as { rooms: { roomId: string; participants: { peerId: string; state: string }[] }[] };
        return r.rooms.find((x) => x.roomId === ROOM && x.participants.some((p) => p.peerId === 'caller'));
      },
      30_000,
    );
    expect(seenOnB.participants.find((p) => p.peerId === 'caller')?.state).toBeDefined();

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

    // 3. Service node B dies (SIGKILL to its process group: no release of its room).
    process.kill(-nodeB!.pid!, 'SIGKILL');
    await exited(nodeB!);
    const serviceKilled = Date.now();
    let probes = 0;
    let registryRetries = 0;
    for (const deadline = Date.now() + 30_000; ; ) {
      const r = await join(service.port, 'on-b', `probe-${++probes}`);
      if (r.ok) break;
      // Until the lease runs out: node B's. While JetStream moves the bucket's leader after the node kills, a
      // claim can also time out: ERR_ROOM_REGISTRY, retryable.
      expect(['ERR_WRONG_NODE', 'ERR_ROOM_REGISTRY']).toContain(r.error?.code);
      if (r.error?.code === 'ERR_ROOM_REGISTRY') registryRetries++;
      if (Date.now() > deadline) throw new Error('node B\'s room was never released');
      await new Promise((res) => setTimeout(res, 200));
    }
    const roomFreeAfterMs = Date.now() - serviceKilled;
    // Node A's own call went on meanwhile.
    await untilValue('scores on node A after node B was killed', () => scoresAfter(serviceKilled) >= 1, 60_000);
    process.stdout.write(
      `${JSON.stringify({ test: 'nats-cluster-e2e', serviceNode: served, reconnectedTo, firstScoreAfterWorkerKillMs: afterWorker, firstScoreAfterNatsNodeKillMs: afterNode, auditReadableAndGrownAfterMs: auditStoringAfterMs, auditRecordsBefore: storedBefore, auditRecordsAfter: nowStored, leaseMs: LEASE_MS, deadNodeRoomFreeAfterMs: roomFreeAfterMs, registryRetries })}\n`,
    );
  }, 360_000);
});
