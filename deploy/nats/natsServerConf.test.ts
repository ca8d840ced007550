/**
 * The example configuration for an external NATS (deploy/nats/nats-server.conf) on a real
 * nats-server, run as written but for its listen address and store directory: the `service` user
 * can do all the service does (events into the audit stream, anchors, call history, exports) but
 * cannot erase the audit trail; `reader` receives the events and can publish nothing; a client
 * without the right credentials is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyBundle } from '../../events/AuditLog.js';
import { CallStore } from '../../events/CallStore.js';
import { EventBus } from '../../events/EventBus.js';
import { EvidenceKey } from '../../events/EvidenceKey.js';
import { freePort } from '../../events/NatsServerProcess.js';
import { makeEvent, type DfdEvent } from '../../events/schema.js';

const CONF = fileURLToPath(new URL('nats-server.conf', import.meta.url));
const SERVICE_PASSWORD = 'service-pw-0123456789abcdef';
const READER_PASSWORD = 'reader-pw-0123456789abcdef';
const WORKER_PASSWORD = 'worker-pw-0123456789abcdef';
const ROOM = 'confroom';

const score = (i: number): DfdEvent =>
  makeEvent('score', { roomId: ROOM, peerId: 'alice', displayName: 'Alice', models: [{ id: 'voice-antispoof', version: '1' }] }, { detector: 'voice-antispoof', pFake: 0.1, evidence: 2, windowSeq: i, queueMs: 1, inferenceMs: 1 });

/** The permission errors a connection receives, as "operation subject". */
function denials(nc: NatsConnection): string[] {
  const out: string[] = [];
  void (async () => {
    for await (const st of nc.status()) if (st.permissionContext) out.push(`${st.permissionContext.operation} ${st.permissionContext.subject}`);
  })();
  return out;
}

