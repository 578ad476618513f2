import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Starts (or finds) the PostgreSQL server that the store suites run against; see the file.
    globalSetup: ['test/support/postgres-cluster.ts'],
  },
});
