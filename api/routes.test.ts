/**
 * REST API against a real service with an embedded nats-server: sign-in, typed errors for
 * bad input, a call's evidence bundle exported, verified and tampered with, webhooks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService } from '../test/helpers/service.js';
import { errorCode, restCall, type RestReply } from '../test/helpers/rest.js';
import { TestSignallingClient } from '../test/helpers/wsClient.js';
import { makeEvent } from '../events/schema.js';
import { TokenSigner } from '../sfu/tokens.js';
import type { Service } from '../src/Service.js';

const ACME_API_KEY = 'acme-rest-api-key-0123456789';

describe('REST API /v1', () => {
  let service: Service;
  let base: string;
  let auth: Record<string, string>;

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = auth): Promise<RestReply> => restCall(base, method, path, body, headers);
  const code = errorCode;

  beforeAll(async () => {
    service = await startTestService({ apiKeys: [`acme=${ACME_API_KEY}`] }, { events: true, analysis: false });
    base = `http://127.0.0.1:${service.port}`;
    const login = await call('POST', '/v1/auth/login', { username: 'operator', password: 'test-password' }, {});
    expect(login.status).toBe(200);
    auth = { authorization: `Bearer ${String(login.json['token'])}` };
  });
  afterAll(async () => {
    await service?.close();
  });

  it('rejects bad credentials, forged and expired sessions, and join tokens used as sessions', async () => {
    expect(code((await call('POST', '/v1/auth/login', { username: 'operator', password: 'nope' }, {})).json)).toBe('ERR_TOKEN_INVALID');
    expect(code((await call('POST', '/v1/auth/login', { username: 'operator' }, {})).json)).toBe('ERR_BAD_REQUEST');
    expect((await call('GET', '/v1/rooms', undefined, {})).status).toBe(401);
    const forged = new TokenSigner('guess').sign({ room: 'operators', peer: 'operator', name: 'operator', role: 'operator' }, 60);
    expect(code((await call('GET', '/v1/rooms', undefined, { authorization: `Bearer ${forged}` })).json)).toBe('ERR_TOKEN_INVALID');
    const join = service.issueToken('r1', 'Alice').token;
    expect((await call('GET', '/v1/rooms', undefined, { authorization: `Bearer ${join}` })).status).toBe(401);
    expect((await call('GET', '/v1/me')).json['operator']).toBe('operator');
  });

  it('answers malformed bodies, unknown rooms and peers with typed errors', async () => {
    expect(code((await call('POST', '/v1/webhooks', '{"id": ')).json)).toBe('ERR_BAD_JSON');
    expect(code((await call('POST', '/v1/webhooks', { id: 'x', url: 'ftp://nope', secret: 'short' })).json)).toBe('ERR_BAD_REQUEST');
    expect((await call('GET', '/v1/rooms/nowhere')).status).toBe(404);
    expect(code((await call('GET', '/v1/rooms/bad.room')).json)).toBe('ERR_BAD_REQUEST');
    expect(code((await call('POST', '/v1/rooms/nowhere/participants/p/challenge', {})).json)).toBe('ERR_ROOM_NOT_FOUND');
    expect(code((await call('GET', '/v1/calls/c-unknown/evidence')).json)).toBe('ERR_NOT_FOUND');
    expect((await call('DELETE', '/v1/rooms')).status).toBe(405);
    const doc = await call('GET', '/v1/openapi.json', undefined, {});
    expect(doc.json['openapi']).toBe('3.1.0');
  });

  it('exports a call evidence bundle that verifies, and fails verification once tampered with', async () => {
    const alice = await TestSignallingClient.connect(service.port);
    const { token, peer } = service.issueToken('evidence', 'Alice');
    expect((await alice.request('join', { token })).ok).toBe(true);
    const room = await call('GET', '/v1/rooms/evidence');
    expect(room.status).toBe(200);
    const callId = String(room.json['callId']);
    expect((room.json['participants'] as { peerId: string }[]).map((p) => p.peerId)).toEqual([peer]);
    const envelope = { roomId: 'evidence', peerId: peer, displayName: 'Alice', callId, models: [{ id: 'voice-antispoof', version: '0.1.0' }] };
    service.publish(makeEvent('score', envelope, { detector: 'voice-antispoof', pFake: 0.2, evidence: 2, windowSeq: 0, queueMs: 1, inferenceMs: 3 }));
    service.publish(
      makeEvent('verdict', envelope, {
        state: 'likely-genuine',
        pFake: 0.2,
        confidence: 0.6,
        evidence: { speechSeconds: 4, faceFrames: 0 },
        quality: { packetLoss: 0 },
        dropped: {},
      }),
    );
    const decision = await call('POST', `/v1/rooms/evidence/participants/${peer}/decision`, { decision: 'confirm', note: 'spoke to them' });
    expect(decision.status).toBe(200);
    const bundle = await call('GET', `/v1/calls/${callId}/evidence`);
    expect(bundle.status).toBe(200);
    const records = bundle.json['events'] as { type: string; payload: Record<string, unknown> }[];
    expect(records.map((r) => r.type)).toEqual(['score', 'verdict', 'decision']);
    const ok = await call('POST', '/v1/evidence/verify', bundle.json);
    expect(ok.json['ok']).toBe(true);
    records[1]!.payload['state'] = 'verified';
    const bad = await call('POST', '/v1/evidence/verify', bundle.json);
    expect(bad.json['ok']).toBe(false);
    expect(bad.json['problem']).toMatchObject({ code: 'ERR_EVIDENCE_CHAIN', eventIndex: 1 });
    // The participant view holds the verdict and the human decision.
    const p = await call('GET', `/v1/rooms/evidence/participants/${peer}`);
    expect((p.json['verdict'] as { state: string }).state).toBe('likely-genuine');
    expect((p.json['decisions'] as { decision: string }[])[0]?.decision).toBe('confirm');
    alice.close();
  });

  it("a tenant API key sees and acts on its own tenant's rooms only, and on nothing service-wide", async () => {
    const acme = { authorization: `Bearer ${ACME_API_KEY}` };
    expect((await call('GET', '/v1/me', undefined, acme)).json).toEqual({ operator: 'api-key:acme', tenant: 'acme' });
    expect((await call('GET', '/v1/me', undefined, { authorization: 'Bearer acme-rest-api-key-wrong-000' })).status).toBe(401);
    // A token issued with the key is for an acme room; a token of the default tenant opens another room.
    const issued = await call('POST', '/v1/tokens', { room: 'acme-room', name: 'Carol' }, acme);
    expect(issued.json['tenant']).toBe('acme');
    const carol = await TestSignallingClient.connect(service.port);
    expect((await carol.request('join', { token: issued.json['token'] })).ok).toBe(true);
    const dave = await TestSignallingClient.connect(service.port);
    const other = service.issueToken('other-room', 'Dave');
    expect((await dave.request('join', { token: other.token })).ok).toBe(true);
    expect(code((await call('POST', '/v1/tokens', { room: 'x', name: 'X', tenant: 'globex' }, acme)).json)).toBe('ERR_FORBIDDEN');

    const rooms = (await call('GET', '/v1/rooms', undefined, acme)).json['rooms'] as { roomId: string }[];
    expect(rooms.map((r) => r.roomId)).toEqual(['acme-room']);
    expect(((await call('GET', '/v1/rooms')).json['rooms'] as { roomId: string }[]).map((r) => r.roomId).sort()).toEqual(expect.arrayContaining(['acme-room', 'other-room']));
    expect(code((await call('GET', '/v1/rooms/other-room', undefined, acme)).json)).toBe('ERR_ROOM_NOT_FOUND');
    expect(code((await call('POST', `/v1/rooms/other-room/participants/${other.peer}/decision`, { decision: 'confirm' }, acme)).json)).toBe('ERR_ROOM_NOT_FOUND');
    expect((await call('GET', '/v1/rooms/acme-room', undefined, acme)).status).toBe(200);
    // Calls: its own tenant's only.
    const calls = (await call('GET', '/v1/calls', undefined, acme)).json['calls'] as { roomId: string; tenant: string }[];
    expect(calls.every((c) => c.tenant === 'acme')).toBe(true);
    expect(calls.map((c) => c.roomId)).toContain('acme-room');
    expect(code((await call('GET', '/v1/calls?tenant=default', undefined, acme)).json)).toBe('ERR_FORBIDDEN');
    // Nothing service-wide, no other tenant's calibration.
    expect(code((await call('GET', '/v1/webhooks', undefined, acme)).json)).toBe('ERR_FORBIDDEN');
    expect(code((await call('POST', '/v1/calibration/globex/refit', {}, acme)).json)).toBe('ERR_FORBIDDEN');
    expect(code((await call('POST', '/v1/calibration/acme/refit', {}, acme)).json)).toBe('ERR_CALIBRATION_REJECTED');
    carol.close();
    dave.close();
  });

  it('manages webhook subscribers', async () => {
    expect((await call('POST', '/v1/webhooks', { id: 'siem', url: 'http://127.0.0.1:9/hook', secret: 'a-long-enough-secret', events: ['verdict'] })).status).toBe(200);
    const list = await call('GET', '/v1/webhooks');
    expect((list.json['subscribers'] as { id: string }[]).map((s) => s.id)).toContain('siem');
    expect(JSON.stringify(list.json)).not.toContain('a-long-enough-secret');
    expect((await call('DELETE', '/v1/webhooks/siem')).status).toBe(200);
    expect((await call('DELETE', '/v1/webhooks/siem')).status).toBe(404);
  });
});
