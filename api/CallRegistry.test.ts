/**
 * The call registry's mirror of calls another service node serves (several nodes): events from
 * elsewhere land under that node's call id, the room directory says who is in the room, and such a
 * call ends here without `callended` (its owner stores and anchors it).
 */
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../events/schema.js';
import { CallRegistry, type RemoteRoom } from './CallRegistry.js';

const verdict = (roomId: string, peerId: string, callId: string, tenant = 'default') =>
  makeEvent('verdict', { roomId, peerId, displayName: peerId.toUpperCase(), callId, tenant, models: [] }, { state: 'likely-genuine', pFake: 0.2, confidence: 0.7, evidence: { speechSeconds: 8, faceFrames: 0 }, quality: {}, dropped: {} });
const room = (callId: string, peers: string[]): RemoteRoom => ({ node: 'node-a', url: 'http://a.example', tenant: 'acme', callId, startedAt: '2026-12-03T10:00:00.000Z', participants: peers.map((p) => ({ peerId: p, displayName: p.toUpperCase() })) });

describe('CallRegistry: calls served by another node', () => {
  it("mirrors another node's call under its call id, from events and from the directory, and ends it silently", () => {
    const reg = new CallRegistry();
    const ended: string[] = [];
    reg.on('callended', (c) => ended.push(c.callId));
    // An event from elsewhere comes first: the call is created under the event's call id.
    reg.apply(verdict('r1', 'alice', 'c-a1', 'acme'), true);
    expect(reg.openCall('r1')).toMatchObject({ callId: 'c-a1', tenant: 'acme', remote: {} });
    // The directory names the node and who is there (bob has not spoken yet).
    reg.syncRemote('r1', room('c-a1', ['alice', 'bob']));
    const s = reg.summary(reg.openCall('r1')!);
    expect(s).toMatchObject({ callId: 'c-a1', node: 'node-a', nodeUrl: 'http://a.example' });
    expect(s.participants.map((p) => [p.peerId, p.present, p.state])).toEqual([
      ['alice', true, 'likely-genuine'],
      ['bob', true, 'collecting'],
    ]);
    // bob leaves there.
    reg.syncRemote('r1', room('c-a1', ['alice']));
    expect(reg.summary(reg.openCall('r1')!).participants.find((p) => p.peerId === 'bob')?.present).toBe(false);
    // The room opens a new call there: the old mirror ends (silently), the new one is the room's open call.
    reg.syncRemote('r1', room('c-a2', ['carol']));
    expect(reg.openCall('r1')?.callId).toBe('c-a2');
    expect(reg.call('c-a1')?.endedAt).toBeDefined();
    // The room is gone there.
    reg.syncRemote('r1', undefined);
    expect(reg.openCall('r1')).toBeUndefined();
    // A late event of the ended remote call updates it, still without a callended or callupdated.
    let updated = 0;
    reg.on('callupdated', () => updated++);
    reg.apply(verdict('r1', 'carol', 'c-a2', 'acme'), true);
    expect(reg.openCall('r1')).toBeUndefined();
    expect(updated).toBe(0);
    expect(ended).toEqual([]);
  });

  it('a room served here is left alone by the directory; a room that comes here replaces the mirror with a call of ours', () => {
    const reg = new CallRegistry();
    const ended: string[] = [];
    reg.on('callended', (c) => ended.push(c.callId));
    const local = reg.callFor('here', 'acme');
    reg.peerJoined('here', 'dave', 'Dave');
    reg.syncRemote('here', room('c-other', ['eve']));
    reg.syncRemote('here', undefined);
    expect(reg.openCall('here')).toBe(local);
    expect([...local.participants.keys()]).toEqual(['dave']);
    // node A's room, mirrored here; then node A is gone and the room opens on this node.
    reg.syncRemote('moved', room('c-a', ['frank']));
    const ours = reg.callFor('moved', 'acme');
    expect(ours.callId).not.toBe('c-a');
    expect(ours.remote).toBeUndefined();
    expect(reg.call('c-a')?.endedAt).toBeDefined();
    expect(ended).toEqual([]);
    // An event published here for our call is ours; one from elsewhere with an unknown call id does not take the room.
    reg.apply(verdict('moved', 'frank', ours.callId, 'acme'));
    reg.apply(verdict('moved', 'ghost', 'c-stale', 'acme'), true);
    expect(reg.openCall('moved')).toBe(ours);
    expect(reg.call('c-stale')?.remote).toEqual({});
  });

  it('a room that comes here from a node that went away with people in it continues that call; an emptied room does not', () => {
    const reg = new CallRegistry({ moveLinkMs: 60_000 });
    reg.syncRemote('lost', room('c-lost', ['alice']));
    reg.syncRemote('lost', undefined); // the node went away: alice was still there
    expect(reg.callFor('lost', 'acme').continues).toBe('c-lost');
    expect(reg.summary(reg.openCall('lost')!).continues).toBe('c-lost');
    reg.syncRemote('ended', room('c-ended', ['bob']));
    reg.syncRemote('ended', room('c-ended', [])); // bob left, then the room closed there
    reg.syncRemote('ended', undefined);
    expect(reg.callFor('ended', 'acme').continues).toBeUndefined();
    // Too late to be a move.
    const late = new CallRegistry({ moveLinkMs: 0 });
    late.syncRemote('r', room('c-r', ['carol']));
    late.syncRemote('r', undefined);
    const t = Date.now();
    while (Date.now() === t); // the next millisecond
    expect(late.callFor('r').continues).toBeUndefined();
  });
});
