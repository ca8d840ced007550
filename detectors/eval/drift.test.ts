/**
 * drift.ts mechanics on espeak-ng speech with the committed voice-antispoof model and copies
 * of it whose calibration always says fake (b = +20) or always genuine (b = -20). The
 * committed manifest may carry verdict weight 0 ("never moves a verdict"), so the copies set
 * weight 1: otherwise nothing they say could reach the verdict. No accuracy claims here.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import type { Manifest } from '../registry/Manifest.js';
import type { AvailableModel } from '../registry/ModelRegistry.js';
import type { AudioWindow } from '../../pipeline/messages.js';
import { defaultQualityThresholds } from '../../pipeline/verdict/ParticipantVerdict.js';
import { voiceManifest } from '../testing/testModels.js';
import { decodeAudio48k } from './clipMedia.js';
import { LEAN_GRID, groupSpeakers, leanRows, loopTo, parseDriftArgs, replayCall, runDrift, type DriftReport, type SpeakerDrift } from './drift.js';
import { parseEvalTsv } from './report.js';
import { loadSpeaker, missingRealSpeech, realSpeakerSources, sessionRecording } from '../../challenge-response/testing/realSpeech.js';
import { encodeWav } from '../../challenge-response/dsp/wav.js';
import { concat } from '../../challenge-response/testing/signals.js';

const REAL = path.resolve('detectors/models/voice-antispoof');
const WHISPER = path.resolve('detectors/models/voice-whisper');
let dir: string;
let fake: string;
let genuine: string;

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore', cwd: dir });
}

/** A copy of a committed model (default voice-antispoof) under `<dir>/models/<id>` with calibration b (wideband and telephone) and verdict weight 1. */
function copyModel(id: string, b: number, from = REAL, extra: Partial<Manifest> = {}): string {
  const to = path.join(dir, 'models', id);
  fs.mkdirSync(to, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(from, 'manifest.json'), 'utf8')) as Manifest;
  fs.copyFileSync(path.join(from, m.file), path.join(to, m.file));
  const telephone = m.calibration.telephone ? { telephone: { ...m.calibration.telephone, b } } : {};
  const copy: Manifest = { ...m, id, calibration: { ...m.calibration, b, ...telephone }, verdict: { weight: 1, basis: 'test copy' }, ...extra };
  fs.writeFileSync(path.join(to, 'manifest.json'), JSON.stringify(copy, null, 2));
  return to;
}

function tsv(name: string, rows: string[][]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, rows.map((r) => r.join('\t')).join('\n') + '\n');
  return file;
}

const HEADER = ['path', 'label', 'speaker', 'model'];
const BY_MODEL_0 = [
  ['a/alice1.wav', 'bonafide', 'alice', '0'],
  ['a/anon1.wav', 'bonafide', '-', ''],
  ['a/anon2.wav', 'bonafide', '', '0'],
  ['a/alice2.wav', 'bonafide', 'alice', '0'],
  ['a/missing.wav', 'bonafide', 'dave', '0'],
  ['a/dave1.wav', 'bonafide', 'dave', '0'],
];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-drift-'));
  fs.mkdirSync(path.join(dir, 'a'));
  sh('espeak-ng', ['-v', 'en-us', '-w', 'a/alice1.wav', 'good morning, I am calling about my account']);
  sh('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', 'a/alice2.wav', 'the card was blocked yesterday evening']);
  sh('espeak-ng', ['-v', 'en-gb', '-w', 'a/bob1.wav', 'hello, could you read me the last three transactions please']);
  sh('espeak-ng', ['-v', 'en-us+f3', '-w', 'a/erin1.wav', 'I would like to change the delivery address']);
  sh('espeak-ng', ['-v', 'en-029', '-w', 'a/anon1.wav', 'yes that is right, thank you very much']);
  sh('espeak-ng', ['-v', 'en-gb-scotland', '-w', 'a/anon2.wav', 'no, I never received that letter']);
  sh('espeak-ng', ['-v', 'en-us+m3', '-w', 'a/dave1.wav', 'can you send the code again, it expired']);
  sh('espeak-ng', ['-v', 'en-us', '-w', 'a/spoof1.wav', 'this row is a spoof, used only with label spoof']);
  fake = copyModel('voice-antispoof-fake', 20);
  genuine = copyModel('voice-antispoof-genuine', -20);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const byName = (r: DriftReport, s: string): SpeakerDrift => {
  const e = r.speakers.find((x) => x.speaker === s);
  if (!e) throw new Error(`no speaker ${s}`);
  return e;
};

