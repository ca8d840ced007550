/** A manifest TSV (header line, tab-separated) as one record per row, keyed by the header's column names. */
import fs from 'node:fs';

export function readTsvRows(file: string): Record<string, string>[] {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = (head ?? '').split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i] ?? String(i), v])));
}
