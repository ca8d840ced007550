import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { configTable } from '../src/config.js';

describe('README', () => {
  it('documents every configuration variable (npm run docs:config regenerates it)', () => {
    expect(fs.readFileSync('README.md', 'utf8')).toContain(configTable());
  });
});
