import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject } from 'vitest';
import { startCrosstalk } from './harness';

/** Screenshots land here (gitignored): look at them after a run. */
export const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

/** pitfalls.md: without these, Chromium's background services try the closed network. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Debian's Chromium, driven by playwright-core (which never downloads a browser of its own). */
export async function launchBrowser(): Promise<Browser> {
  const c = inject('chromium');
  if ('missing' in c) throw new Error(c.missing);
  // playwright-core gives each launch a fresh temporary profile.
  return chromium.launch({ executablePath: c.path, args: CHROMIUM_ARGS });
}

export async function shoot(page: Page, name: string, fullPage = false): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Every problem a page reports: console errors (CSP violations included) and uncaught exceptions. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** Every URL any page of the context asks for, pop-ups included. */
export function recordRequests(context: BrowserContext): string[] {
  const urls: string[] = [];
  context.on('request', (r) => urls.push(r.url()));
  return urls;
}

export type AppState = 'loading' | 'ready' | 'no-data' | 'error' | 'expired';

/** Waits until the SMART app has settled in one of its end states, and returns it. */
export async function settledState(page: Page, timeout = 20_000): Promise<AppState> {
  // The launch redirects through the authorization server; wait for the app page before reading it.
  await page.waitForURL(/\/app\/index\.html/, { timeout });
  await page.waitForFunction(
    () => ['ready', 'no-data', 'error', 'expired'].includes(document.body.dataset.state ?? ''),
    null,
    { timeout },
  );
  return (await page.evaluate(() => document.body.dataset.state)) as AppState;
}

/** What an EHR does for an EHR launch: register the context with its authorization server, then open launch.html. */
export async function ehrLaunchUrl(base: string, patient: string, appContext?: string): Promise<string> {
  const res = await fetch(`${base}/demo/smart/launch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ patient, ...(appContext ? { appContext } : {}) }),
  });
  if (res.status !== 201) throw new Error(`launch registration failed: HTTP ${res.status}`);
  const { launch } = (await res.json()) as { launch: string };
  return `${base}/app/launch.html?${new URLSearchParams({ iss: `${base}/fhir`, launch }).toString()}`;
}

/** The access token fhirclient keeps in the tab's sessionStorage, as the EHR would know it. */
export function accessTokenOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const key = JSON.parse(sessionStorage.getItem('SMART_KEY') ?? 'null') as string | null;
    const state = key
      ? (JSON.parse(sessionStorage.getItem(key) ?? 'null') as { tokenResponse?: { access_token?: string } } | null)
      : null;
    return state?.tokenResponse?.access_token ?? '';
  });
}

/** axe-core's WCAG 2 A/AA checks on the page as it is now (the context must bypass CSP to inject axe). */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: unknown,
            opts: unknown,
          ) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export interface BrowserRig {
  crosstalk: Awaited<ReturnType<typeof startCrosstalk>>;
  /** The service's public base URL: the origin every page must stay on. */
  base: string;
  browser: Browser;
}

/** One Crosstalk (embedded, demo-seeded FHIR) and one Chromium for a test file; read the fields inside tests. */
export function useBrowserRig(): BrowserRig {
  const rig = {} as BrowserRig;
  beforeAll(async () => {
    [rig.crosstalk, rig.browser] = await Promise.all([startCrosstalk(), launchBrowser()]);
    rig.base = rig.crosstalk.config.publicBaseUrl;
  }, 120_000);
  afterAll(async () => {
    await rig.browser?.close();
    await rig.crosstalk?.close();
  });
  return rig;
}
