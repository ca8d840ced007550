// Bundles the browser code (meeting page, dashboard, badge SDK) into web-dist/.
// Fast (esbuild) and idempotent; run by the bootstrap before start and test.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'web-dist');
fs.mkdirSync(out, { recursive: true });

const entries = [
  { in: 'sfu/web/meet.ts', out: 'meet' },
  { in: 'dashboard/web/dashboard.ts', out: 'dashboard' },
  { in: 'dashboard/web/badge-sdk.ts', out: 'badge-sdk' },
  { in: 'dashboard/web/calls.ts', out: 'calls' },
  { in: 'dashboard/web/call.ts', out: 'call' },
  { in: 'dashboard/web/login.ts', out: 'login' },
].filter((e) => fs.existsSync(path.join(root, e.in)));

await build({
  absWorkingDir: root,
  entryPoints: entries.map((e) => ({ in: e.in, out: e.out })),
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: false,
  logLevel: 'warning',
});

for (const html of ['sfu/web/meet.html', 'dashboard/web/dashboard.html', 'dashboard/web/login.html', 'dashboard/web/calls.html', 'dashboard/web/call.html']) {
  const src = path.join(root, html);
  if (fs.existsSync(src)) fs.copyFileSync(src, path.join(out, path.basename(html)));
}
// Each page's own stylesheet (no inline styles: the pages run under a strict Content-Security-Policy).
for (const css of ['sfu/web/meet.css', 'dashboard/web/dashboard.css', 'dashboard/web/login.css', 'dashboard/web/history.css', 'dashboard/web/calls.css', 'dashboard/web/call.css']) {
  fs.copyFileSync(path.join(root, css), path.join(out, path.basename(css)));
}
fs.copyFileSync(path.join(root, 'node_modules/uplot/dist/uPlot.min.css'), path.join(out, 'uPlot.min.css'));
// The site icon every page links (and /favicon.ico serves), so no page logs a 404.
fs.copyFileSync(path.join(root, 'dashboard/web/favicon.svg'), path.join(out, 'favicon.svg'));
