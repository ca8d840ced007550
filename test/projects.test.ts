/**
 * Keeps the vitest projects honest (test/projects.ts): every test file is in exactly one project,
 * every file listed as integration exists, and no file left in the unit project starts a real
 * part (a child process, worker thread, server, socket, browser, NATS or an onnxruntime session).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../kernel/paths.js';
import { E2E, INTEGRATION } from './projects.js';

const STARTS_SOMETHING = [
  /\bstartTestService\b/,
  /\bService\.start\b/,
  /\bNatsServerProcess\b/,
  /\blaunchBrowser\b/,
  /\bcreateWorker\b/,
  /\bstartWorker\b/,
  /\b(InferencePool|MediaWorkerPool|AnalysisPipeline|AnalysisWorker|WorkerPool)\b/,
  /from 'node:child_process'/,
  /from 'node:worker_threads'/,
  /from 'onnxruntime-node'/,
  /from 'ws'/,
  /from 'nats'/,
  /\bcreateServer\(/,
  /\.listen\(/,
];

const SKIP = new Set(['node_modules', '.git', '.deps', 'web-dist', '.venv', '.cache', '.data', 'test-artifacts', 'bench-results', 'eval-results']);

function testFiles(dir = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory() && !SKIP.has(e.name)) out.push(...testFiles(rel));
    else if (e.isFile() && e.name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** This file names the patterns it looks for. */
const SELF = 'test/projects.test.ts';

const isE2e = (f: string): boolean => f.startsWith('test/e2e/') || E2E.includes(f);

describe('vitest projects', () => {
  it('every integration file exists and no file is in two projects', () => {
    for (const f of INTEGRATION) expect(fs.existsSync(path.join(repoRoot, f)), f).toBe(true);
    for (const f of INTEGRATION) expect(isE2e(f), f).toBe(false);
    expect(new Set(INTEGRATION).size).toBe(INTEGRATION.length);
  });

  it('no unit test starts a process, thread, server, socket, browser, NATS or model session', () => {
    const unit = testFiles().filter((f) => !isE2e(f) && !INTEGRATION.includes(f) && f !== SELF);
    expect(unit.length).toBeGreaterThan(40);
    const offenders = unit.filter((f) => {
      const text = fs.readFileSync(path.join(repoRoot, f), 'utf8');
      return STARTS_SOMETHING.some((re) => re.test(text));
    });
    expect(offenders, 'move these to INTEGRATION in test/projects.ts').toEqual([]);
  });
});
