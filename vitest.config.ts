import { defineConfig } from 'vitest/config';
import { E2E, INTEGRATION } from './test/projects.js';

const ALL = ['**/*.test.ts'];
const IGNORED = ['node_modules/**', '.deps/**', 'web-dist/**'];

export default defineConfig({
  test: {
    exclude: IGNORED,
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-log.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration tests start real workers, browsers and servers.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    // Tests provoke many expected warnings; LOG_LEVEL=debug shows them.
    env: { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error' },
    // What each project starts: test/projects.ts.
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: [...IGNORED, ...INTEGRATION, ...E2E] } },
      { extends: true, test: { name: 'integration', include: INTEGRATION, exclude: IGNORED } },
      { extends: true, test: { name: 'e2e', include: E2E, exclude: IGNORED } },
    ],
  },
});
