import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Starts (or finds) the PostgreSQL server that the store suites run against; see the file.
    globalSetup: ['test/support/postgres-cluster.ts'],
    // Several suites start a real service (and its demo FHIR server) inside a test; a busy CI machine needs more than 5 s.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
