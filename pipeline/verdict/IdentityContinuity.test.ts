import { describe, expect, it } from 'vitest';
import { continuityOptionsFrom, IdentityContinuity } from './IdentityContinuity.js';
import { ParticipantVerdict } from './ParticipantVerdict.js';

/** A unit vector near `axis` (cosine about 1 - jitter^2/2 to the axis itself). */
function voice(axis: number, jitter = 0.1, dim = 16, seed = 1): () => Float32Array {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return () => {
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = (i === axis ? 1 : 0) + jitter * rnd();
    return v;
  };
}

describe('IdentityContinuity', () => {
  it('enrols K windows, then stays quiet while the voice stays', () => {
    const c = new IdentityContinuity({ enrolWindows: 3, consecutive: 2, threshold: 0.7 });
    const a = voice(0);
    expect([1, 2, 3].map(() => c.add(a()).state)).toEqual(['enrolling', 'enrolling', 'enrolling']);
    expect(c.enrolled).toBe(true);
    for (let i = 0; i < 50; i++) expect(c.add(a()).state).toBe('same');
    expect(c.takeovers).toBe(0);
  });

  it('M windows of another voice in a row make a takeover; a single odd window does not', () => {
    const c = new IdentityContinuity({ enrolWindows: 3, consecutive: 2, threshold: 0.7 });
    const a = voice(0);
    const b = voice(5, 0.1, 16, 7);
    for (let i = 0; i < 3; i++) c.add(a());
    expect(c.add(b()).state).toBe('below');
    expect(c.add(a()).state).toBe('same'); // the run restarts
    expect(c.add(b()).state).toBe('below');
    expect(c.add(b())).toMatchObject({ state: 'takeover' });
    expect(c.takeovers).toBe(1);
    // The new voice becomes the profile (seeded with the two windows that fell below): a third voice is caught too.
    expect(c.add(b()).state).toBe('enrolling');
    expect(c.add(b()).state).toBe('same');
    const d = voice(9, 0.1, 16, 3);
    c.add(d());
    expect(c.add(d()).state).toBe('takeover');
    expect(c.takeovers).toBe(2);
  });

  it('while suspended (a challenge answer) nothing is compared or counted; on resume the run starts over', () => {
    const c = new IdentityContinuity({ enrolWindows: 2, consecutive: 2, threshold: 0.7 });
    const a = voice(0);
    const odd = voice(6, 0.1, 16, 11);
    c.add(a());
    c.add(a());
    expect(c.add(odd()).state).toBe('below');
    c.suspend(true);
    for (let i = 0; i < 10; i++) expect(c.add(odd()).state).toBe('suspended');
    c.suspend(false);
    expect(c.takeovers).toBe(0);
    expect(c.add(odd()).state).toBe('below'); // the run restarted: one, not two
    expect(c.add(a()).state).toBe('same');
  });

  it('uses the telephone threshold for telephone audio; ignores zero, non-finite and wrong-length vectors', () => {
    const c = new IdentityContinuity({ enrolWindows: 1, consecutive: 1, threshold: 0.9, thresholdTelephone: 0.5 });
    c.add(Float32Array.from([1, 0]));
    const tilted = Float32Array.from([Math.cos(1), Math.sin(1)]); // cosine 0.54
    expect(c.add(tilted, 'telephone').state).toBe('same');
    expect(c.add(Float32Array.from([0, 0])).state).toBe('same');
    expect(c.add(Float32Array.from([Number.NaN, 1])).state).toBe('same');
    expect(c.add(Float32Array.from([1, 0, 0])).state).toBe('same');
    expect(c.add(tilted, 'wideband').state).toBe('takeover');
    expect(() => new IdentityContinuity({ enrolWindows: 0 })).toThrow(RangeError);
  });

  it('uses the suppressed threshold for a noise-suppressing sender, and T where a rule has none', () => {
    const tilted = Float32Array.from([Math.cos(0.9), Math.sin(0.9)]); // cosine 0.62
    const c = new IdentityContinuity(continuityOptionsFrom({ K: 1, M: 1, T: 0.66, T_telephone: 0.65, T_suppressed: 0.6 }));
    c.add(Float32Array.from([1, 0]));
    expect(c.add(tilted, 'suppressed').state).toBe('same');
    expect(c.add(tilted, 'telephone').state).toBe('takeover');
    const plain = new IdentityContinuity(continuityOptionsFrom({ K: 1, M: 1, T: 0.66 }));
    expect(plain.options).toMatchObject({ threshold: 0.66, thresholdTelephone: 0.66, thresholdSuppressed: 0.66 });
    plain.add(Float32Array.from([1, 0]));
    expect(plain.add(tilted, 'suppressed').state).toBe('takeover');
    expect(continuityOptionsFrom(undefined)).toEqual({});
  });
});

