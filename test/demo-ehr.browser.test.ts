/**
 * The demo EHR in real headless Chromium: it fires patient-view like an EHR, renders the cards, sends feedback,
 * and launches the SMART app from a card link through the local SMART authorization server.
 */

import path from 'node:path';
import { build } from 'esbuild';
import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import serviceFile from '../cds-hooks/services/bone-muscle-patient-view.json';
import { parseAppContext } from '../src/cds/app-context';
import { compileSchema, formatErrors } from '../src/config/schemas';
import {
  accessibilityViolations,
  recordRequests,
  settledState,
  shoot,
  useBrowserRig,
  watchProblems,
} from './support/browser';
import { buildPrefetch, expectValidCdsResponse, hookRequest, SERVICE_ID } from './support/harness';

interface WireCard {
  uuid: string;
  summary: string;
  indicator: string;
  suggestions?: { uuid: string; label: string }[];
  overrideReasons?: { system: string; code: string; display: string }[];
  links?: { label: string; url: string; type: string; appContext?: string }[];
  extension: { crosstalk: { ruleId: string } };
}

const rig = useBrowserRig();
const validateRequest = compileSchema('cds-request.schema.json');

/** The cards patient-view gives this patient when called directly, the way the harness calls it. */
async function cardsFor(patientId: string): Promise<WireCard[]> {
  const res = await fetch(`${rig.base}/cds-services/${SERVICE_ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(hookRequest(patientId, { prefetch: await buildPrefetch(`${rig.base}/fhir`, patientId) })),
  });
  const body = (await res.json()) as { cards: WireCard[] };
  expectValidCdsResponse(body);
  return body.cards;
}

/** Watches the EHR's patient-view calls: each request must be a valid CDS Hooks request, each answer a valid response. */
function watchCdsCalls(page: Page): { calls: number; checked: Promise<void>[] } {
  const seen = { calls: 0, checked: [] as Promise<void>[] };
  page.on('request', (r) => {
    if (r.method() !== 'POST' || !r.url().endsWith(`/cds-services/${SERVICE_ID}`)) return;
    seen.calls++;
    const body: unknown = r.postDataJSON();
    // Checked inside the promise the test awaits, so a failure fails the test instead of escaping as an event error.
    seen.checked.push(
      r.response().then(async (res) => {
        expect(validateRequest(body), formatErrors(validateRequest.errors)).toBe(true);
        expect(Object.keys((body as { prefetch: object }).prefetch).sort()).toEqual(
          Object.keys(serviceFile.discovery.prefetch).sort(),
        );
        expectValidCdsResponse(await res?.json());
      }),
    );
  });
  return seen;
}

async function openChart(page: Page, patientId: string): Promise<void> {
  await page.click(`#patient-list button[data-id="${patientId}"]`);
  await page.waitForFunction(
    (id) =>
      document.querySelector(`#patient-list button[data-id="${id}"]`)?.getAttribute('aria-pressed') === 'true' &&
      document.getElementById('cards')?.getAttribute('aria-busy') === 'false',
    patientId,
  );
}

function feedbackBodies(page: Page): Promise<unknown>[] {
  const bodies: Promise<unknown>[] = [];
  page.on('request', (r: Request) => {
    if (r.method() === 'POST' && r.url().endsWith(`/cds-services/${SERVICE_ID}/feedback`))
      bodies.push(Promise.resolve(r.postDataJSON()));
  });
  return bodies;
}

describe('the demo EHR', { timeout: 120_000 }, () => {
  it('renders each patient’s patient-view cards the way an EHR shows them', async () => {
    const context = await rig.browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    const cds = watchCdsCalls(page);
    await page.goto(`${rig.base}/`);
    expect(new URL(page.url()).pathname).toBe('/demo/');

    // One patient per kind of card, and one with none.
    const patients = [
      'demo-low-ccr',
      'demo-missing-cystatin',
      'demo-steroid',
      'demo-aromatase',
      'demo-ra',
      'demo-normal',
    ];
    for (const id of patients) {
      await openChart(page, id);
      const expected = await cardsFor(id);
      const shown = await page.$$eval('#cards article.cds-card', (as) =>
        as.map((a) => ({
          rule: (a as HTMLElement).dataset.rule,
          indicator: (a as HTMLElement).dataset.indicator,
          badge: a.querySelector('.indicator')?.textContent,
          summary: a.querySelector('h3')?.textContent,
          accept: Array.from(a.querySelectorAll('button.accept')).map((b) => b.textContent),
          links: Array.from(a.querySelectorAll('.app-link')).map((b) => b.textContent),
          reasons: Array.from(a.querySelectorAll('select option')).map((o) => o.textContent),
        })),
      );
      expect(shown, id).toEqual(
        expected.map((c) => ({
          rule: c.extension.crosstalk.ruleId,
          indicator: c.indicator,
          badge: c.indicator[0]?.toUpperCase() + c.indicator.slice(1),
          summary: c.summary,
          accept: (c.suggestions ?? []).map((s) => `Accept: ${s.label}`),
          links: (c.links ?? []).map((l) => l.label),
          reasons: ['No reason given', ...(c.overrideReasons ?? []).map((r) => r.display)],
        })),
      );
      if (!expected.length) expect(await page.textContent('#cds-status')).toContain('No cards');
      for (const c of expected) {
        // The detail is Markdown rendered to HTML: the decisive values in bold, the advisory line last, in emphasis.
        const detail = page.locator(`article[data-rule="${c.extension.crosstalk.ruleId}"] .detail`);
        expect(await detail.locator('strong').count(), id).toBeGreaterThan(0);
        expect((await detail.locator('p').last().textContent())?.trim(), id).toMatch(/Advisory, not a diagnosis\.$/);
        expect(await detail.locator('em', { hasText: 'Advisory, not a diagnosis.' }).count(), id).toBe(1);
        const rels = await page
          .locator(`article[data-rule="${c.extension.crosstalk.ruleId}"] a`)
          .evaluateAll((as) => as.map((a) => `${a.getAttribute('target')} ${a.getAttribute('rel')}`));
        for (const r of rels) expect(r).toBe('_blank noopener noreferrer');
      }
      if (expected.length) await shoot(page, `ehr-card-${expected.map((c) => c.extension.crosstalk.ruleId).join('+')}`);
    }
    expect(cds.calls).toBe(patients.length);
    await Promise.all(cds.checked);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('accepts a suggestion, and dismisses a card with an override reason, sending CDS Hooks feedback', async () => {
    const context = await rig.browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const bodies = feedbackBodies(page);
    await page.goto(`${rig.base}/demo/`);

    await openChart(page, 'demo-low-ccr');
    const [lowCcr] = await cardsFor('demo-low-ccr');
    await page.click('article[data-rule="low-ccr"] button.accept');
    await expect.poll(() => page.locator('#feedback-log li').count()).toBe(1);
    expect(await page.textContent('#orders')).toContain('Order DXA Bone density');
    expect(await page.locator('article[data-rule="low-ccr"] button.accept').isDisabled()).toBe(true);

    await openChart(page, 'demo-apart');
    await page.click('article[data-rule="missing-ccr-input"] button.dismiss');
    await page.selectOption('article[data-rule="missing-ccr-input"] select', { label: 'Patient declined' });
    await page.fill('article[data-rule="missing-ccr-input"] textarea', 'Prefers to wait for the next routine draw');
    await shoot(page, 'ehr-dismiss-with-reason');
    await page.click('article[data-rule="missing-ccr-input"] button[type="submit"]');
    await expect.poll(() => page.locator('#feedback-log li').count()).toBe(2);
    expect(await page.textContent('article[data-rule="missing-ccr-input"] .card-status')).toBe('Dismissed');

    const [accepted, overridden] = (await Promise.all(bodies)) as { feedback: Record<string, unknown>[] }[];
    // Card and suggestion uuids are fresh per call, so the shape is checked against the spec, the values against the page's card.
    expect(accepted?.feedback).toHaveLength(1);
    expect(accepted?.feedback[0]).toMatchObject({
      outcome: 'accepted',
      acceptedSuggestions: [{ id: expect.stringMatching(/^[0-9a-f-]{36}$/) }],
    });
    expect(accepted?.feedback[0]?.card).toMatch(/^[0-9a-f-]{36}$/);
    expect(lowCcr?.suggestions?.length).toBe(1);
    expect(overridden?.feedback[0]).toMatchObject({
      outcome: 'overridden',
      overrideReason: {
        reason: { system: 'urn:crosstalk:codesystem:override-reason', code: 'patient-declined' },
        userComment: 'Prefers to wait for the next routine draw',
      },
    });
    for (const f of [accepted?.feedback[0], overridden?.feedback[0]])
      expect(new Date(String(f?.outcomeTimestamp)).toISOString()).toBe(f?.outcomeTimestamp);
    // Whether or not this build has the feedback endpoint, the EHR says what happened to each.
    const log = await page.$$eval('#feedback-log li', (lis) => lis.map((li) => li.textContent ?? ''));
    for (const line of log) expect(line).toMatch(/Feedback sent to .*\(HTTP 2\d\d\)|takes no feedback \(HTTP 404\)/);
    await context.close();
  });

  it('launches the SMART app from the card link, by keyboard alone, and the app opens on that finding', async () => {
    const context = await rig.browser.newContext({ viewport: { width: 1100, height: 800 } });
    const requests = recordRequests(context);
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${rig.base}/demo/`);
    await page.waitForSelector('#patient-list button');

    const focused = () =>
      page.evaluate(() => {
        const a = document.activeElement as HTMLElement | null;
        return `${a?.tagName.toLowerCase()} ${a?.dataset.id ?? a?.className ?? ''}`;
      });
    for (let i = 0; i < 30 && (await focused()) !== 'button demo-low-ccr'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('button demo-low-ccr');
    await page.keyboard.press('Enter');
    await page.waitForSelector('article[data-rule="low-ccr"] .app-link');
    for (let i = 0; i < 40 && (await focused()) !== 'button app-link'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('button app-link');
    const [app] = await Promise.all([context.waitForEvent('page'), page.keyboard.press('Enter')]);
    const appProblems = watchProblems(app);
    await app.setViewportSize({ width: 800, height: 600 });
    expect(await settledState(app)).toBe('ready');
    await expect.poll(() => app.evaluate(() => document.activeElement?.closest('article')?.id)).toBe('finding-low-ccr');
    await shoot(app, 'app-800x600-launched-from-ehr-card');
    await shoot(page, 'ehr-after-launch');

    // The launch went through the local SMART endpoints, and the app was told the card's finding.
    const paths = requests.map((u) => new URL(u).pathname);
    for (const p of [
      '/demo/smart/launch',
      '/fhir/.well-known/smart-configuration',
      '/demo/smart/authorize',
      '/app/index.html',
      '/demo/smart/token',
    ])
      expect(paths).toContain(p);
    const appContext = await app.evaluate(() => {
      const key = JSON.parse(sessionStorage.getItem('SMART_KEY') ?? 'null') as string;
      return (JSON.parse(sessionStorage.getItem(key) ?? '{}') as { tokenResponse?: { appContext?: string } })
        .tokenResponse?.appContext;
    });
    expect(parseAppContext(appContext)).toEqual({ ruleId: 'low-ccr' });

    // No page asked anything of another origin: no CDN, no fonts, no telemetry.
    const foreign = requests.filter(
      (u) => !u.startsWith(`${rig.base}/`) && !u.startsWith('data:') && u !== 'about:blank',
    );
    expect(foreign).toEqual([]);
    expect([...problems, ...appProblems]).toEqual([]);
    await context.close();
  });

  it('passes automated WCAG 2.1 AA checks with cards and the dismiss form open', async () => {
    const context = await rig.browser.newContext({ viewport: { width: 1100, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${rig.base}/demo/#patient=demo-low-ccr`);
    await page.waitForSelector('article[data-rule="low-ccr"]');
    await page.click('article[data-rule="low-ccr"] button.dismiss');
    expect(await accessibilityViolations(page)).toEqual([]);
    await context.close();
  });
});

describe('card detail Markdown in the demo EHR', { timeout: 60_000 }, () => {
  it('is sanitised: no script, handler, image, frame or javascript: link survives, and nothing is fetched', async () => {
    const bundle = await build({
      entryPoints: [path.resolve(__dirname, '../src/demo/ehr/markdown.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'md',
      platform: 'browser',
      logLevel: 'silent',
    });
    const context = await rig.browser.newContext();
    const requests = recordRequests(context);
    const page = await context.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ content: bundle.outputFiles[0]?.text ?? '' });
    const hostile = [
      '**ok** <script>window.pwned = 1</script>',
      '<img src="https://tracker.example/p.png" onerror="window.pwned = 2">',
      '![chart](https://tracker.example/chart.png)',
      '[click](javascript:window.pwned=3)',
      '<a href="https://ok.example/x" onclick="window.pwned=4">link</a>',
      '<iframe src="https://evil.example/"></iframe><svg onload="window.pwned=5"></svg>',
      '<div style="background:url(https://tracker.example/bg.png)">styled</div>',
    ].join('\n\n');
    const html = await page.evaluate((md) => {
      const out = (window as unknown as { md: { safeMarkdown: (s: string) => string } }).md.safeMarkdown(md);
      const div = document.createElement('div');
      div.innerHTML = out;
      document.body.append(div);
      return out;
    }, hostile);
    await page.waitForTimeout(200);
    expect(html).toContain('<strong>ok</strong>');
    expect(html).not.toMatch(/<script|<img|<iframe|<svg|onerror|onclick|onload|javascript:|style=/i);
    expect(html).toContain('<a href="https://ok.example/x" target="_blank" rel="noopener noreferrer">link</a>');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(requests.filter((u) => u.includes('.example'))).toEqual([]);
    await context.close();
  });
});
