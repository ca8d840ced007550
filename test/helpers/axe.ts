/**
 * Accessibility audit with axe-core inside a real page: evaluates the `axe.min.js` that the
 * `axe-core` package ships and runs it on the whole document. Returns the violations of
 * impact serious or critical (the ones the tests allow none of), each with its rule, help
 * text and the offending elements, ready for an assertion message.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
export const axeScript = require.resolve('axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

export interface AuditOptions {
  /** Impacts that fail the audit (default serious and critical). */
  impacts?: string[];
}

export async function auditPage(page: Page, options: AuditOptions = {}): Promise<AxeViolation[]> {
  const impacts = options.impacts ?? ['serious', 'critical'];
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  // Evaluated through the DevTools protocol, not a <script> tag: the pages' Content-Security-Policy
  // (script-src 'self') blocks injected script tags, as it should.
  if (!loaded) await page.evaluate(fs.readFileSync(axeScript, 'utf8'));
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: Record<string, unknown>): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact ?? 'unknown', help: v.help, nodes: v.nodes.map((n) => `${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`) }));
  });
  return violations.filter((v) => impacts.includes(v.impact));
}

/** One line per violation, for an assertion message. */
export function formatViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.slice(0, 5).join('\n  ')}`).join('\n');
}
