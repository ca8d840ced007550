import { describe, expect, it } from 'vitest';
import { audioWindow, faceWindow, streamRef } from '../../detectors/testing/windows.js';
import type { ModelTask } from '../../detectors/registry/Manifest.js';
import type { StreamRef, WindowScore } from '../messages.js';
import { ParticipantVerdict, type PadOptions, type Verdict } from './ParticipantVerdict.js';

const A = streamRef('bob', 'audio');
const V = streamRef('bob', 'video');

function score(stream: StreamRef, pFake: number, evidence: number, seq = 0): WindowScore {
  return { type: 'score', stream, seq, detector: stream.kind === 'audio' ? 'voice-x' : 'face-x', modelVersion: '1.0.0', pFake, evidence, wallEnd: 0, queueMs: 0, inferenceMs: 1 };
}

function setup() {
  const clock = { t: 1_000 };
  const pv = new ParticipantVerdict({ roomId: 'room-1', peerId: 'bob' }, { now: () => clock.t });
  const events: Verdict[] = [];
  pv.on('verdict', (v) => events.push(v));
  return { clock, pv, events };
}

describe('ParticipantVerdict', () => {
  it('fuses audio and video into deepfake-likely with models, evidence and confidence', () => {
    const { pv, events } = setup();
    pv.observe(audioWindow({ stream: A, seconds: 2 }));
    pv.observe(faceWindow({ stream: V, frames: 30, size: 64 }));
    // 0.5 s of scored input is below minEvidence (0.6 s): no verdict yet.
    pv.addScore(score(A, 0.95, 0.5));
    expect(pv.current().state).toBe('collecting');
    pv.addScore(score(V, 0.9, 2));
    // 2.5 s of evidence, below fullEvidence (4 s): the mean log-odds count 2.5 / 4 of their value.
    const mean = (0.5 * Math.log(0.95 / 0.05) + 2 * Math.log(0.9 / 0.1)) / 2.5;
    expect(pv.current().pFake).toBeCloseTo(1 / (1 + Math.exp(-(2.5 / 4) * mean)), 9);
    pv.addScore(score(V, 0.9, 1.5));
    const v = pv.current();
    expect(v.state).toBe('deepfake-likely');
    expect(v.evidence).toEqual({ speechSeconds: 2, faceFrames: 30 });
    expect(v.models).toEqual([{ id: 'face-x', version: '1.0.0', windows: 2 }, { id: 'voice-x', version: '1.0.0', windows: 1 }]);
    expect(v.confidence).toBeCloseTo(1 - Math.exp(-4 / 10), 6);
    expect(v.reason).toBeUndefined();
    expect(events.at(-1)?.state).toBe('deepfake-likely');
  });

  it("names its audio's calibration family from the latest audio window's channel", () => {
    const { pv } = setup();
    expect(pv.audioChannel).toBe('wideband'); // no audio yet
    for (const channel of ['suppressed', 'telephone', 'wideband'] as const) {
      const w = audioWindow({ stream: A, seconds: 2 });
      w.quality = { ...w.quality, channel };
      pv.observe(w);
      expect(pv.audioChannel).toBe(channel);
    }
    const unsaid = audioWindow({ stream: A, seconds: 2 });
    delete unsaid.quality.channel;
    pv.observe(unsaid);
    expect(pv.audioChannel).toBe('wideband');
  });

  it('stays collecting with a quality reason when the only evidence is poor, rather than guessing', () => {
    const { pv } = setup();
    const w = audioWindow({ stream: A, seconds: 4 });
    w.quality = { packetLoss: 0.3, concealed: 0.25, bitrate: 6000, bandwidth: 'NB' };
    pv.observe(w);
    pv.addScore(score(A, 0.99, 4));
    pv.addScore(score(A, 0.99, 4));
    const v = pv.current();
    expect(v.state).toBe('collecting');
    expect(v.reason).toBe('audio:packet-loss,audio:concealment,audio:low-bitrate,audio:narrowband');
    expect(v.confidence).toBe(0);
    expect(v.quality).toMatchObject({ packetLoss: 0.3, concealed: 0.25, bitrate: 6000, bandwidth: 'NB' });
  });

  it('tiny faces and low frame rate exclude video; good audio still decides, with lower coverage', () => {
    const { pv } = setup();
    const f = faceWindow({ stream: V, frames: 10, size: 32 });
    f.quality = { frameRate: 5, faceSize: 30, packetLoss: 0 };
    pv.observe(f);
    pv.observe(audioWindow({ stream: A, seconds: 4 }));
    pv.addScore(score(V, 0.99, 4));
    pv.addScore(score(A, 0.1, 4));
    const v = pv.current();
    expect(v.state).toBe('likely-genuine');
    expect(v.pFake).toBeCloseTo(0.1, 6);
    // Two observed modalities, one usable: coverage halves confidence.
    expect(v.confidence).toBeCloseTo((1 - Math.exp(-0.4)) * 0.5, 6);
  });

  it('abstains on video the face gate marked (a frozen picture): video set aside with its reason, its drops not counted as overload', () => {
    const { pv } = setup();
    const f = faceWindow({ stream: V, frames: 10, size: 64 });
    f.quality = { frameRate: 15, faceSize: 120, packetLoss: 0, issue: 'frozen' };
    pv.observe(f);
    pv.addScore(score(V, 0.99, 4));
    pv.addDropped({ stream: V, reason: 'unjudgeable-video' }, 3);
    const v = pv.current();
    expect(v.state).toBe('collecting');
    expect(v.reason).toBe('video:frozen');
    expect(v.dropped.windows).toBe(0);
    // the next window without an issue brings the video back
    const g = faceWindow({ stream: V, frames: 10, size: 64, seq: 1 });
    g.quality = { frameRate: 15, faceSize: 120, packetLoss: 0 };
    pv.observe(g);
    pv.addScore(score(V, 0.1, 4, 1));
    expect(pv.current().reason).toBeUndefined();
  });

  it('dropped windows lower confidence and are reported', () => {
    const { pv } = setup();
    pv.observe(audioWindow({ stream: A }));
    pv.addScore(score(A, 0.1, 5));
    const before = pv.current().confidence;
    pv.addDropped({ stream: A }, 3);
    const v = pv.current();
    expect(v.dropped.windows).toBe(3);
    expect(v.dropped.fraction).toBeCloseTo(0.75, 6);
    expect(v.confidence).toBeCloseTo(before * 0.25, 6);
    // Too-short or malformed windows are not overload: they do not count.
    pv.addDropped({ stream: A, reason: 'bad-input' }, 10);
    expect(pv.current().dropped.windows).toBe(3);
  });

  it('says per model what ran and what was dropped; a dropped speaker embedding is no lost evidence', () => {
    const { pv } = setup();
    pv.observe(audioWindow({ stream: A }));
    // A stage starved from its first window: its version comes with the drop.
    pv.addDropped({ stream: A, detector: 'voice-stage', task: 'voice-antispoof', reason: 'queue-full', modelVersion: '0.1.0' }, 2);
    pv.addScore(score(A, 0.1, 5));
    pv.addScore(score(A, 0.1, 5, 1));
    for (let i = 0; i < 4; i++) pv.addSpeakerEmbedding({ vector: Float32Array.from({ length: 8 }, (_, k) => (k === 0 ? 1 : 0)), channel: 'wideband', detector: 'speaker-embed', modelVersion: '1.1.0' });
    const before = pv.current();
    expect(before.dropped.windows).toBe(2);
    // Later drops without a version take the model's known one.
    pv.addDropped({ stream: A, detector: 'speaker-embed', task: 'speaker-embed', reason: 'queue-full' }, 3);
    pv.addDropped({ stream: A, detector: 'voice-x', task: 'voice-antispoof', reason: 'stale' }, 1);
    const v = pv.current();
    expect(v.models).toEqual([
      { id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 4, dropped: 3 },
      { id: 'voice-stage', version: '0.1.0', task: 'voice-antispoof', windows: 0, dropped: 2 },
      // a score without a task (this test's) leaves the model's task to whichever event names one
      { id: 'voice-x', version: '1.0.0', task: 'voice-antispoof', windows: 2, dropped: 1 },
    ]);
    // Only the scoring detectors' drops count against the evidence.
    expect(v.dropped.windows).toBe(3);
    expect(v.confidence).toBeLessThan(before.confidence);
    const unchanged = v.confidence;
    pv.addDropped({ stream: A, detector: 'speaker-embed', task: 'speaker-embed', reason: 'queue-full' }, 50);
    expect(pv.current().confidence).toBe(unchanged);
    expect(pv.current().models[0]).toEqual({ id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 4, dropped: 53 });
    // A drop of a model never seen and of unknown version is counted against the evidence only.
    pv.addDropped({ stream: A, detector: 'voice-other', task: 'voice-antispoof', reason: 'queue-full' }, 1);
    expect(pv.current().models.map((m) => m.id)).toEqual(['speaker-embed', 'voice-stage', 'voice-x']);
  });

  it('counts a drop on the version it names: after a model swap, the new version starts its own counts', () => {
    const { pv } = setup();
    pv.observe(audioWindow({ stream: A }));
    pv.addScore(score(A, 0.1, 2));
    pv.addScore(score(A, 0.1, 2, 1));
    expect(pv.current().models).toEqual([{ id: 'voice-x', version: '1.0.0', windows: 2 }]);
    // The registry swapped voice-x to 2.0.0; the first window the new version would have scored is dropped.
    pv.addDropped({ stream: A, detector: 'voice-x', task: 'voice-antispoof', reason: 'queue-full', modelVersion: '2.0.0' });
    expect(pv.current().models).toEqual([{ id: 'voice-x', version: '2.0.0', task: 'voice-antispoof', windows: 0, dropped: 1 }]);
    pv.addScore({ ...score(A, 0.1, 2, 2), modelVersion: '2.0.0' });
    expect(pv.current().models).toEqual([{ id: 'voice-x', version: '2.0.0', task: 'voice-antispoof', windows: 1, dropped: 1 }]);
  });

  it('emits only on state change or a significant confidence change', () => {
    const { pv, events } = setup();
    pv.observe(audioWindow({ stream: A }));
    pv.addScore(score(A, 0.1, 3)); // collecting -> likely-genuine
    const n = events.length;
    pv.addScore(score(A, 0.1, 0.01)); // tiny confidence change
    pv.addScore(score(A, 0.1, 0.01));
    expect(events.length).toBe(n);
    pv.addScore(score(A, 0.1, 5)); // confidence jumps
    expect(events.length).toBe(n + 1);
    expect(events.every((e, i) => i === 0 || e.state !== events[i - 1]!.state || Math.abs(e.confidence - events[i - 1]!.confidence) >= 0.1)).toBe(true);
  });

  it('verified after a passed challenge, expiring on tick; a failed challenge marks deepfake-likely', () => {
    const { pv, clock, events } = setup();
    pv.observe(audioWindow({ stream: A }));
    pv.addScore(score(A, 0.7, 5));
    expect(pv.current().state).toBe('suspicious');
    pv.markVerified(clock.t + 30_000);
    expect(pv.current()).toMatchObject({ state: 'verified', reason: 'challenge-passed', confidence: 0.95 });
    clock.t += 29_999;
    pv.tick();
    expect(pv.current().state).toBe('verified');
    clock.t += 1;
    pv.tick();
    expect(pv.current().state).not.toBe('verified');
    pv.markDeepfakeLikely('challenge-failed');
    expect(pv.current()).toMatchObject({ state: 'deepfake-likely', reason: 'challenge-failed' });
    expect(events.map((e) => e.state)).toContain('verified');
  });

  it('a listener that throws does not break the verdict', () => {
    const { pv } = setup();
    pv.on('verdict', () => {
      throw new Error('bad listener');
    });
    pv.observe(audioWindow({ stream: A }));
    expect(() => pv.addScore(score(A, 0.1, 5))).not.toThrow();
    expect(pv.current().state).toBe('likely-genuine');
  });
});

