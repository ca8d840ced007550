// Rewrites the configuration table in README.md from src/config.ts (run: npm run docs:config).
import fs from 'node:fs';
import path from 'node:path';
import { configTable, repoRoot } from '../src/config.js';

const file = path.join(repoRoot, 'README.md');
const text = fs.readFileSync(file, 'utf8');
const start = '<!-- config:start -->';
const end = '<!-- config:end -->';
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error('README.md lacks the config markers');
fs.writeFileSync(file, text.slice(0, a + start.length) + '\n' + configTable() + '\n' + text.slice(b));
