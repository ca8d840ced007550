/**
 * The endpoint's limits on a real HTTP server with real WebSocket clients (no call is
 * started here, so no room is needed): start timeout, capacity, frame flood, too many bad
 * frames, path routing next to another upgrade handler, and close().
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { IngestKeys } from '../IngestKeys.js';
import { TwilioIngestServer, type TwilioIngestServerOptions } from './TwilioIngestServer.js';
import { TwilioTestCaller } from '../testing/TwilioTestCaller.js';
import type { RoomManager } from '../../sfu/RoomManager.js';

let server: http.Server | undefined;
let ingest: TwilioIngestServer | undefined;

async function start(options: Partial<TwilioIngestServerOptions> = {}): Promise<string> {
  server = http.createServer((_req, res) => res.end());
  ingest = new TwilioIngestServer(
    server,
    { rooms: {} as RoomManager, keys: new IngestKeys({ keys: ['t=0123456789abcdef0123'] }), challenges: () => undefined, shuttingDown: () => false },
    options,
  );
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  ingest?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
  ingest = undefined;
});

describe('TwilioIngestServer limits', () => {
  it('a stream that never sends start is closed 1008 ERR_INGEST_TIMEOUT', async () => {
    const url = await start({ session: { startTimeoutMs: 200 } });
    const c = await TwilioTestCaller.connect(`${url}/v1/ingest/twilio`);
    c.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(await c.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_TIMEOUT' });
    expect(ingest!.streamCount).toBe(0);
  });

  it('one stream more than maxStreams is refused 1013 ERR_INGEST_CAPACITY', async () => {
    const url = await start({ maxStreams: 1 });
    const a = await TwilioTestCaller.connect(`${url}/v1/ingest/twilio`);
    const b = await TwilioTestCaller.connect(`${url}/v1/ingest/twilio`);
    expect(await b.closed).toEqual({ code: 1013, reason: 'ERR_INGEST_CAPACITY' });
    expect(a.open).toBe(true);
  });

  it('a frame flood is closed 1008 ERR_RATE_LIMITED; endless bad frames 1008 ERR_INGEST_TOO_MANY_ERRORS', async () => {
    const url = await start({ session: { ratePerSec: 10, rateBurst: 20 } });
    const flood = await TwilioTestCaller.connect(`${url}/v1/ingest/twilio`);
    flood.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    for (let i = 0; i < 40; i++) flood.send('{"event":"nothing"}');
    expect(await flood.closed).toEqual({ code: 1008, reason: 'ERR_RATE_LIMITED' });
    // maxFrameErrors bad frames are tolerated (each dropped and counted); one more ends the stream.
    const tolerant = await start2({ session: { maxFrameErrors: 3 } });
    const t = await TwilioTestCaller.connect(`${tolerant}/v1/ingest/twilio`);
    for (let i = 0; i < 3; i++) t.send('not json');
    await new Promise((r) => setTimeout(r, 100));
    expect(t.open).toBe(true);
    t.send('not json');
    expect(await t.closed).toEqual({ code: 1008, reason: 'ERR_INGEST_TOO_MANY_ERRORS' });
  });

  it('takes only its own path: other upgrades go to their handler; close() ends every stream 1001', async () => {
    const url = await start();
    const other = new WebSocketServer({ noServer: true });
    server!.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/ws')) other.handleUpgrade(req, socket, head, (ws) => ws.send('other'));
    });
    try {
      const c = await TwilioTestCaller.connect(`${url}/ws`);
      const deadline = Date.now() + 5000;
      while (c.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(c.received.map((r) => r.msg.event)).toEqual(['not-json']);
      expect(ingest!.streamCount).toBe(0);
      c.close();
      const s = await TwilioTestCaller.connect(`${url}/v1/ingest/twilio`);
      expect(ingest!.streamCount).toBe(1);
      ingest!.close();
      expect(await s.closed).toEqual({ code: 1001, reason: 'ERR_SHUTTING_DOWN' });
    } finally {
      for (const ws of other.clients) ws.terminate();
      other.close();
    }
  });
});

/** A second server in the same test (the first stays up). */
const extra: { server: http.Server; ingest: TwilioIngestServer }[] = [];
async function start2(options: Partial<TwilioIngestServerOptions>): Promise<string> {
  const s = http.createServer((_req, res) => res.end());
  const i = new TwilioIngestServer(s, { rooms: {} as RoomManager, keys: new IngestKeys({ keys: ['t=0123456789abcdef0123'] }), challenges: () => undefined, shuttingDown: () => false }, options);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  extra.push({ server: s, ingest: i });
  return `ws://127.0.0.1:${(s.address() as AddressInfo).port}`;
}
afterEach(async () => {
  for (const e of extra.splice(0)) {
    e.ingest.close();
    e.server.closeAllConnections();
    await new Promise((r) => e.server.close(r));
  }
});
