import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.deps/**', 'web-dist/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration tests start real workers, browsers and servers.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    // Tests provoke many expected warnings; LOG_LEVEL=debug shows them.
    env: { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'error' },
  },
});