describe('drift.ts', () => {
  it('groups clips by speaker, routes each speaker to its model and replays the verdict', async () => {
    const list = tsv('list.tsv', [
      HEADER,
      ...BY_MODEL_0,
      ['a/bob1.wav', 'bonafide', 'bob', '1'],
      ['a/spoof1.wav', 'spoof', 'alice', '1'],
      ['a/erin1.wav', 'bonafide', 'erin', '2'],
    ]);
    const r = await runDrift({ tsv: list, models: [REAL, fake, genuine], seconds: 12, outDir: path.join(dir, 'out'), progress: false });
    expect(r.tool).toBe('dfd-drift');
    expect(r.channel).toBe('clean');
    expect(r.models.map((m) => m.id)).toEqual(['voice-antispoof', 'voice-antispoof-fake', 'voice-antispoof-genuine']);
    expect(r.speakers.map((s) => [s.speaker, s.model])).toEqual([
      ['alice', 0],
      ['a/anon1.wav', 0],
      ['a/anon2.wav', 0],
      ['dave', 0],
      ['bob', 1],
      ['erin', 2],
    ]);
    expect(byName(r, 'alice').clips).toEqual(['a/alice1.wav', 'a/alice2.wav']);
    expect(byName(r, 'dave').clips).toEqual(['a/dave1.wav']);
    expect(r.failures).toEqual([{ path: 'a/missing.wav', line: 6, code: 'ERR_DECODE_FAILED' }]);
    expect(r.counts).toEqual({ bonafideClips: 8, spoofClips: 1, ignoredRows: 1, failedClips: 1 });
    expect(r.label).toBe('bonafide');
    expect(r.sweep).toEqual([]);
    // the weak-evidence table counts what the speakers' own outcomes say
    expect(r.lean).toEqual(leanRows(r.speakers));
    expect(r.lean.every((row) => row.challenged >= r.totals.suspicious)).toBe(true);
    for (const s of r.speakers) {
      expect(Object.keys(s).sort()).toEqual(['clips', 'everSuspicious', 'finalReason', 'finalState', 'firstSuspiciousReason', 'firstSuspiciousSeconds', 'firstVerdict', 'maxGenuinePFake', 'maxPFake', 'meanStagePFake', 'meanWindowPFake', 'model', 'seconds', 'speaker', 'takeovers', 'windows'].sort());
      expect(s.takeovers).toBe(0); // no speaker model
      expect(s.windows).toBe(12); // 12 s call: the early 1 s window, then 2 s windows every 1 s
      expect(s.firstVerdict?.seconds).toBe(1); // the early window ends at 1 s
      expect(s.seconds).toBeGreaterThan(1);
      expect(s.seconds).toBeLessThan(12);
      expect(s.maxPFake).toBeGreaterThanOrEqual(0);
      expect(s.maxPFake).toBeLessThanOrEqual(1);
    }
    // A speaker's seconds are their clips' decoded length, before looping to the call.
    const len = async (f: string): Promise<number> => (await decodeAudio48k(path.join(dir, f), 120)).length / 48000;
    expect(byName(r, 'alice').seconds).toBeCloseTo((await len('a/alice1.wav')) + (await len('a/alice2.wav')), 9);

    // Always fake (log-odds capped at 4 by the accumulator): the early window (1 s of evidence,
    // a quarter of fullEvidence) gives pFake 0.73, suspicious at 1 s; deepfake-likely (0.85) from
    // 1.7 s of evidence on, i.e. at the first 2 s window's end.
    expect(byName(r, 'bob')).toMatchObject({ everSuspicious: true, firstSuspiciousSeconds: 1, firstVerdict: { state: 'suspicious', seconds: 1 }, finalState: 'deepfake-likely' });
    expect(byName(r, 'bob').firstSuspiciousReason ?? '').not.toMatch(/^takeover/);
    expect(r.speakerEmbed).toBeNull();
    expect(byName(r, 'erin').firstVerdict).toEqual({ state: 'likely-genuine', seconds: 1 });
    expect(byName(r, 'bob').maxPFake).toBeCloseTo(1 / (1 + Math.exp(-4)), 6);
    expect(byName(r, 'erin')).toMatchObject({ everSuspicious: false, firstSuspiciousSeconds: null, finalState: 'likely-genuine' });
    // Its largest pFake is the first verdict's, pulled toward 0.5: log-odds -4 x 1/4.
    expect(byName(r, 'erin').maxPFake).toBeCloseTo(1 / (1 + Math.exp(1)), 6);
    expect(byName(r, 'bob').meanWindowPFake).toBeGreaterThan(0.999);
    expect(byName(r, 'erin').meanWindowPFake).toBeLessThan(0.001);

    // The model-0 speakers follow the real model: the same entries as a run with it alone.
    const alone = await runDrift({ tsv: tsv('alone.tsv', [HEADER, ...BY_MODEL_0]), models: [REAL], seconds: 12, outDir: path.join(dir, 'out-alone'), progress: false });
    expect(alone.speakers).toEqual(r.speakers.filter((s) => s.model === 0));

    const n = r.speakers.length;
    const flagged = r.speakers.filter((s) => s.everSuspicious).length;
    expect(r.totals).toMatchObject({ speakers: 6, suspicious: flagged, suspiciousShare: flagged / n });
    expect(Object.values(r.totals.finalStates).reduce((a, b) => a + (b ?? 0), 0)).toBe(n);
    expect(r.files.json).toBe(path.resolve(dir, 'out', 'drift-voice-antispoof-clean.json'));
    expect((JSON.parse(fs.readFileSync(r.files.json, 'utf8')) as DriftReport).speakers).toEqual(r.speakers);
  });

  it('with --label spoof judges the spoof rows as calls; a weight sweep replays the same scores with other verdict weights', async () => {
    const list = tsv('spoof.tsv', [
      HEADER,
      ['a/alice1.wav', 'bonafide', 'alice', '0'],
      ['a/spoof1.wav', 'spoof', 'vits / alice', '1'],
      ['a/bob1.wav', 'spoof', 'vits / bob', '2'],
    ]);
    const out = path.join(dir, 'out-spoof');
    const r = await runDrift({ tsv: list, models: [REAL, fake, genuine], label: 'spoof', weights: [0, 0.2, 1], seconds: 12, outDir: out, progress: false });
    expect(r.label).toBe('spoof');
    expect(r.settings['question']).toMatch(/spoof calls/);
    expect(r.counts).toEqual({ bonafideClips: 1, spoofClips: 2, ignoredRows: 1, failedClips: 0 });
    expect(r.speakers.map((s) => [s.speaker, s.model])).toEqual([
      ['vits / alice', 1],
      ['vits / bob', 2],
    ]);
    // the always-fake copy flags its call, the always-genuine copy does not (both at their manifest weight 1)
    expect(byName(r, 'vits / alice').everSuspicious).toBe(true);
    expect(byName(r, 'vits / bob').everSuspicious).toBe(false);
    expect(r.files.json).toBe(path.resolve(out, 'drift-voice-antispoof-clean-spoof.json'));
    // weight 0: nothing moves the verdict; 0.2 (log-odds 20 x 0.2, capped at 4) and 1 still flag the fake call
    expect(r.sweep).toEqual([
      { weight: 0, stageWeight: null, fusion: 'per-detector', stageThin: 1, suspicious: 0, share: 0 },
      { weight: 0.2, stageWeight: null, fusion: 'per-detector', stageThin: 1, suspicious: 1, share: 0.5 },
      { weight: 1, stageWeight: null, fusion: 'per-detector', stageThin: 1, suspicious: 1, share: 0.5 },
    ]);
    // the sweep at the manifest's own weight is the run itself
    const again = await runDrift({ tsv: list, models: [REAL, fake, genuine], label: 'spoof', weights: [1], seconds: 12, outDir: out, progress: false });
    expect(again.sweep[0]!.suspicious).toBe(again.totals.suspicious);
    await expect(runDrift({ tsv: list, models: [REAL, fake, genuine], label: 'spoof', stageWeights: [0.5], seconds: 12, outDir: out, progress: false })).rejects.toSatisfy(
      (e) => isDfdError(e) && e.code === 'ERR_CONFIG',
    );
  });

  it('scores the cascade stage on the windows the service would give it and fuses them into the same verdict', async () => {
    // An always-fake stage (one window in 4) on a call the always-genuine first stage judges.
    const stage = copyModel('voice-whisper-fake', 20, WHISPER, { cascade: { everyNthWindow: 4, basis: 'test copy' } });
    const list = tsv('stage.tsv', [HEADER, ['a/erin1.wav', 'bonafide', 'erin', '0']]);
    const r = await runDrift({ tsv: list, models: [genuine], stage2: [stage], weights: [0.2], stageWeights: [0, 0.5, 1], fusions: ['pooled', 'per-detector'], seconds: 12, outDir: path.join(dir, 'out-stage'), progress: false });
    expect(r.stage2.map((m) => [m.id, m.everyNthWindow])).toEqual([['voice-whisper-fake', 4]]);
    // 12 windows: the early 1 s one (too short for the stage), then eleven 2 s windows; the stage takes the 1st, 5th and 9th of those
    expect(r.timing).toMatchObject({ windows: 12, stageWindows: 3 });
    expect(byName(r, 'erin').meanStagePFake).toBeGreaterThan(0.999);
    expect(byName(r, 'erin').meanWindowPFake).toBeLessThan(0.001);
    // at the manifests' weights (1 and 1) the genuine first stage (4 windows of 2 s per stage window) outweighs the stage
    expect(byName(r, 'erin').everSuspicious).toBe(false);
    // The copies' logits (+-20) are far past the accumulator's clamp (+-4 log-odds a window, after the verdict weight):
    // the first stage at 0.2 still counts -4 a window (evidence 0.4 s), the stage +4 at weight 0.5 or 1 (evidence 1 or
    // 2 s a window). Pooled, the stage at weight 1 outweighs the first stage's four windows per stage window
    // ((1.6 x -4 + 2 x 4) / 3.6 = +0.44: suspicious), at 0.5 it does not ((1.6 x -4 + 4) / 2.6 < 0). Per detector, the
    // two means add up to -4 + 4 = 0 at most: never suspicious; the stage's window count no longer decides.
    expect(r.sweep).toEqual([
      { weight: 0.2, stageWeight: 0, fusion: 'pooled', stageThin: 1, suspicious: 0, share: 0 },
      { weight: 0.2, stageWeight: 0.5, fusion: 'pooled', stageThin: 1, suspicious: 0, share: 0 },
      { weight: 0.2, stageWeight: 1, fusion: 'pooled', stageThin: 1, suspicious: 1, share: 1 },
      { weight: 0.2, stageWeight: 0, fusion: 'per-detector', stageThin: 1, suspicious: 0, share: 0 },
      { weight: 0.2, stageWeight: 0.5, fusion: 'per-detector', stageThin: 1, suspicious: 0, share: 0 },
      { weight: 0.2, stageWeight: 1, fusion: 'per-detector', stageThin: 1, suspicious: 0, share: 0 },
    ]);
  });

  it('--speaker-embed: the takeover rule joins the verdict; a second real voice is a takeover, one voice all along is not', async () => {
    // Two real people from Debian (the LibriVox reader, asterisk's Allison) judged by the always-genuine copy, so that
    // only the speaker model's takeover rule can make a call suspicious.
    const missing = missingRealSpeech();
    if (missing.length > 0) throw new Error(missing.join('; '));
    const [rd, al] = realSpeakerSources.map((s) => loadSpeaker(s));
    const write = (name: string, xs: readonly Float32Array[]): void => fs.writeFileSync(path.join(dir, 'a', name), encodeWav(concat(...xs), 16000));
    write('reader1.wav', rd!.baseline);
    write('reader2.wav', rd!.source.responses.map((u) => sessionRecording(rd!.source, u)));
    write('allison1.wav', al!.baseline);
    const list = tsv('takeover.tsv', [
      HEADER,
      ['a/reader1.wav', 'bonafide', 'reader', '0'],
      ['a/reader2.wav', 'bonafide', 'reader', '0'],
      ['a/reader1.wav', 'bonafide', 'spliced', '0'],
      ['a/allison1.wav', 'bonafide', 'spliced', '0'],
    ]);
    const seconds = Math.floor((rd!.baseline.reduce((n, x) => n + x.length, 0) + al!.baseline.reduce((n, x) => n + x.length, 0)) / 16000);
    const r = await runDrift({ tsv: list, models: [genuine], speakerEmbed: path.resolve('detectors/models/speaker-embed'), channel: 'opus24', seconds, outDir: path.join(dir, 'out-tk'), progress: false });
    expect(r.speakerEmbed).toMatchObject({ id: 'speaker-embed', channel: 'wideband', takeover: { K: 6, M: 2 } });
    expect(String(r.settings['question'])).toMatch(/takeover rule/);
    expect(byName(r, 'reader')).toMatchObject({ takeovers: 0, everSuspicious: false, firstSuspiciousReason: null });
    expect(byName(r, 'spliced').takeovers).toBeGreaterThanOrEqual(1);
    expect(byName(r, 'spliced')).toMatchObject({ everSuspicious: true, firstSuspiciousReason: 'takeover:voice' });
    expect(r.totals).toMatchObject({ speakers: 2, suspicious: 1, suspiciousByTakeover: 1, callsWithTakeover: 1 });
    // without the speaker model the same calls stay genuine
    const alone = await runDrift({ tsv: list, models: [genuine], channel: 'opus24', seconds, outDir: path.join(dir, 'out-tk0'), progress: false });
    expect(alone.totals).toMatchObject({ suspicious: 0, suspiciousByTakeover: 0, callsWithTakeover: 0 });
    // a suppressed sender's windows use the rule's suppressed threshold
    const ns = await runDrift({ tsv: list, models: [genuine], speakerEmbed: path.resolve('detectors/models/speaker-embed'), channel: 'opus24', suppressed: true, seconds, outDir: path.join(dir, 'out-tk-ns'), progress: false });
    expect(ns.speakerEmbed?.channel).toBe('suppressed');
    expect(byName(ns, 'spliced').firstSuspiciousReason).toBe('takeover:voice');
    // a voice model is not a speaker model
    await expect(runDrift({ tsv: list, models: [genuine], speakerEmbed: REAL, seconds: 6, outDir: path.join(dir, 'out-tk-bad'), progress: false })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
  });

  it("--suppressed calibrates with the manifest's calibration.suppressed (a wideband one without it); not for g711", async () => {
    // The genuine copy (b = -20) whose calibration for noise-suppressed senders says fake (b = +20).
    const m = JSON.parse(fs.readFileSync(path.join(genuine, 'manifest.json'), 'utf8')) as Manifest;
    const flips = copyModel('voice-antispoof-ns', -20, REAL, { calibration: { ...m.calibration, suppressed: { a: m.calibration.a, b: 20, fittedOn: 'test' } } });
    const list = tsv('ns.tsv', [HEADER, ['a/erin1.wav', 'bonafide', 'erin', '0'], ['a/bob1.wav', 'bonafide', 'bob', '1']]);
    const run = (suppressed: boolean, channel: 'opus24' | 'g711' | 'g722' = 'opus24') =>
      runDrift({ tsv: list, models: [flips, genuine], channel, suppressed, seconds: 6, outDir: path.join(dir, 'out-ns'), progress: false });
    const plain = await run(false);
    expect(plain.speakers.map((s) => s.everSuspicious)).toEqual([false, false]);
    const ns = await run(true);
    expect(ns.settings['suppressed']).toBe(true);
    expect(ns.models[0]!.calibration).toMatchObject({ b: 20, fittedOn: 'test' });
    // erin's model has the suppressed calibration and flags her; bob's has none and keeps its wideband one.
    expect(byName(ns, 'erin').everSuspicious).toBe(true);
    expect(byName(ns, 'bob').everSuspicious).toBe(false);
    await expect(run(true, 'g711')).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
    // a G.722 SIP leg never says its far end suppressed noise: judged wideband, never 'suppressed'
    await expect(run(true, 'g722')).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
    const g722 = await run(false, 'g722');
    expect(g722.settings).toMatchObject({ suppressed: false, judgedAs: 'wideband' });
    expect(g722.speakers.map((s) => s.everSuspicious)).toEqual([false, false]);
    // nor does a gateway's Opus leg (--sip-leg), which is for Opus channels only
    const sip = (suppressed: boolean, channel: 'opus24' | 'g711') => runDrift({ tsv: list, models: [flips, genuine], channel, suppressed, sipLeg: true, seconds: 6, outDir: path.join(dir, 'out-ns'), progress: false });
    await expect(sip(true, 'opus24')).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
    await expect(sip(false, 'g711')).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
    const sipOpus = await sip(false, 'opus24');
    expect(sipOpus.settings).toMatchObject({ suppressed: false, judgedAs: 'wideband', sipLeg: true });
    expect(sipOpus.speakers.map((s) => s.everSuspicious)).toEqual([false, false]);
  });

  it('runs from the command line; g711 is judged as the service judges a phone leg (telephone windows), narrowband as it is', async () => {
    const list = tsv('cli.tsv', [HEADER, ['a/bob1.wav', 'bonafide', 'bob', '1'], ['a/alice1.wav', 'bonafide', 'alice', '0']]);
    const out = path.join(dir, 'out-cli');
    const cli = async (...extra: string[]): Promise<DriftReport> => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'detectors/eval/drift.ts', list, '--model', REAL, '--model', fake, '--channel', 'g711', '--seconds', '6', '--out', out, '--quiet', ...extra], {
        maxBuffer: 1 << 24,
      });
      return JSON.parse(stdout) as DriftReport;
    };
    const plain = await cli();
    expect(plain.channel).toBe('g711');
    expect(plain.files.json).toBe(path.resolve(out, 'drift-voice-antispoof-g711.json'));
    expect(plain.settings).toMatchObject({ judgeNarrowband: false, judgedAs: 'telephone' });
    // the verdict does not set a phone leg's narrowband audio aside: bob's fake-scoring model flags him
    expect(byName(plain, 'bob')).toMatchObject({ everSuspicious: true, finalState: 'deepfake-likely' });
    expect(byName(plain, 'alice').finalReason).not.toBe('audio:narrowband');
    expect(plain.totals.suspicious).toBeGreaterThanOrEqual(1);
    // lifting the narrowband rule changes nothing for telephone windows, which it never applied to
    const lifted = await cli('--judge-narrowband');
    expect(lifted.settings['judgeNarrowband']).toBe(true);
    expect(lifted.speakers.map((s) => [s.speaker, s.everSuspicious, s.finalState])).toEqual(plain.speakers.map((s) => [s.speaker, s.everSuspicious, s.finalState]));
  });

  it('rejects bad lists with ERR_EVAL_TSV and bad options with ERR_CONFIG', async () => {
    const items = (rows: string[][]) => parseEvalTsv(rows.map((r) => r.join('\t')).join('\n'), dir);
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isDfdError(e) ? e.code : 'untyped';
      }
      return undefined;
    };
    const noSpeaker = items([['path', 'label'], ['a.wav', 'bonafide']]);
    expect(code(() => groupSpeakers(noSpeaker.items, noSpeaker.columns, 1))).toBe('ERR_EVAL_TSV');
    const outOfRange = items([HEADER, ['a.wav', 'bonafide', 's', '2']]);
    expect(code(() => groupSpeakers(outOfRange.items, outOfRange.columns, 2))).toBe('ERR_EVAL_TSV');
    const split = items([HEADER, ['a.wav', 'bonafide', 's', '0'], ['b.wav', 'bonafide', 's', '1']]);
    expect(code(() => groupSpeakers(split.items, split.columns, 2))).toBe('ERR_EVAL_TSV');
    const ok = items([['path', 'label', 'speaker'], ['a.wav', 'bonafide', '-'], ['b.wav', 'bonafide', '-'], ['c.wav', 'spoof', 'x']]);
    expect(groupSpeakers(ok.items, ok.columns, 1)).toEqual({ groups: [expect.objectContaining({ speaker: 'a.wav', model: 0 }), expect.objectContaining({ speaker: 'b.wav', model: 0 })], ignored: 1 });

    expect(parseDriftArgs(['l.tsv', '--model', 'a', '--model', 'b', '--channel', 'opus12loss', '--seconds', '30', '--out', 'o', '--quiet'])).toEqual({
      tsv: 'l.tsv',
      models: ['a', 'b'],
      channel: 'opus12loss',
      seconds: 30,
      outDir: 'o',
      judgeNarrowband: false,
      suppressed: false,
      sipLeg: false,
      progress: false,
    });
    expect(parseDriftArgs(['l.tsv', '--suppressed'])).toMatchObject({ suppressed: true });
    expect(parseDriftArgs(['l.tsv', '--sip-leg'])).toMatchObject({ sipLeg: true, suppressed: false });
    expect(parseDriftArgs(['l.tsv', '--label', 'spoof', '--weights', '0.2,0.3', '--stage-weights', '0.5'])).toMatchObject({ label: 'spoof', weights: [0.2, 0.3], stageWeights: [0.5] });
    expect(code(() => parseDriftArgs(['l.tsv', '--label', 'fake']))).toBe('ERR_CONFIG');
    expect(parseDriftArgs(['l.tsv', '--fusions', 'pooled,per-detector'])).toMatchObject({ fusions: ['pooled', 'per-detector'] });
    expect(parseDriftArgs(['l.tsv', '--stage-thin', '1,2,4'])).toMatchObject({ stageThin: [1, 2, 4] });
    expect(code(() => parseDriftArgs(['l.tsv', '--stage-thin', '0']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs(['l.tsv', '--stage-thin', '1.5']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs(['l.tsv', '--fusions', 'pooled,max']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs(['l.tsv', '--weights', '0.2,']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs(['l.tsv', '--weights', '1.5']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs(['l.tsv', '--stage-weights', 'x']))).toBe('ERR_CONFIG');
    const spoofOnly = items([['path', 'label', 'speaker'], ['a.wav', 'bonafide', 'x'], ['c.wav', 'spoof', 'y']]);
    expect(groupSpeakers(spoofOnly.items, spoofOnly.columns, 1, 'spoof')).toEqual({ groups: [expect.objectContaining({ speaker: 'y', model: 0 })], ignored: 1 });
    expect(code(() => parseDriftArgs(['l.tsv', '--channel', 'gsm']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs(['l.tsv', '--seconds', '0']))).toBe('ERR_CONFIG');
    expect(code(() => parseDriftArgs([]))).toBe('ERR_CONFIG');
    const video = tsv('video.tsv', [['path', 'label', 'speaker'], ['v.mp4', 'real', 'x']]);
    await expect(runDrift({ tsv: video, models: [REAL], progress: false, outDir: path.join(dir, 'o') })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_EVAL_TSV');
    await expect(runDrift({ tsv: video, models: [REAL], seconds: 1, progress: false })).rejects.toSatisfy((e) => isDfdError(e) && e.code === 'ERR_CONFIG');
  });
});

describe('replayCall', () => {
  const model = (weight: number | undefined): AvailableModel => {
    const m = voiceManifest('0'.repeat(64), 'm');
    return { id: 'm', dir: '', modelPath: '', manifest: weight === undefined ? m : { ...m, verdict: { weight, basis: 'test' } } };
  };
  const cal = { method: 'logistic' as const, a: 1, b: 0, fittedOn: '' };
  const windows = (n: number, bandwidth = 'none'): AudioWindow[] =>
    Array.from({ length: n }, (_, i) => ({
      type: 'audio-window',
      stream: { roomId: 'r', peerId: 'p', producerId: 'x', kind: 'audio' },
      seq: i,
      sampleRate: 16000,
      samples: new Float32Array(0),
      rtpStart: 0,
      rtpEnd: 0,
      wallStart: i * 1000,
      wallEnd: (i + 2) * 1000,
      speechSeconds: 2,
      quality: { packetLoss: 0, concealed: 0, bitrate: 0, bandwidth },
    }));

  it('applies the manifest verdict weight: 0 never moves the verdict', () => {
    const hot = new Array<number>(10).fill(3);
    expect(replayCall({ model: model(undefined), calibration: cal, windows: windows(10), logits: hot })).toMatchObject({ everSuspicious: true, finalState: 'deepfake-likely' });
    const muted = replayCall({ model: model(0), calibration: cal, windows: windows(10), logits: hot });
    expect(muted).toMatchObject({ everSuspicious: false, firstSuspiciousSeconds: null, finalState: 'collecting', finalReason: 'insufficient-evidence', maxPFake: 0.5 });
    // What the detector said is still reported.
    expect(muted.meanWindowPFake).toBeCloseTo(1 / (1 + Math.exp(-3)), 9);
    // Weight 0.2 shrinks log-odds 3 to 0.6: pFake 0.646, suspicious but not deepfake-likely.
    const weak = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(3) });
    expect(weak.finalState).toBe('suspicious');
    expect(weak.maxPFake).toBeCloseTo(1 / (1 + Math.exp(-0.6)), 6);
    // Weighted evidence 0.4 s per window, decayed with a 30 s half-life: pFake reaches 0.6 once
    // evidence / fullEvidence (4 s) >= logit(0.6) / 0.6 = 0.68, i.e. 2.7 s: at the 8th window
    // (about 3.0 s), which ends at 9 s.
    expect(weak.firstSuspiciousSeconds).toBe(9);
  });

  it("judged as a phone leg (channel 'telephone'), a call takes the manifest's telephone weight", () => {
    const m = voiceManifest('0'.repeat(64), 'm');
    const perFamily: AvailableModel = { id: 'm', dir: '', modelPath: '', manifest: { ...m, verdict: { weight: 0.2, weightTelephone: 0, basis: 'test' } } };
    const hot = new Array<number>(30).fill(3);
    // wideband: weight 0.2 as above (suspicious); telephone: weight 0, scored but never judged
    expect(replayCall({ model: perFamily, calibration: cal, windows: windows(30), logits: hot }).finalState).toBe('suspicious');
    expect(replayCall({ model: perFamily, calibration: cal, windows: windows(30), logits: hot, channel: 'telephone' })).toMatchObject({ everSuspicious: false, maxPFake: 0.5 });
    // a sweep weight still replaces the manifest's, whatever the channel
    expect(replayCall({ model: perFamily, calibration: cal, windows: windows(30), logits: hot, channel: 'telephone', weights: { weight: 0.2 } }).finalState).toBe('suspicious');
  });

  it.each([
    { leg: "a G.722 leg's", codec: 'g722' as const, verdict: { weight: 0.2, weightG722: 0, basis: 'test' } },
    { leg: "a gateway's Opus leg's", codec: 'sip-opus' as const, verdict: { weight: 0.2, weightSipOpus: 0, basis: 'test' } },
  ])("$leg windows (quality.codec '$codec') take the manifest's weight for that leg", ({ codec, verdict }) => {
    const m = voiceManifest('0'.repeat(64), 'm');
    const muted: AvailableModel = { id: 'm', dir: '', modelPath: '', manifest: { ...m, verdict } };
    const hot = new Array<number>(30).fill(3);
    const marked = windows(30, 'WB').map((w) => ({ ...w, quality: { ...w.quality, codec } }));
    expect(replayCall({ model: muted, calibration: cal, windows: windows(30, 'WB'), logits: hot }).finalState).toBe('suspicious');
    expect(replayCall({ model: muted, calibration: cal, windows: marked, logits: hot })).toMatchObject({ everSuspicious: false, maxPFake: 0.5 });
    expect(replayCall({ model: muted, calibration: cal, windows: marked, logits: hot, weights: { weight: 0.2 } }).finalState).toBe('suspicious');
  });

  it('records the largest pFake of a likely-genuine verdict, and which calls each weak-evidence threshold would challenge', () => {
    // weight 0.2 on log-odds 1: the verdict leans to sigmoid(0.2) = 0.5498 and stays likely-genuine
    const leaning = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(1) });
    expect(leaning.everSuspicious).toBe(false);
    expect(leaning.finalState).toBe('likely-genuine');
    expect(leaning.maxGenuinePFake).toBeCloseTo(1 / (1 + Math.exp(-0.2)), 3);
    expect(leaning.maxGenuinePFake).toBeLessThan(0.55);
    // log-odds 3 at 0.2 becomes suspicious; its likely-genuine stretch (before) stays under 0.6
    const alarmed = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(3) });
    expect(alarmed.everSuspicious).toBe(true);
    expect(alarmed.maxGenuinePFake).toBeLessThan(0.6);
    // weight 0: never judged, never likely-genuine
    const muted = replayCall({ model: model(0), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(3) });
    expect(muted.maxGenuinePFake).toBeNull();
    const rows = leanRows([leaning, alarmed, muted]);
    expect(rows.map((r) => r.pFake)).toEqual(LEAN_GRID);
    const at = (l: number) => rows.find((r) => r.pFake === l);
    expect(at(0.54)).toEqual({ pFake: 0.54, challenged: 2, share: 2 / 3 });
    expect(at(0.55)).toEqual({ pFake: 0.55, challenged: 1, share: 1 / 3 });
    expect(leanRows([])[0]).toEqual({ pFake: 0.5, challenged: 0, share: null });
  });

  it('replays with other verdict weights in place of the manifests\'', () => {
    const hot = new Array<number>(30).fill(3);
    // the manifest says 0 (never moves a verdict); the override 0.2 is the "weak" case above
    expect(replayCall({ model: model(0), calibration: cal, windows: windows(30), logits: hot, weights: { weight: 0.2 } })).toMatchObject({ finalState: 'suspicious', firstSuspiciousSeconds: 9 });
    const stageModel = { ...model(1), id: 'stage' };
    const every4 = new Map(Array.from({ length: 8 }, (_, k) => [4 * k, 3] as [number, number]));
    const stage = { model: stageModel, calibration: cal, logits: every4 };
    // the stage at weight 0 adds nothing: the same outcome as the first stage alone
    const muted = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage, weights: { stageWeight: 0 } });
    expect({ ...muted, meanStagePFake: null }).toEqual(replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot }));
    // what the stage said is still reported
    expect(muted.meanStagePFake).toBeCloseTo(1 / (1 + Math.exp(-3)), 9);
    expect(replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage, weights: { stageWeight: 1 } })).toEqual(replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage }));
  });

  it('adds a cascade stage\'s scores to the same verdict, on the windows it scored', () => {
    // The first stage alone (weight 0.2, log-odds 0.6) makes the call suspicious, not deepfake-likely.
    const first = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(3) });
    expect(first.finalState).toBe('suspicious');
    const stageModel = { ...model(1), id: 'stage' };
    const every4 = new Map(Array.from({ length: 8 }, (_, k) => [4 * k, 3] as [number, number]));
    const both = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(3), stage: { model: stageModel, calibration: cal, logits: every4 } });
    // a full-weight stage saying log-odds 3 on every 4th window pulls the fused pFake up to deepfake-likely
    expect(both.finalState).toBe('deepfake-likely');
    expect(both.maxPFake).toBeGreaterThan(first.maxPFake);
    // a stage that says "genuine" pulls the same call down
    const cold = new Map([...every4.keys()].map((i) => [i, -3] as [number, number]));
    expect(replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: new Array<number>(30).fill(3), stage: { model: stageModel, calibration: cal, logits: cold } }).everSuspicious).toBe(false);
    // the report's mean window pFake stays the first stage's
    expect(both.meanWindowPFake).toBeCloseTo(first.meanWindowPFake!, 9);
  });

  it('thins the stage: keeps one in k of the windows it scored (partial stage coverage)', () => {
    const stageModel = { ...model(1), id: 'stage' };
    // the stage's 1st, 3rd, ... windows say fake (log-odds 3), its 2nd, 4th, ... genuine (-3)
    const mixed = new Map(Array.from({ length: 8 }, (_, k) => [4 * k, k % 2 === 0 ? 3 : -3] as [number, number]));
    const stage = { model: stageModel, calibration: cal, logits: mixed };
    const hot = new Array<number>(30).fill(3);
    const all = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage });
    expect(all.meanStagePFake).toBeCloseTo(0.5, 9);
    expect(replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage, weights: { stageThin: 1 } })).toEqual(all);
    // one in 2: only the stage's fake-sounding windows remain, and they lift the call
    const half = replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage, weights: { stageThin: 2 } });
    expect(half.meanStagePFake).toBeCloseTo(1 / (1 + Math.exp(-3)), 9);
    expect(half.maxPFake).toBeGreaterThan(all.maxPFake);
    // one in 1000: the stage's first window only
    expect(replayCall({ model: model(0.2), calibration: cal, windows: windows(30), logits: hot, stage, weights: { stageThin: 1000 } }).meanStagePFake).toBeCloseTo(1 / (1 + Math.exp(-3)), 9);
  });

  it('uses the given calibration and leaves a narrowband call at collecting unless told', () => {
    const cold = new Array<number>(6).fill(-3);
    expect(replayCall({ model: model(1), calibration: cal, windows: windows(6), logits: cold })).toMatchObject({ everSuspicious: false, finalState: 'likely-genuine' });
    expect(replayCall({ model: model(1), calibration: { ...cal, b: 10 }, windows: windows(6), logits: cold })).toMatchObject({ everSuspicious: true, finalState: 'deepfake-likely' });
    expect(replayCall({ model: model(1), calibration: { ...cal, b: 10 }, windows: windows(6, 'NB'), logits: cold })).toMatchObject({ everSuspicious: false, finalState: 'collecting', finalReason: 'audio:narrowband' });
    expect(replayCall({ model: model(1), calibration: { ...cal, b: 10 }, windows: windows(6, 'NB'), logits: cold, verdict: { quality: { ...defaultQualityThresholds, poorBandwidths: [] } } })).toMatchObject({ finalState: 'deepfake-likely' });
  });

  it('loopTo repeats or cuts to the length', () => {
    expect(Array.from(loopTo(Float32Array.from([1, 2, 3]), 7))).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(Array.from(loopTo(Float32Array.from([1, 2, 3]), 2))).toEqual([1, 2]);
    expect(() => loopTo(new Float32Array(0), 3)).toThrow();
  });
});