describe('deploy/nats/nats-server.conf', () => {
  let dir = '';
  let server: ChildProcess | undefined;
  let url = '';
  let bus: EventBus | undefined;
  const open: NatsConnection[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-nats-conf-'));
    const port = await freePort();
    const conf = fs
      .readFileSync(CONF, 'utf8')
      .replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`)
      .replace(/store_dir: ".*"/, `store_dir: ${JSON.stringify(path.join(dir, 'store'))}`);
    expect(conf).toContain(`listen: 127.0.0.1:${port}`);
    expect(conf).toContain(path.join(dir, 'store'));
    fs.writeFileSync(path.join(dir, 'nats-server.conf'), conf, { mode: 0o600 });
    const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => fs.existsSync(p)) ?? 'nats-server';
    let stderr = '';
    server = spawn(binary, ['-c', path.join(dir, 'nats-server.conf')], {
      env: { ...process.env, DFD_NATS_SERVICE_PASSWORD: SERVICE_PASSWORD, DFD_NATS_READER_PASSWORD: READER_PASSWORD, DFD_NATS_WORKER_PASSWORD: WORKER_PASSWORD },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
    url = `nats://127.0.0.1:${port}`;
    await vi.waitFor(
      async () => {
        if (server?.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
        const nc = await connect({ servers: url, user: 'service', pass: SERVICE_PASSWORD, reconnect: false });
        await nc.close();
      },
      { timeout: 30_000, interval: 100 },
    );
  });

  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await bus?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise<void>((r) => server?.once('exit', () => r()));
      server.kill('SIGTERM');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function client(user: string, pass: string): Promise<NatsConnection> {
    const nc = await connect({ servers: url, user, pass, reconnect: false });
    open.push(nc);
    return nc;
  }

  it('refuses clients without the right credentials', async () => {
    const refused = { code: 'AUTHORIZATION_VIOLATION' };
    await expect(connect({ servers: url, reconnect: false })).rejects.toMatchObject(refused);
    await expect(connect({ servers: url, user: 'service', pass: READER_PASSWORD, reconnect: false })).rejects.toMatchObject(refused);
    await expect(connect({ servers: url, user: 'reader', pass: 'not-the-password-0000', reconnect: false })).rejects.toMatchObject(refused);
  });

  it('lets the service publish, store, anchor, export and keep call history, and the reader only receive', async () => {
    const key = EvidenceKey.loadOrCreate();
    bus = await EventBus.connect({ servers: [url], user: 'service', pass: SERVICE_PASSWORD, anchorKey: key, anchorEvery: 2 });
    const b = bus;
    const live: string[] = [];
    b.subscribe({ roomId: ROOM }, (e) => {
      live.push(e.id);
    });
    await b.connection.flush();
    const reader = await client('reader', READER_PASSWORD);
    const readerDenied = denials(reader);
    const readerGot: string[] = [];
    reader.subscribe('dfd.v1.>', { callback: (e, m) => void (e ? undefined : readerGot.push(m.json<DfdEvent>().id)) });
    await reader.flush();

    b.audit.beginCall(ROOM, 'call-1');
    const events = Array.from({ length: 4 }, (_, i) => score(i));
    for (const e of events) expect(b.publish(e).accepted).toBe(true);
    expect(await b.flush()).toBe(true);
    expect(await b.anchorCall(ROOM, 'call-1')).toMatchObject({ index: 3, reason: 'call-end' });
    expect((await b.readAnchors(ROOM, 'call-1')).map((a) => a.index)).toEqual([1, 3, 3]);
    const bundle = await b.exportBundle(ROOM, 'call-1');
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 4 });

    type S = { callId: string };
    const store = await CallStore.open<S>(b.connection, { validate: (v) => v as S });
    await store.put({ callId: 'call-1' });
    expect(await store.loadAll()).toEqual([{ callId: 'call-1' }]);

    const ids = events.map((e) => e.id);
    await vi.waitFor(
      () => {
        expect(live).toEqual(ids);
        expect(readerGot).toEqual(ids);
      },
      { timeout: 10_000 },
    );

    // The reader: no forged event, no JetStream call.
    reader.publish(`dfd.v1.${ROOM}.mallory.verdict`, JSON.stringify(score(9)));
    reader.publish('$JS.API.STREAM.PURGE.DFD_AUDIT', '');
    await reader.flush();
    await vi.waitFor(() => expect(readerDenied.sort()).toEqual(['publish $JS.API.STREAM.PURGE.DFD_AUDIT', `publish dfd.v1.${ROOM}.mallory.verdict`]), { timeout: 10_000 });

    // The service: no purge or deletion of the audit trail.
    const service = await client('service', SERVICE_PASSWORD);
    const jsm = await service.jetstreamManager({ timeout: 3_000 });
    await expect(jsm.streams.purge('DFD_AUDIT')).rejects.toThrow();
    await expect(jsm.streams.delete('DFD_AUDIT')).rejects.toThrow();
    await expect(jsm.streams.deleteMessage('DFD_AUDIT', 1)).rejects.toThrow();
    const after = await b.exportBundle(ROOM, 'call-1');
    expect(verifyBundle(after)).toMatchObject({ ok: true, records: 4 });
    expect(live).toEqual(ids);
  });

  it('lets an analysis worker answer analysis windows and nothing else; the reader never sees a window', async () => {
    const service = await client('service', SERVICE_PASSWORD);
    const worker = await client('worker', WORKER_PASSWORD);
    const reader = await client('reader', READER_PASSWORD);
    const workerDenied = denials(worker);
    const readerDenied = denials(reader);
    const subject = 'dfd.v1_work.v1.infer';
    worker.subscribe(subject, { queue: 'dfd-analysis-workers', callback: (e, m) => void (e ? undefined : m.respond(new TextEncoder().encode('scored'))) });
    await worker.flush();
    const readerSaw: string[] = [];
    reader.subscribe('dfd.v1_work.>', { callback: (e, m) => void (e ? undefined : readerSaw.push(m.subject)) });
    await reader.flush();
    const reply = await service.request(subject, new Uint8Array([1, 2, 3]), { timeout: 5_000 });
    expect(new TextDecoder().decode(reply.data)).toBe('scored');
    // The worker: no event, no forged window, no event subscription.
    worker.publish(`dfd.v1.${ROOM}.mallory.verdict`, JSON.stringify(score(9)));
    worker.publish(subject, 'forged');
    worker.subscribe('dfd.v1.>');
    await worker.flush();
    await vi.waitFor(() => expect(workerDenied.sort()).toEqual([`publish dfd.v1.${ROOM}.mallory.verdict`, `publish ${subject}`, 'subscription dfd.v1.>']), { timeout: 10_000 });
    await vi.waitFor(() => expect(readerDenied).toEqual(['subscription dfd.v1_work.>']), { timeout: 10_000 });
    expect(readerSaw).toEqual([]);
  });

  it('lets service nodes forward operator actions to each other; a worker or the reader can neither send nor take one', async () => {
    const a = await client('service', SERVICE_PASSWORD);
    const b = await client('service', SERVICE_PASSWORD);
    const worker = await client('worker', WORKER_PASSWORD);
    const reader = await client('reader', READER_PASSWORD);
    const workerDenied = denials(worker);
    const readerDenied = denials(reader);
    const subject = 'dfd.v1_action.v1.bm9kZS1h'; // node-a, as cluster/ActionRelay.ts names it
    a.subscribe(subject, { callback: (e, m) => void (e ? undefined : m.respond(new TextEncoder().encode('done'))) });
    await a.flush();
    expect(new TextDecoder().decode((await b.request(subject, new TextEncoder().encode('{}'), { timeout: 5_000 })).data)).toBe('done');
    worker.publish(subject, '{}');
    worker.subscribe('dfd.v1_action.>');
    reader.publish(subject, '{}');
    reader.subscribe('dfd.v1_action.>');
    await worker.flush();
    await reader.flush();
    await vi.waitFor(() => expect(workerDenied.sort()).toEqual([`publish ${subject}`, 'subscription dfd.v1_action.>']), { timeout: 10_000 });
    await vi.waitFor(() => expect(readerDenied.sort()).toEqual([`publish ${subject}`, 'subscription dfd.v1_action.>']), { timeout: 10_000 });
  });
});
