/** Where the repository lies on disk: models, fixtures and the bootstrap's `.deps/` are found from here. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
