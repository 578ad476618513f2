/**
 * Runs once before the suite: builds the browser bundles the server serves (as `npm start` does), and makes sure
 * Debian's Chromium is there for the browser suites. On a fresh CI machine (`npm ci && npm test`, as root) it
 * installs the `chromium` package with apt-get; no tool downloads a browser of its own. Where it cannot install,
 * the browser suites fail with a message saying what to install; the other suites still run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildWeb } from '../../src/build/web';

export const CHROMIUM = '/usr/bin/chromium';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the Chromium binary, or a message saying why there is none. */
    chromium: { path: string } | { missing: string };
  }
}

function ensureChromium(): { path: string } | { missing: string } {
  if (fs.existsSync(CHROMIUM)) return { path: CHROMIUM };
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get')) {
    return {
      missing: `Chromium is not installed at ${CHROMIUM}. Install Debian's package (sudo apt-get install -y chromium) and run the tests again.`,
    };
  }
  const log = path.resolve(__dirname, '../../test-artifacts/apt-chromium.log');
  fs.mkdirSync(path.dirname(log), { recursive: true });
  process.stdout.write(`Installing Debian chromium for the browser tests (log: ${log})…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    const out = [
      execFileSync('apt-get', ['update'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ];
    fs.writeFileSync(log, out.join('\n'));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    fs.writeFileSync(log, `${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    return { missing: `apt-get could not install chromium (${err.message.split('\n')[0]}); see ${log}.` };
  }
  return fs.existsSync(CHROMIUM)
    ? { path: CHROMIUM }
    : { missing: `apt-get ran but ${CHROMIUM} is still missing; see ${log}.` };
}

export default async function setup(project: TestProject): Promise<void> {
  // The integration and browser projects both list this file; one build serves both (same process, same env).
  if (!process.env.CROSSTALK_TEST_WEB_BUILT) {
    await buildWeb();
    process.env.CROSSTALK_TEST_WEB_BUILT = '1';
  }
  project.provide('chromium', ensureChromium());
}