describe('ParticipantVerdict takeover', () => {
  it('a change of voice makes the verdict suspicious with reason takeover:voice, drops the old voice evidence and ends verified', () => {
    let now = 0;
    const v = new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { speaker: { enrolWindows: 2, consecutive: 2, threshold: 0.7 }, now: () => now });
    const stream = { roomId: 'r', peerId: 'p', producerId: 'x', kind: 'audio' as const };
    for (let i = 0; i < 6; i++) {
      now += 1000;
      v.addScore({ type: 'score', stream, seq: i, detector: 'voice', modelVersion: '1', pFake: 0.1, evidence: 1, wallEnd: now, queueMs: 0, inferenceMs: 1 });
    }
    expect(v.current().state).toBe('likely-genuine');
    v.markVerified(now + 600_000);
    expect(v.current().state).toBe('verified');
    const a = voice(0);
    const b = voice(4, 0.1, 16, 9);
    for (let i = 0; i < 4; i++) v.addSpeakerEmbedding({ vector: a(), channel: 'wideband' });
    expect(v.current().state).toBe('verified');
    v.addSpeakerEmbedding({ vector: b(), channel: 'wideband' });
    v.addSpeakerEmbedding({ vector: b(), channel: 'wideband' });
    const after = v.current();
    expect([after.state, after.reason]).toEqual(['suspicious', 'takeover:voice']);
    expect(v.takeovers).toBe(1);
    // Held while the new voice has no evidence; once the hold ends with none, back to collecting.
    now += 29_000;
    v.tick();
    expect(v.current().state).toBe('suspicious');
    now += 2_000;
    v.tick();
    expect(v.current().state).toBe('collecting');
  });

  it('a different face makes the verdict suspicious with reason takeover:face, held while the new face is judged', () => {
    let now = 0;
    const v = new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { now: () => now });
    const audio = { roomId: 'r', peerId: 'p', producerId: 'a', kind: 'audio' as const };
    const video = { roomId: 'r', peerId: 'p', producerId: 'v', kind: 'video' as const };
    for (let i = 0; i < 6; i++) {
      now += 1000;
      v.addScore({ type: 'score', stream: audio, seq: i, detector: 'voice', modelVersion: '1', pFake: 0.1, evidence: 1, wallEnd: now, queueMs: 0, inferenceMs: 1 });
      v.addScore({ type: 'score', stream: video, seq: i, detector: 'face', modelVersion: '1', pFake: 0.1, evidence: 1, wallEnd: now, queueMs: 0, inferenceMs: 1 });
    }
    expect(v.current().state).toBe('likely-genuine');
    // The shipped face rule (K 3, M 2, T 0.71): three windows enrol the face, two of another face in a row are a takeover.
    const a = voice(0, 0.1, 64, 3);
    const b = voice(7, 0.1, 64, 5);
    for (let i = 0; i < 5; i++) v.addFaceDescriptor(a());
    v.addFaceDescriptor(b());
    expect(v.current().state).toBe('likely-genuine');
    v.addFaceDescriptor(b());
    expect([v.current().state, v.current().reason]).toEqual(['suspicious', 'takeover:face']);
    expect(v.takeovers).toBe(1);
    // Held for takeoverHoldMs; the voice's evidence was kept, so with it the verdict is judged again after the hold.
    for (let i = 0; i < 31; i++) {
      now += 1000;
      v.addScore({ type: 'score', stream: audio, seq: 10 + i, detector: 'voice', modelVersion: '1', pFake: 0.1, evidence: 1, wallEnd: now, queueMs: 0, inferenceMs: 1 });
      if (i === 20) expect(v.current().state).toBe('suspicious');
    }
    expect(v.current().state).toBe('likely-genuine');
  });
});
