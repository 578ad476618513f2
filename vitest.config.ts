import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Builds the browser bundles and makes sure Debian's Chromium is installed (test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
