import { describe, expect, it } from 'vitest';
import { declaredRuleFrom, DeclaredVoiceMatcher, DeclaredVoiceSet, voiceProfile, type DeclaredVoice } from './DeclaredVoices.js';
import { ParticipantVerdict, type DeclaredMatchChange } from './ParticipantVerdict.js';
import type { WindowScore } from '../messages.js';

/** A unit vector mostly along axis `axis` of `dim`, tilted by `tilt` toward axis (axis + 1). */
function unit(axis: number, tilt = 0, dim = 8): Float32Array {
  const v = new Float32Array(dim);
  v[axis % dim] = Math.cos(tilt);
  v[(axis + 1) % dim] = Math.sin(tilt);
  return v;
}

const ivr: DeclaredVoice = { id: 'dv-000000000001', label: 'Bank IVR', profile: unit(0) };
const tts: DeclaredVoice = { id: 'dv-000000000002', label: 'TTS user', profile: unit(3) };

describe('voiceProfile', () => {
  it('is the L2-normalised mean; none for no vectors or a zero sum; refuses mixed lengths', () => {
    const p = voiceProfile([unit(0), unit(1)])!;
    expect(p[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(p[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(voiceProfile([])).toBeUndefined();
    expect(voiceProfile([new Float32Array(4)])).toBeUndefined();
    expect(() => voiceProfile([unit(0, 0, 4), unit(0, 0, 8)])).toThrow(RangeError);
  });
});

describe('DeclaredVoiceMatcher', () => {
  const set = new DeclaredVoiceSet([ivr, tts]);
  const rule = { consecutive: 3, threshold: 0.9, thresholdTelephone: 0.8 };

  it('matches after M windows in a row at or above T, and ends after M in a row below it', () => {
    const m = new DeclaredVoiceMatcher(rule);
    expect(m.add(unit(0, 0.1), set).changed).toBe(false);
    expect(m.add(unit(0, 0.1), set).changed).toBe(false);
    const third = m.add(unit(0, 0.1), set);
    expect(third.changed).toBe(true);
    expect(third.cosine).toBeCloseTo(Math.cos(0.1), 5);
    expect(m.matched?.id).toBe(ivr.id);
    // Two windows of someone else, then the declared voice again: still matched (not M in a row).
    m.add(unit(5), set);
    m.add(unit(5), set);
    expect(m.add(unit(0), set).changed).toBe(false);
    expect(m.matched?.id).toBe(ivr.id);
    for (let i = 0; i < 2; i++) expect(m.add(unit(5), set).changed).toBe(false);
    expect(m.add(unit(5), set).changed).toBe(true);
    expect(m.matched).toBeUndefined();
  });

  it('needs the M windows to reach the same voice; a window below T restarts the count', () => {
    const m = new DeclaredVoiceMatcher(rule);
    m.add(unit(0), set);
    m.add(unit(3), set);
    m.add(unit(0), set);
    expect(m.matched).toBeUndefined();
    m.add(unit(0), set);
    m.add(unit(0, 0.7), set); // cos 0.76 < 0.9
    m.add(unit(0), set);
    expect(m.matched).toBeUndefined();
  });

  it('uses the telephone threshold for telephone audio', () => {
    const m = new DeclaredVoiceMatcher(rule);
    // cos(0.6) = 0.825: under the wideband 0.9, over the telephone 0.8.
    for (let i = 0; i < 3; i++) m.add(unit(0, 0.6), set);
    expect(m.matched).toBeUndefined();
    for (let i = 0; i < 3; i++) m.add(unit(0, 0.6), set, 'telephone');
    expect(m.matched?.id).toBe(ivr.id);
  });

  it('uses the suppressed threshold for a noise-suppressing sender, and T where the manifest rule has none', () => {
    const own = new DeclaredVoiceMatcher({ ...rule, thresholdSuppressed: 0.8 });
    for (let i = 0; i < 3; i++) own.add(unit(0, 0.6), set, 'suppressed'); // cos 0.825
    expect(own.matched?.id).toBe(ivr.id);
    const fromManifest = declaredRuleFrom({ M: 2, T: 0.9, T_telephone: 0.8 });
    expect(fromManifest).toEqual({ consecutive: 2, threshold: 0.9, thresholdTelephone: 0.8, thresholdSuppressed: 0.9 });
    const plain = new DeclaredVoiceMatcher(fromManifest);
    for (let i = 0; i < 3; i++) plain.add(unit(0, 0.6), set, 'suppressed');
    expect(plain.matched).toBeUndefined();
    expect(declaredRuleFrom(undefined)).toEqual({});
  });

  it('a voice removed from the set stops matching at the next window; other dimensions never compare', () => {
    const m = new DeclaredVoiceMatcher(rule);
    for (let i = 0; i < 3; i++) m.add(unit(0), set);
    expect(m.matched?.id).toBe(ivr.id);
    const r = m.add(unit(0), new DeclaredVoiceSet([tts]));
    expect(r.changed).toBe(true);
    expect(m.matched).toBeUndefined();
    expect(new DeclaredVoiceSet([ivr]).closest(unit(0, 0, 4))).toBeUndefined();
  });
});

describe('ParticipantVerdict with a declared synthetic voice', () => {
  const score = (pFake: number, seq: number): WindowScore & { task: 'voice-antispoof' } => ({
    type: 'score',
    stream: { roomId: 'r', peerId: 'p', producerId: 'a', kind: 'audio' },
    seq,
    detector: 'voice',
    modelVersion: '1',
    pFake,
    evidence: 2,
    wallEnd: 0,
    queueMs: 0,
    inferenceMs: 1,
    task: 'voice-antispoof',
  });

  it('sets the voice evidence aside while the declared voice matches: no alarm, reason declared-synthetic; back when it ends', () => {
    let now = 0;
    const voices = new DeclaredVoiceSet([ivr]);
    const p = new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { now: () => now, declaredVoices: () => voices, declared: { consecutive: 2, threshold: 0.9, thresholdTelephone: 0.9 } });
    const changes: DeclaredMatchChange[] = [];
    p.on('declared', (c) => changes.push(c));
    // A synthetic voice scores as fake, window after window.
    for (let i = 0; i < 6; i++) {
      now += 1000;
      p.addScore(score(0.97, i));
    }
    expect(p.current().state).toBe('deepfake-likely');
    // Its embeddings match the declared IVR voice.
    p.addSpeakerEmbedding({ vector: unit(0, 0.05), channel: 'wideband' });
    p.addSpeakerEmbedding({ vector: unit(0, 0.05), channel: 'wideband' });
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ roomId: 'r', peerId: 'p', voice: { id: ivr.id, label: 'Bank IVR' }, previous: undefined });
    expect(p.declaredVoice?.id).toBe(ivr.id);
    const v = p.current();
    expect(v.reason).toBe(`declared-synthetic:${ivr.id}`);
    expect(v.pFake).toBe(0.5);
    expect(v.confidence).toBe(0);
    // More fake-looking windows change nothing while it matches.
    now += 1000;
    p.addScore(score(0.99, 7));
    expect(p.current().reason).toBe(`declared-synthetic:${ivr.id}`);
    expect(p.current().pFake).toBe(0.5);
    // Another voice takes over (and continuity may say so too): the declared match ends, evidence counts again.
    for (let i = 0; i < 2; i++) p.addSpeakerEmbedding({ vector: unit(4), channel: 'wideband' });
    expect(changes.at(-1)).toMatchObject({ voice: undefined, previous: { id: ivr.id } });
    expect(p.declaredVoice).toBeUndefined();
    now += 1000;
    p.addScore(score(0.99, 8));
    expect(p.current().pFake).toBeGreaterThan(0.9);
    expect(p.current().reason ?? '').not.toContain('declared-synthetic');
  });

  it('without declared voices nothing is compared', () => {
    const p = new ParticipantVerdict({ roomId: 'r', peerId: 'p' });
    const changes: DeclaredMatchChange[] = [];
    p.on('declared', (c) => changes.push(c));
    for (let i = 0; i < 5; i++) p.addSpeakerEmbedding({ vector: unit(0), channel: 'wideband' });
    expect(changes).toEqual([]);
    expect(p.declaredVoice).toBeUndefined();
  });
});
