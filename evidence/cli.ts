/**
 * `npm run verify-evidence -- FILE [--expect-key sha256:HEX] [--ignore-layout] [--json]`
 *
 * Verifies an evidence bundle offline (evidence/verifyEvidence.ts). Exit status: 0 valid,
 * 1 invalid (the typed ERR_EVIDENCE_* code, byte offset, line and column, event or anchor
 * index are printed), 2 the file cannot be read or the command line is wrong.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyEvidence, type EvidenceReport, type VerifyEvidenceOptions } from './verifyEvidence.js';

export interface CliArgs {
  file: string;
  options: Partial<VerifyEvidenceOptions>;
  json: boolean;
}

export const usage = 'usage: npm run verify-evidence -- FILE [--expect-key sha256:HEX] [--ignore-layout] [--json]';

/** Parses argv (after the script); throws Error(usage-like message) on a bad command line. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const options: Partial<VerifyEvidenceOptions> = {};
  let json = false;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') json = true;
    else if (a === '--ignore-layout') options.layout = false;
    else if (a === '--expect-key') {
      const v = argv[++i];
      if (!v || !/^sha256:[0-9a-f]{64}$/.test(v)) throw new Error('--expect-key needs a fingerprint sha256:<64 hex digits>');
      options.expectedKeyFingerprint = v;
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new Error('one file at a time');
  }
  if (!file) throw new Error('no file given');
  return { file, options, json };
}

/** Human-readable lines for a report. */
export function describeReport(file: string, r: EvidenceReport): string {
  if (r.ok) {
    const s = r.summary;
    const a = s.anchors;
    const lines = [
      `VALID ${file}`,
      `  call ${s.roomId} / ${s.callId}: ${s.events} events, chain head ${s.headHash}`,
      `  sealed by ${s.keyFingerprint} (exported ${s.exportedAt})`,
      `  anchors: ${a.verified} verified of ${a.total}` + (a.verified > 0 ? `, last at event ${a.lastAnchoredIndex}${a.callEndCoversHead ? ' (written at call end, covers the last event)' : ''}` : ''),
      ...r.warnings.map((w) => `  warning: ${w}`),
    ];
    return lines.join('\n');
  }
  const p = r.problem;
  const where = [p.eventIndex !== undefined ? `event ${p.eventIndex}` : '', p.anchorIndex !== undefined ? `anchor ${p.anchorIndex}` : '', p.section && p.eventIndex === undefined && p.anchorIndex === undefined ? `section ${p.section}` : '', p.path ? p.path : '']
    .filter(Boolean)
    .join(', ');
  const range =
    p.precision === 'byte'
      ? `the changed byte is at offset ${p.byteOffset}`
      : p.precision === 'range'
        ? `the change is within bytes ${p.byteOffset}..${p.byteEnd - 1}`
        : `reading stopped at byte ${p.byteOffset}; the change is there or before it`;
  return [`INVALID ${file}`, `  ${p.code} at byte ${p.byteOffset} (line ${p.line}, column ${p.column}${where ? `; ${where}` : ''})`, `  ${p.message}`, `  ${range}`].join('\n');
}

export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    err(`ERR_BAD_REQUEST ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(args.file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
    if (args.json) out(JSON.stringify({ ok: false, problem: { code: 'ERR_EVIDENCE_READ', message: `cannot read ${args.file} (${code})` } }) + '\n');
    else err(`ERR_EVIDENCE_READ cannot read ${args.file} (${code})\n`);
    return 2;
  }
  const report = verifyEvidence(bytes, args.options);
  if (args.json) out(JSON.stringify(report, null, 2) + '\n');
  else (report.ok ? out : err)(describeReport(args.file, report) + '\n');
  if (report.ok) return 0;
  return report.problem.code === 'ERR_EVIDENCE_READ' ? 2 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
}
