/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, one .cpuprofile per thread) into the top
 * functions by self time, per profile and over all of them. Prints one JSON object.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx load-tests/bench.ts --only capacity --steps 40 --no-chart
 *   node --import tsx load-tests/profileSummary.ts /tmp/prof [top=15]
 */
import fs from 'node:fs';
import path from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionCost {
  fn: string;
  where: string;
  selfMs: number;
  pct: number;
}

function label(url: string): string {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const i = u.indexOf('/node_modules/');
  if (i >= 0) return u.slice(i + 1);
  const r = u.indexOf('/work/main/');
  return r >= 0 ? u.slice(r + '/work/main/'.length) : path.basename(u);
}

export function summariseProfile(p: CpuProfile): { totalMs: number; wallMs: number; self: Map<string, { fn: string; where: string; us: number }> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (!n) continue;
    const fn = n.callFrame.functionName || '(anonymous)';
    const where = `${label(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    const key = `${fn}@${where}`;
    const e = self.get(key) ?? { fn, where, us: 0 };
    e.us += dt;
    self.set(key, e);
    if (fn !== '(idle)' && fn !== '(program)') total += dt;
  }
  return { totalMs: total / 1000, wallMs: (p.endTime - p.startTime) / 1000, self };
}

function top(self: Map<string, { fn: string; where: string; us: number }>, totalMs: number, n: number): FunctionCost[] {
  return [...self.values()]
    .filter((e) => e.fn !== '(idle)' && e.fn !== '(program)')
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: Math.round(e.us / 1000), pct: +((e.us / 1000 / Math.max(1, totalMs)) * 100).toFixed(1) }));
}

function main(): void {
  const arg = process.argv[2];
  const n = Number(process.argv[3] ?? 15);
  if (!arg) throw new Error('usage: profileSummary.ts <dir|file.cpuprofile> [top]');
  const files = fs.statSync(arg).isDirectory() ? fs.readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(arg, f)) : [arg];
  const all = new Map<string, { fn: string; where: string; us: number }>();
  let allMs = 0;
  const profiles = files.map((f) => {
    const s = summariseProfile(JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile);
    for (const [k, v] of s.self) {
      const e = all.get(k) ?? { ...v, us: 0 };
      e.us += v.us;
      all.set(k, e);
    }
    allMs += s.totalMs;
    return { file: path.basename(f), busyMs: Math.round(s.totalMs), wallMs: Math.round(s.wallMs), top: top(s.self, s.totalMs, n) };
  });
  profiles.sort((a, b) => b.busyMs - a.busyMs);
  process.stdout.write(JSON.stringify({ busyMs: Math.round(allMs), top: top(all, allMs, n), profiles }, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) main();