describe('ParticipantVerdict detector weights (manifest verdict.weight)', () => {
  it('weight 0: the model is recorded but its scores move neither the verdict nor its confidence', () => {
    const { pv } = setup();
    pv.observe(audioWindow({ stream: A, seconds: 10 }));
    for (let i = 0; i < 5; i++) pv.addScore({ ...score(A, 0.99, 2, i), weight: 0 });
    const v = pv.current();
    expect(v.state).toBe('collecting');
    expect(v.reason).toBe('insufficient-evidence');
    expect(v.pFake).toBe(0.5);
    expect(v.confidence).toBe(0);
    expect(v.models).toEqual([{ id: 'voice-x', version: '1.0.0', windows: 5 }]);
  });

  it('a partial weight scales log-odds and evidence: a trusted face model outweighs an untrusted voice model', () => {
    const { pv } = setup();
    pv.observe(audioWindow({ stream: A, seconds: 10 }));
    pv.observe(faceWindow({ stream: V, frames: 50, size: 64 }));
    pv.addScore({ ...score(A, 0.9, 4), weight: 0.25 });
    pv.addScore({ ...score(V, 0.2, 4), weight: 1 });
    const z = (p: number) => Math.log(p / (1 - p));
    // evidence-weighted mean of weighted log-odds: (1 * 0.25 z(0.9) + 4 * z(0.2)) / (1 + 4)
    const expected = 1 / (1 + Math.exp(-((1 * 0.25 * z(0.9) + 4 * z(0.2)) / 5)));
    expect(pv.current().pFake).toBeCloseTo(expected, 9);
    expect(pv.current().state).toBe('likely-genuine');
  });

  describe('first verdict after about a second of input', () => {
    it('a strong detector (weight 1): one early 1 s window of a fake voice is already suspicious', () => {
      const { pv, events } = setup();
      pv.observe(audioWindow({ stream: A, seconds: 1 }));
      pv.addScore({ ...score(A, 0.95, 1), weight: 1 });
      const v = pv.current();
      // 1 s of evidence of 4 (fullEvidence): a quarter of logit(0.95), pFake 0.68.
      expect(v.pFake).toBeCloseTo(1 / (1 + Math.exp(-Math.log(19) / 4)), 9);
      expect(v.state).toBe('suspicious');
      expect(v.confidence).toBeCloseTo(1 - Math.exp(-1 / 10), 9);
      expect(events.map((e) => e.state)).toEqual(['suspicious']);
    });

    it('a weak detector (weight 0.25): the first window gives a first verdict near 0.5, the alarm comes with the evidence', () => {
      const { clock, pv, events } = setup();
      pv.observe(audioWindow({ stream: A, seconds: 0.9 }));
      pv.addScore({ ...score(A, 0.99, 0.9), weight: 0.25 });
      const first = pv.current();
      // The gate counts 0.9 s of input (>= minEvidence 0.6) although the weighted evidence is 0.225 s.
      expect(first.state).toBe('likely-genuine');
      expect(first.pFake).toBeGreaterThan(0.5);
      // 0.225 / 4 of the weighted log-odds 0.25 * logit(0.99): pFake 0.52.
      expect(first.pFake).toBeCloseTo(1 / (1 + Math.exp(-(0.225 / 4) * 0.25 * Math.log(99))), 9);
      // 2 s windows every second: suspicious once the weighted evidence carries it, deepfake-likely never
      // (weight 0.25 caps the log-odds at a quarter of logit(0.99): pFake 0.76).
      let at = 0;
      for (let i = 1; i <= 30 && pv.current().state !== 'suspicious'; i++) {
        clock.t += 1_000;
        pv.observe(audioWindow({ stream: A, seconds: 2 }));
        pv.addScore({ ...score(A, 0.99, 2, i), weight: 0.25 });
        at = i;
      }
      expect(pv.current().state).toBe('suspicious');
      // Log-odds 0.25 * logit(0.99) = 1.149 need a share >= logit(0.6) / 1.149 = 0.353 of fullEvidence (4 s):
      // 1.41 s of weighted evidence, i.e. the first window (0.225) and three 2 s windows (0.5 each).
      expect(at).toBe(3);
      expect(events.map((e) => e.state)).toEqual(['likely-genuine', 'suspicious']);
    });

    it('0.5 s of scored input is not enough for any verdict', () => {
      const { pv } = setup();
      pv.observe(audioWindow({ stream: A, seconds: 0.5 }));
      pv.addScore({ ...score(A, 0.99, 0.5), weight: 1 });
      expect(pv.current().state).toBe('collecting');
      expect(pv.current().reason).toBe('insufficient-evidence');
    });
  });
});

