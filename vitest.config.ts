import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Three projects; `npm test` (vitest run) runs all of them, `npx vitest run --project unit` (or a path such as
 * `npx vitest run src/clinical`) only what it names. A project's global set-up runs only when one of its files is
 * queued, so the unit project starts no PostgreSQL, builds no bundles and looks for no Chromium.
 */
// Pure tests: the engine, the knowledge and configuration data, the CDS protocol pieces, the egress policy.
const UNIT = ['src/clinical/**/*.test.ts', 'src/config/**/*.test.ts', 'src/cds/**/*.test.ts', 'src/fhir/**/*.test.ts'];
const BROWSER = ['test/**/*.browser.test.ts'];

const shared = {
  // Several suites start a real service (and its demo FHIR server) inside a test; a busy CI machine needs more than 5 s.
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: UNIT, ...shared } },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT, ...BROWSER],
          // log-audit.ts checks every service log of the run for tokens and patient ids; postgres-cluster.ts starts
          // (or finds) the PostgreSQL server the store suites run against; global-setup.ts builds the browser
          // bundles that /app and /demo serve.
          globalSetup: [
            'test/support/log-audit.ts',
            'test/support/postgres-cluster.ts',
            'test/support/global-setup.ts',
          ],
          ...shared,
        },
      },
      {
        test: {
          name: 'browser',
          include: BROWSER,
          // global-setup.ts also makes sure Debian's Chromium is installed.
          globalSetup: ['test/support/log-audit.ts', 'test/support/global-setup.ts'],
          ...shared,
        },
      },
    ],
  },
});
