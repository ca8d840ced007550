import { describe, expect, it } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { parseEvent, type DfdEvent } from '../events/schema.js';
import { OperatorDecisionPublisher, type OpenCallParticipant } from './OperatorDecisionPublisher.js';

function setup(participants: Record<string, OpenCallParticipant>) {
  const published: DfdEvent[] = [];
  const pub = new OperatorDecisionPublisher({ publish: (e) => published.push(e), participant: (roomId, peerId) => participants[`${roomId}/${peerId}`] });
  return { pub, published };
}

describe('OperatorDecisionPublisher (operator decisions -> bus events)', () => {
  it('publishes a schema-valid decision event naming the verdict state acted on', () => {
    const { pub, published } = setup({ 'r1/caller': { displayName: 'Caller', callId: 'c-9', state: 'deepfake-likely' } });
    const e = pub.publish('r1', 'caller', 'confirm', 'op@example.com', 'asked for the code word');
    expect(published).toEqual([e]);
    const parsed = parseEvent(JSON.stringify(e));
    expect(parsed).toMatchObject({ type: 'decision', roomId: 'r1', peerId: 'caller', displayName: 'Caller', callId: 'c-9' });
    expect(parsed.payload).toEqual({ decision: 'confirm', tagState: 'deepfake-likely', operator: 'op@example.com', note: 'asked for the code word' });
  });

  it('before a first verdict the state is collecting; no note, no note field', () => {
    const { pub } = setup({ 'r1/caller': { displayName: 'Caller', callId: 'c-9', state: undefined } });
    expect(pub.publish('r1', 'caller', 'dismiss', 'op').payload).toEqual({ decision: 'dismiss', tagState: 'collecting', operator: 'op' });
  });

  it('a participant without an open call is ERR_PEER_NOT_FOUND and nothing is published', () => {
    const { pub, published } = setup({});
    let err: unknown;
    try {
      pub.publish('r1', 'ghost', 'confirm', 'op');
    } catch (e) {
      err = e;
    }
    expect(isDfdError(err, 'ERR_PEER_NOT_FOUND')).toBe(true);
    expect(published).toEqual([]);
  });
});