describe('ParticipantVerdict detector fusion (a first stage on every window, a cascade stage on one in 8)', () => {
  const z = (p: number): number => Math.log(p / (1 - p));
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  /** 20 s of a call: SpecNet-like first stage on every 2 s window (hop 1 s), the stage on windows 0, 8, 16. */
  function call(fusion: 'pooled' | 'per-detector', first: number, stage: number): { pv: ParticipantVerdict; history: number[] } {
    const clock = { t: 1_000 };
    const pv = new ParticipantVerdict({ roomId: 'room-1', peerId: 'bob' }, { now: () => clock.t, detectorFusion: fusion });
    const history: number[] = [];
    for (let i = 0; i < 20; i++) {
      clock.t += 1_000;
      pv.observe(audioWindow({ stream: A, seconds: 2 }));
      pv.addScore({ ...score(A, first, 2, i), detector: 'voice-first', weight: 0.25 });
      if (i % 8 === 0) pv.addScore({ ...score(A, stage, 2, i), detector: 'voice-stage', weight: 0.45 });
      history.push(pv.current().pFake);
    }
    return { pv, history };
  }

  it('with one detector the two fusions are the same, from the first (early, 1 s) window on', () => {
    const runs = (['pooled', 'per-detector'] as const).map((fusion) => {
      const clock = { t: 1_000 };
      const pv = new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { now: () => clock.t, detectorFusion: fusion });
      const seen: number[] = [];
      for (let i = 0; i < 6; i++) {
        clock.t += 1_000;
        const seconds = i === 0 ? 1 : 2;
        pv.observe(audioWindow({ stream: A, seconds }));
        pv.addScore({ ...score(A, 0.9, seconds, i), weight: 0.25 });
        seen.push(pv.current().pFake);
      }
      return seen;
    });
    expect(runs[1]).toEqual(runs[0]);
    // the first window: 0.25 s of weighted evidence of 4, i.e. a sixteenth of 0.25 logit(0.9)
    expect(runs[1]![0]).toBeCloseTo(sig((0.25 / 4) * 0.25 * z(0.9)), 9);
  });

  it('pooled: the stage\'s few windows are outweighed, and a lukewarm stage pulls the call under the alarm', () => {
    const { pv } = call('pooled', 0.85, 0.57);
    // one evidence-weighted mean over 23 windows: the stage's 3 (weight 0.45, logit 0.28) dilute the first's 20
    const v = pv.current();
    expect(v.pFake).toBeGreaterThan(0.58);
    expect(v.pFake).toBeLessThan(sig(0.25 * z(0.85)));
    expect(v.state).toBe('likely-genuine');
  });

  it('per-detector: each stage\'s own mean at its weight, added: the same call is suspicious', () => {
    const { pv } = call('per-detector', 0.85, 0.57);
    const v = pv.current();
    // both detectors have >= 4 s of input: full means, added (decay cancels in each mean)
    expect(v.pFake).toBeCloseTo(sig(0.25 * z(0.85) + 0.45 * z(0.57)), 9);
    expect(v.state).toBe('suspicious');
    expect(v.models).toEqual([{ id: 'voice-first', version: '1.0.0', windows: 20 }, { id: 'voice-stage', version: '1.0.0', windows: 3 }]);
  });

  it('per-detector: a genuine-sounding stage lowers the call more than pooled does', () => {
    const pooled = call('pooled', 0.7, 0.3).pv.current().pFake;
    const per = call('per-detector', 0.7, 0.3).pv.current().pFake;
    expect(per).toBeCloseTo(sig(0.25 * z(0.7) + 0.45 * z(0.3)), 9);
    expect(per).toBeLessThan(0.5);
    expect(per).toBeLessThan(pooled);
  });

  it('per-detector: a detector with one 2 s window counts half (2 s of fullEvidence 4 s)', () => {
    const clock = { t: 1_000 };
    const pv = new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { now: () => clock.t, detectorFusion: 'per-detector' });
    pv.observe(audioWindow({ stream: A, seconds: 2 }));
    for (let i = 0; i < 16; i++) pv.addScore({ ...score(A, 0.8, 2, i), detector: 'voice-first', weight: 0.25 });
    pv.addScore({ ...score(A, 0.9, 2), detector: 'voice-stage', weight: 0.5 });
    // weighted evidence 8 + 1 >= fullEvidence: no overall scaling
    expect(pv.current().pFake).toBeCloseTo(sig(0.25 * z(0.8) + 0.5 * 0.5 * z(0.9)), 9);
  });

  it('a takeover drops every detector\'s evidence of the old voice', () => {
    const { pv } = call('per-detector', 0.85, 0.57);
    pv.markTakeover('takeover:voice');
    pv.observe(audioWindow({ stream: A, seconds: 2 }));
    pv.addScore({ ...score(A, 0.3, 2), detector: 'voice-first', weight: 0.25 });
    // only the new window counts (one detector now: its mean unscaled), 0.5 s of weighted evidence of 4
    expect(pv.current().pFake).toBeCloseTo(sig((0.5 / 4) * 0.25 * z(0.3)), 9);
  });

  it('rejects an unknown fusion with ERR_CONFIG', () => {
    expect(() => new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { detectorFusion: 'max' as 'pooled' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('ParticipantVerdict with presentation-attack (face-pad) scores', () => {
  function pad(pFake: number, evidence: number, detector = 'face-liveness'): WindowScore & { task: ModelTask } {
    return { ...score(V, pFake, evidence), detector, task: 'face-pad' };
  }
  function forgery(pFake: number, evidence: number): WindowScore & { task: ModelTask } {
    return { ...score(V, pFake, evidence), task: 'face-forgery' };
  }
  function setupPad(pad: Partial<PadOptions> = {}) {
    const clock = { t: 1_000 };
    const pv = new ParticipantVerdict({ roomId: 'room-1', peerId: 'bob' }, { now: () => clock.t, pad });
    pv.observe(faceWindow({ stream: V, frames: 30, size: 128 }));
    return { clock, pv };
  }

  it('PAD scores never enter the video mean: low or sub-threshold PAD leaves pFake as face-forgery alone gives it', () => {
    const ref = setupPad();
    ref.pv.addScore(forgery(0.2, 4));
    const alone = ref.pv.current();
    const { pv } = setupPad();
    pv.addScore(forgery(0.2, 4));
    for (let i = 0; i < 10; i++) pv.addScore(pad(0.01, 1, 'face-antispoof'));
    for (let i = 0; i < 10; i++) pv.addScore(pad(0.85, 1));
    const v = pv.current();
    expect(v.pFake).toBeCloseTo(alone.pFake, 12);
    expect(v.state).toBe('likely-genuine');
    expect(v.reason).toBeUndefined();
    expect(v.models.map((m) => m.id)).toEqual(['face-antispoof', 'face-liveness', 'face-x']);
    const snaps = new Map(pv.padSnapshots().map((s) => [s.detector, s]));
    expect(snaps.get('face-liveness')?.pFake).toBeCloseTo(0.85, 6);
    expect(snaps.get('face-antispoof')?.windows).toBe(10);
  });

  it('a confident PAD detector lifts the verdict to suspicious (capped at maxPFake, never deepfake-likely) with a reason', () => {
    const { pv } = setupPad();
    pv.addScore(forgery(0.2, 4));
    pv.addScore(pad(0.99, 1));
    // Below minEvidence (2 s) it does not count yet.
    expect(pv.current().state).toBe('likely-genuine');
    for (let i = 0; i < 20; i++) pv.addScore(pad(0.999, 1));
    const v = pv.current();
    expect(v.state).toBe('suspicious');
    expect(v.pFake).toBeCloseTo(0.65, 12);
    expect(v.reason).toBe('presentation-attack:face-liveness');
  });

  it('never lowers a higher fused pFake, and mode "report" changes nothing', () => {
    const hi = setupPad();
    hi.pv.addScore(forgery(0.95, 4));
    for (let i = 0; i < 5; i++) hi.pv.addScore(pad(0.99, 1));
    expect(hi.pv.current().pFake).toBeCloseTo(0.95, 6);
    expect(hi.pv.current().state).toBe('deepfake-likely');
    expect(hi.pv.current().reason).toBeUndefined();

    const rep = setupPad({ mode: 'report' });
    rep.pv.addScore(forgery(0.2, 4));
    for (let i = 0; i < 5; i++) rep.pv.addScore(pad(0.999, 1));
    expect(rep.pv.current().state).toBe('likely-genuine');
    expect(rep.pv.current().pFake).toBeCloseTo(0.2, 6);
    // Per-window log-odds are clamped to +-4 (EvidenceAccumulator), so 0.999 reads as sigmoid(4).
    expect(rep.pv.padSnapshots()[0]?.pFake).toBeCloseTo(1 / (1 + Math.exp(-4)), 6);
  });

  it('is ignored on video too poor to judge, and PAD drops do not lower the video confidence', () => {
    const { pv } = setupPad();
    const f = faceWindow({ stream: V, frames: 10, size: 32 });
    f.quality = { frameRate: 15, faceSize: 30, packetLoss: 0 };
    pv.observe(f);
    pv.observe(audioWindow({ stream: A, seconds: 4 }));
    pv.addScore(score(A, 0.2, 4));
    for (let i = 0; i < 5; i++) pv.addScore(pad(0.999, 1));
    expect(pv.current().state).toBe('likely-genuine');
    expect(pv.current().pFake).toBeCloseTo(0.2, 6);

    const d = setupPad();
    d.pv.addScore(forgery(0.2, 4));
    const before = d.pv.current();
    d.pv.addDropped({ stream: V, detector: 'face-liveness', task: 'face-pad', reason: 'queue-full' }, 5);
    expect(d.pv.current().dropped.fraction).toBe(before.dropped.fraction);
    expect(d.pv.current().confidence).toBeCloseTo(before.confidence, 12);
    d.pv.addDropped({ stream: V, detector: 'face-x', task: 'face-forgery', reason: 'queue-full' }, 5);
    expect(d.pv.current().dropped.fraction).toBeGreaterThan(0);
  });

  it('rejects out-of-range PAD options', () => {
    expect(() => new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { pad: { minPFake: 1.5 } })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});
