/**
 * The benchmark's chart: an SVG page (capacity curve: streams vs p95 window-to-score
 * latency and CPU; memory over time; media forwarding delay off/on), rendered to PNG by
 * headless Chromium through playwright-core (no extra npm dependency).
 */
import fs from 'node:fs';
import { launchBrowser } from '../test/helpers/browser.js';

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
  /** Plot against the right-hand axis. */
  right?: boolean;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  yRightLabel?: string;
  series: Series[];
  /** Horizontal reference lines on the left axis. */
  hlines?: { y: number; label: string; color: string }[];
}

const W = 560;
const H = 300;
const M = { l: 60, r: 60, t: 34, b: 44 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1).replace(/\.0$/, '') : +v.toPrecision(2) + '';
}

export function panelSvg(p: Panel): string {
  const all = p.series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(1, ...all.map((q) => q[0])));
  const yL = niceMax(Math.max(...p.series.filter((s) => !s.right).flatMap((s) => s.points.map((q) => q[1])), ...(p.hlines ?? []).map((h) => h.y), 0));
  const yR = niceMax(Math.max(...p.series.filter((s) => s.right).flatMap((s) => s.points.map((q) => q[1])), 0));
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const X = (x: number): number => M.l + (x / xMax) * pw;
  const Y = (y: number, right = false): number => M.t + ph - (y / (right ? yR : yL)) * ph;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = M.t + (ph * i) / 5;
    out.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.l - 6}" y="${y + 4}" text-anchor="end">${fmt(yL * (1 - i / 5))}</text>`);
    if (p.yRightLabel) out.push(`<text x="${M.l + pw + 6}" y="${y + 4}">${fmt(yR * (1 - i / 5))}</text>`);
    const x = M.l + (pw * i) / 5;
    out.push(`<text x="${x}" y="${M.t + ph + 16}" text-anchor="middle">${fmt((xMax * i) / 5)}</text>`);
  }
  out.push(`<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.l + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  if (p.yRightLabel) out.push(`<text transform="translate(${W - 10} ${M.t + ph / 2}) rotate(90)" text-anchor="middle">${esc(p.yRightLabel)}</text>`);
  for (const h of p.hlines ?? []) {
    out.push(`<line x1="${M.l}" x2="${M.l + pw}" y1="${Y(h.y)}" y2="${Y(h.y)}" stroke="${h.color}" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${M.l + 4}" y="${Y(h.y) - 4}" fill="${h.color}">${esc(h.label)}</text>`);
  }
  p.series.forEach((s, k) => {
    if (s.points.length === 0) return;
    const d = s.points.map((q, i) => `${i ? 'L' : 'M'}${X(q[0]).toFixed(1)},${Y(q[1], s.right).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const q of s.points.length <= 40 ? s.points : []) out.push(`<circle cx="${X(q[0]).toFixed(1)}" cy="${Y(q[1], s.right).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push(`<rect x="${M.l + 10}" y="${M.t + 8 + k * 15}" width="10" height="3" fill="${s.color}"/><text x="${M.l + 24}" y="${M.t + 13 + k * 15}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

export function pageHtml(title: string, subtitle: string, panels: Panel[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;padding:12px;background:#fff;font-family:sans-serif;width:${2 * W + 36}px}h1{font-size:16px;margin:0 0 2px}p{font-size:11px;color:#555;margin:0 0 8px}.g{display:flex;flex-wrap:wrap;gap:12px}</style></head><body><h1>${esc(title)}</h1><p>${esc(subtitle)}</p><div class="g">${panels.map(panelSvg).join('')}</div></body></html>`;
}

/** Writes `<base>.html` and renders it to `<base>.png` with headless Chromium. */
export async function renderChart(base: string, title: string, subtitle: string, panels: Panel[]): Promise<{ png: string; html: string }> {
  const html = pageHtml(title, subtitle, panels);
  fs.writeFileSync(`${base}.html`, html);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 2 * W + 36, height: 200 } });
    await page.setContent(html);
    await page.screenshot({ path: `${base}.png`, fullPage: true });
  } finally {
    await browser.close();
  }
  return { png: `${base}.png`, html: `${base}.html` };
}
