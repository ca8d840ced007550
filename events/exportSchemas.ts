/**
 * Writes the event JSON Schemas (and those of the remote-analysis work contract, events/workWire.ts, and of forwarded operator actions, events/actionWire.ts) to events/schemas/*.json.
 * Run: node --import tsx events/exportSchemas.ts   (a test checks the committed files are current)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas } from './schema.js';
import { workJsonSchemas } from './workWire.js';
import { actionJsonSchemas } from './actionWire.js';

export const schemasDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'schemas');

/** File name -> file content, exactly as written. */
export function renderSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries({ ...jsonSchemas(), ...workJsonSchemas(), ...actionJsonSchemas() })) out[name] = JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...(schema as object) }, null, 2) + '\n';
  return out;
}

function main(): void {
  fs.mkdirSync(schemasDir, { recursive: true });
  for (const [name, text] of Object.entries(renderSchemas())) fs.writeFileSync(path.join(schemasDir, name), text);
  process.stdout.write(`wrote ${Object.keys(renderSchemas()).length} schemas to ${schemasDir}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
