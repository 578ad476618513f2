/**
 * `npm start` with the community's clients, in real headless Chromium: a page on another origin calling the CDS
 * endpoints and the FHIR server as the CDS Hooks Sandbox does (real preflights), a card's SMART link opened the
 * Sandbox's way, the app launched on the other loopback origin, and the app read through a proxy that collapses
 * `//` the way the SMART App Launcher's FHIR proxy does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAppContext } from '../src/cds/app-context';
import { DEMO_PROFILE } from '../src/server/config';
import { ehrLaunchUrl, launchBrowser, settledState, shoot, watchProblems } from './support/browser';
import { SERVICE_ID, startCrosstalk } from './support/harness';

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
let browser: Browser;
/** A page of another origin, like the Sandbox served from its own host. */
let elsewhere: http.Server;
let elsewhereUrl: string;

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  [ct, browser] = await Promise.all([
    startCrosstalk({ CROSSTALK_CORS_ORIGINS: DEMO_PROFILE.CROSSTALK_CORS_ORIGINS as string }),
    launchBrowser(),
  ]);
  elsewhere = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>another origin</title>'),
  );
  elsewhereUrl = `http://127.0.0.1:${await listen(elsewhere)}/`;
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await ct?.close();
  await new Promise((r) => elsewhere?.close(r));
});

describe('a browser client on another origin (the CDS Hooks Sandbox’s calls)', { timeout: 60_000 }, () => {
  it('reaches discovery, a service, feedback, the FHIR server and the launch-context API with a bearer token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(elsewhereUrl);
    const base = ct.config.publicBaseUrl;
    const results = await page.evaluate(
      async ({ base, fhirServer, serviceId }) => {
        // Authorization and a JSON Content-Type make every one of these a preflighted request.
        const auth = { authorization: 'Bearer eyJhbGciOiJFUzM4NCJ9.e30.c2ln', accept: 'application/json' };
        const json = { ...auth, 'content-type': 'application/json' };
        const call = async (url: string, init: RequestInit) => {
          try {
            const r = await fetch(url, init);
            return { url, status: r.status, body: await r.text() };
          } catch (e) {
            return { url, status: 0, body: String(e) };
          }
        };
        const hook = {
          hook: 'patient-view',
          hookInstance: crypto.randomUUID(),
          fhirServer,
          context: { userId: 'Practitioner/demo-clinician', patientId: 'demo-low-ccr' },
        };
        return [
          await call(`${base}/cds-services`, { headers: auth }),
          await call(`${base}/cds-services/${serviceId}`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify(hook),
          }),
          await call(`${base}/cds-services/${serviceId}/feedback`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ feedback: [] }),
          }),
          await call(`${base}/fhir/metadata`, { headers: auth }),
          await call(`${base}/fhir/Patient/nobody-here`, { headers: auth }),
          await call(`${base}/fhir/_services/smart/Launch`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ launchUrl: `${base}/app/launch.html`, parameters: { patient: 'demo-low-ccr' } }),
          }),
        ];
      },
      // The harness lets development-mode calls read FHIR from 127.0.0.1 only; npm start allows its own origins.
      { base, fhirServer: `${ct.url}/fhir`, serviceId: SERVICE_ID },
    );
    // Every answer is readable by the page (status 0 is a CORS refusal), the 404 included.
    expect(results.map((r) => [r.url.replace(base, ''), r.status])).toEqual([
      ['/cds-services', 200],
      [`/cds-services/${SERVICE_ID}`, 200],
      [`/cds-services/${SERVICE_ID}/feedback`, expect.any(Number)],
      ['/fhir/metadata', 200],
      ['/fhir/Patient/nobody-here', 404],
      ['/fhir/_services/smart/Launch', 200],
    ]);
    expect(results[2]?.status).not.toBe(0);
    expect((JSON.parse(results[1]?.body ?? '{}') as { cards?: unknown[] }).cards?.length).toBeGreaterThan(0);
    await context.close();
  });
});

