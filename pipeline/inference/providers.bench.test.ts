import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '../../kernel/paths.js';

const run = promisify(execFile);
const tool = ['--import', 'tsx', 'pipeline/inference/providers.bench.ts'];

interface Output {
  maxAbsDiff: number;
  nonFinite: number;
}
interface ModelResult {
  opened: boolean;
  parity: { batch: number; outputs: Record<string, Output> };
  timing: Record<string, { cpu: { medianMs: number }; device: { medianMs: number }; speedup: number }>;
}

describe('execution-provider check (pipeline/inference/providers.bench.ts)', () => {
  it('runs the shipped models on a provider and the CPU, compares every output and times each batch', async () => {
    // The CPU against itself: what the GPU run (docs/performance.md) is measured against, here where no GPU is.
    const { stdout } = await run(process.execPath, [...tool, '--ep', 'cpu', '--only', 'voice-antispoof,face-forgery', '--batches', '1,2', '--iterations', '1'], {
      cwd: repoRoot,
      maxBuffer: 1 << 24,
    });
    const out = JSON.parse(stdout) as { executionProvider: string; providers: string[]; models: Record<string, ModelResult>; engine: Record<string, unknown> };
    expect(out.providers).toEqual(['cpu']);
    expect(Object.keys(out.models).sort()).toEqual(['face-forgery', 'voice-antispoof']);
    for (const m of Object.values(out.models)) {
      expect(m.opened).toBe(true);
      expect(Object.keys(m.parity.outputs).length).toBeGreaterThan(0);
      // The same bytes, options and one thread on both sides: the answers are identical.
      for (const o of Object.values(m.parity.outputs)) expect(o).toMatchObject({ maxAbsDiff: 0, nonFinite: 0 });
      expect(Object.keys(m.timing)).toEqual(['batch1', 'batch2']);
      for (const t of Object.values(m.timing)) expect(t.cpu.medianMs).toBeGreaterThan(0);
    }
    // The service's own path (InferenceEngine: loading, preprocessing, batching) on both sides.
    expect(out.engine['failed']).toEqual([]);
    expect(out.engine['voice-antispoof']).toMatchObject({ rows: 4, values: 4, maxAbsDiff: 0 });
    expect(out.engine['face-forgery']).toMatchObject({ rows: 2, maxAbsDiff: 0 });
  });

  it('refuses a provider the service does not offer', async () => {
    const err = (await run(process.execPath, [...tool, '--ep', 'cuda'], { cwd: repoRoot }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--ep must be one of cpu, webgpu');
  });
});
