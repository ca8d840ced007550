/**
 * eval-voice: scores a labelled audio list with a voice-antispoof model and prints JSON metrics.
 *
 *   node --import tsx detectors/eval/evalVoice.ts --tsv ../shared/eval/audio.tsv [--model detectors/models/voice-antispoof]
 *        [--threads 1] [--scores out.tsv]
 *
 * TSV columns (header row): path (relative to the TSV's folder), label (bonafide|spoof), generator, ...
 * Every clip is decoded by ffmpeg to mono float32 at the manifest's sample rate (one rate for all clips:
 * source rates differ between classes and would otherwise separate them on their own).
 * Metrics: EER, AUC and normalised minDCF (ASVspoof 5 costs: C_miss 1, C_fa 10, pi_spoof 0.05), overall
 * and per generator (that generator's spoofs against all bona fide clips). Also reports the share of clips
 * on the right side of pFake = 0.5 with the manifest's dev-fitted calibration (no threshold is tuned here).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { asvspoof5DcfParams, summarise, type DetectionSummary } from './metrics.js';
import { VoiceModel } from './voiceModel.js';

export interface EvalRow {
  path: string;
  label: 'bonafide' | 'spoof';
  generator: string;
}

export function parseTsv(text: string): EvalRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').split('\t');
  const ip = header.indexOf('path');
  const il = header.indexOf('label');
  const ig = header.indexOf('generator');
  if (ip < 0 || il < 0) throw new DfdError('ERR_BAD_REQUEST', 'TSV needs path and label columns');
  const rows: EvalRow[] = [];
  for (const line of lines.slice(1)) {
    const c = line.split('\t');
    const label = c[il];
    if (label !== 'bonafide' && label !== 'spoof') throw new DfdError('ERR_BAD_REQUEST', 'label must be bonafide or spoof');
    rows.push({ path: c[ip] ?? '', label, generator: ig >= 0 ? (c[ig] ?? '-') : '-' });
  }
  return rows;
}

/** Decodes any ffmpeg-readable file to mono float32 at `sampleRate`. */
export function decodeAudio(file: string, sampleRate: number): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-f', 'f32le', '-ac', '1', '-ar', String(sampleRate), '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let errLen = 0;
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.stderr.on('data', (c: Buffer) => {
      errLen += c.length;
    });
    p.on('error', (e) => reject(new DfdError('ERR_DECODE_FAILED', 'ffmpeg could not start', undefined, { cause: e })));
    p.on('close', (code) => {
      if (code !== 0) {
        reject(new DfdError('ERR_DECODE_FAILED', 'ffmpeg failed', { exitCode: code, stderrBytes: errLen }));
        return;
      }
      const buf = Buffer.concat(chunks);
      const out = new Float32Array(Math.floor(buf.length / 4));
      for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
      resolve(out);
    });
  });
}

interface Scored {
  row: EvalRow;
  logit: number;
  pFake: number;
}

function summary(scored: readonly Scored[]): DetectionSummary | { error: string } {
  const b = scored.filter((s) => s.row.label === 'bonafide').map((s) => s.logit);
  const s = scored.filter((x) => x.row.label === 'spoof').map((x) => x.logit);
  if (b.length === 0 || s.length === 0) return { error: 'needs both classes' };
  return summarise(b, s, asvspoof5DcfParams);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tsv: { type: 'string' },
      model: { type: 'string', default: 'detectors/models/voice-antispoof' },
      threads: { type: 'string', default: '1' },
      scores: { type: 'string' },
    },
  });
  if (!values.tsv) throw new DfdError('ERR_BAD_REQUEST', 'usage: evalVoice.ts --tsv FILE [--model DIR] [--threads N] [--scores OUT.tsv]');
  const tsvPath = path.resolve(values.tsv);
  const base = path.dirname(tsvPath);
  const rows = parseTsv(fs.readFileSync(tsvPath, 'utf8'));
  const model = await VoiceModel.load(path.resolve(values.model), { intraOpNumThreads: Math.max(1, Number(values.threads) || 1) });
  const sr = model.audio.sampleRate;

  const scored: Scored[] = [];
  const failures: { path: string; code: string }[] = [];
  const t0 = performance.now();
  let audioSeconds = 0;
  for (const row of rows) {
    try {
      const x = await decodeAudio(path.join(base, row.path), sr);
      audioSeconds += x.length / sr;
      const s = await model.scoreClip(x);
      scored.push({ row, logit: s.logit, pFake: s.pFake });
    } catch (e) {
      failures.push({ path: row.path, code: toDfdError(e).code });
    }
  }
  const wall = (performance.now() - t0) / 1000;

  const gens = [...new Set(scored.filter((s) => s.row.label === 'spoof').map((s) => s.row.generator))].sort();
  const perGenerator: Record<string, unknown> = {};
  for (const g of gens) perGenerator[g] = summary(scored.filter((s) => s.row.label === 'bonafide' || s.row.generator === g));
  const correct = scored.filter((s) => (s.pFake >= 0.5) === (s.row.label === 'spoof')).length;
  const bonaP = scored.filter((s) => s.row.label === 'bonafide').map((s) => s.pFake);
  const spoofP = scored.filter((s) => s.row.label === 'spoof').map((s) => s.pFake);
  const mean = (a: number[]): number | null => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);

  if (values.scores) {
    fs.writeFileSync(values.scores, ['path\tlabel\tgenerator\tlogit\tpFake', ...scored.map((s) => `${s.row.path}\t${s.row.label}\t${s.row.generator}\t${s.logit}\t${s.pFake}`)].join('\n') + '\n');
  }
  const report = {
    tool: 'eval-voice',
    model: { id: model.manifest.id, version: model.manifest.version, sha256: model.manifest.sha256 },
    tsv: path.basename(tsvPath),
    sampleRate: sr,
    clips: rows.length,
    scored: scored.length,
    bonafide: scored.filter((s) => s.row.label === 'bonafide').length,
    spoof: scored.filter((s) => s.row.label === 'spoof').length,
    failures,
    scoreConvention: 'mean window logit; higher = more likely spoof',
    dcf: { ...asvspoof5DcfParams, normalisation: 'min(cMiss*(1-pSpoof), cFa*pSpoof)' },
    overall: summary(scored),
    calibrated: { accuracyAtPFake0_5: scored.length ? correct / scored.length : null, meanPFakeBonafide: mean(bonaP), meanPFakeSpoof: mean(spoofP) },
    perGenerator,
    timing: { wallSeconds: wall, audioSeconds, realTimeFactor: audioSeconds > 0 ? wall / audioSeconds : null },
  };
  await model.close();
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  main().catch((e: unknown) => {
    const err = toDfdError(e);
    process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    process.exit(1);
  });
}