describe('a card’s SMART link opened the Sandbox’s way', { timeout: 60_000 }, () => {
  it('launches the app with the launch_id from POST {fhirServer}/_services/smart/Launch, on the card’s finding', async () => {
    const base = ct.config.publicBaseUrl;
    const fhirServer = `${base}/fhir`;
    const res = await fetch(`${fhirServer}/_services/smart/Launch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        launchUrl: `${base}/app/launch.html`,
        parameters: {
          patient: 'demo-low-ccr',
          smart_messaging_origin: elsewhereUrl,
          appContext: encodeAppContext({ ruleId: 'low-ccr' }),
        },
      }),
    });
    const { launch_id } = (await res.json()) as { launch_id: string };
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    // Exactly how the Sandbox builds the URL: appended, unencoded.
    await page.goto(`${base}/app/launch.html?launch=${launch_id}&iss=${fhirServer}`);
    expect(await settledState(page)).toBe('ready');
    expect(await page.textContent('#patient-banner')).toContain('Lowratio');
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.closest('article')?.id))
      .toBe('finding-low-ccr');
    await shoot(page, 'app-from-sandbox-style-launch');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('the app on the other loopback origin', { timeout: 60_000 }, () => {
  it('completes the sign-in and reads the record when launched on 127.0.0.1 while PUBLIC_BASE_URL is left to http://localhost', async () => {
    const port = new URL(ct.config.publicBaseUrl).port;
    const loopback = `http://127.0.0.1:${port}`;
    expect(new URL(ct.config.publicBaseUrl).origin).not.toBe(loopback);
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(await ehrLaunchUrl(loopback, 'demo-low-ccr'));
    expect(await settledState(page)).toBe('ready');
    expect(new URL(page.url()).origin).toBe(loopback);
    expect(await page.locator('#measure-ccr').getAttribute('data-computed')).toBe('true');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says which setting to change, not that the session ended, when the redirect URI is configured on another origin', async () => {
    const other = await startCrosstalk({ CROSSTALK_SMART_REDIRECT_URI: 'http://localhost:9/app/index.html' });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(await ehrLaunchUrl(other.url, 'demo-low-ccr'));
      await page.waitForFunction(() =>
        (document.getElementById('status')?.textContent ?? '').includes('could not start'),
      );
      const text = (await page.textContent('#status')) ?? '';
      expect(text).toContain('CROSSTALK_SMART_REDIRECT_URI');
      expect(text).toContain(other.url);
      expect(text).not.toContain('session');
      expect(new URL(page.url()).origin).toBe(other.url);
      await context.close();
    } finally {
      await other.close();
    }
  });
});

describe('the app behind a proxy that collapses // in URLs (the SMART App Launcher’s FHIR proxy)', {
  timeout: 90_000,
}, () => {
  it('still finds the patient’s labs', async () => {
    // The proxy forwards everything to Crosstalk, rewriting `//` to `/` in the request target (path and query).
    let target = 0;
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      const url = (req.url ?? '/').replace(/\/{2,}/g, '/');
      seen.push(url);
      const up = http.request(
        { host: '127.0.0.1', port: target, method: req.method, path: url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    const proxyBase = `http://127.0.0.1:${await listen(proxy)}`;
    const behind = await startCrosstalk({ PUBLIC_BASE_URL: proxyBase });
    target = Number(new URL(behind.url).port);
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(await ehrLaunchUrl(proxyBase, 'demo-low-ccr'));
      expect(await settledState(page)).toBe('ready');
      expect(await page.locator('#measure-ccr').getAttribute('data-computed')).toBe('true');
      // The app's lab searches went through the proxy with their system URLs intact.
      const labSearches = seen.filter((u) => u.startsWith('/fhir/Observation?'));
      expect(labSearches.length).toBeGreaterThan(0);
      for (const u of labSearches)
        expect(new URL(u, proxyBase).searchParams.get('code') ?? 'http://', u).toContain('http://');
      await shoot(page, 'app-behind-slash-collapsing-proxy');
      await context.close();
    } finally {
      await behind.close();
      await new Promise((r) => proxy.close(r));
    }
  });
});
