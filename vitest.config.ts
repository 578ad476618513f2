import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/log-audit.ts', 'test/support/postgres-cluster.ts', 'test/support/global-setup.ts'],
    // global-setup.ts builds the browser bundles and makes sure Debian's Chromium is installed.
    // Starts (or finds) the PostgreSQL server that the store suites run against; see the file.
    // Several suites start a real service (and its demo FHIR server) inside a test; a busy CI machine needs more than 5 s.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
