/**
 * The SMART app's first screen in real headless Chromium: the answer leads (the finding, the numbers that decide it,
 * the actions, what could not be checked) inside the viewport at EHR-frame sizes, said once; the detail waits behind
 * disclosures; the charts read honestly; without appContext the strongest finding leads; the print is one page.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { leadOrder } from '../src/app/lead';
import { encodeAppContext } from '../src/cds/app-context';
import type { Finding } from '../src/clinical/types';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { DEMO_PATIENTS } from '../src/demo/patients';
import {
  ARTIFACTS,
  accessibilityViolations,
  ehrLaunchUrl,
  settledState,
  useBrowserRig,
  watchProblems,
} from './support/browser';

const rig = useBrowserRig();
const SIZES = [
  { width: 800, height: 600 },
  { width: 1280, height: 800 },
];
/** Where the screenshots go: SHOTS_DIR when set (the review's shared folder), else the gitignored artifacts. */
const SHOTS = process.env.SHOTS_DIR ?? ARTIFACTS;
const WITH_FINDING = DEMO_PATIENTS.filter((d) => d.expect.cards.length > 0);

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** The parts of the lead finding the first screen must hold, each with its box in the viewport. */
function leadParts(page: Page) {
  return page.evaluate(() => {
    const box = (el: Element | null): Box | null => {
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    };
    const lead = document.querySelector('#findings article.finding');
    const summary = lead?.querySelector('h3.summary');
    return {
      rule: (lead as HTMLElement | null)?.dataset.rule ?? '',
      measures: Number((lead as HTMLElement | null)?.dataset.measures),
      summaryText: summary?.textContent ?? '',
      summary: box(summary ?? null),
      numbers: Array.from(lead?.querySelectorAll('tr.key-number') ?? []).map((tr) => ({
        code: (tr as HTMLElement).dataset.code ?? '',
        text: tr.textContent ?? '',
        box: box(tr),
      })),
      actions: Array.from(lead?.querySelectorAll('ul.actions li') ?? []).map((li) => box(li)),
      unchecked: box(lead?.querySelector('p.unchecked') ?? null),
      advisory: box(document.querySelector('p.advisory')),
      bodyText: document.body.innerText,
    };
  });
}

const inside = (b: Box | null, size: { width: number; height: number }) =>
  !!b && b.top >= 0 && b.bottom <= size.height && b.left >= 0 && b.right <= size.width;

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('the order the app shows findings in', () => {
  const k = loadKnowledgeSync();
  const finding = (ruleId: string, indicator: string) => ({ ruleId, indicator }) as unknown as Finding;
  const precedence = (id: string) => (k.rules as Record<string, { precedence: number }>)[id]?.precedence ?? 0;
  const [strong, weak] = ['secondary-osteoporosis', 'low-ccr'].sort((a, b) => precedence(a) - precedence(b)) as [
    string,
    string,
  ];

  it('puts a critical card before a warning and a warning before an info, whatever the rules’ precedence', () => {
    const order = leadOrder([finding(strong, 'info'), finding(weak, 'warning'), finding('x', 'critical')], k);
    expect(order.map((f) => f.ruleId)).toEqual(['x', weak, strong]);
  });

  it('breaks a tie of indicator by the precedence the knowledge data gives the rules', () => {
    expect(leadOrder([finding(weak, 'warning'), finding(strong, 'warning')], k).map((f) => f.ruleId)).toEqual([
      strong,
      weak,
    ]);
  });

  it('lets the finding an appContext names lead', () => {
    expect(leadOrder([finding(strong, 'warning'), finding(weak, 'info')], k, weak).map((f) => f.ruleId)).toEqual([
      weak,
      strong,
    ]);
  });
});

describe('the SMART app’s first screen', { timeout: 120_000 }, () => {
  it('holds, for every demo patient with a finding and at 800×600 and 1280×800, the finding once, its numbers with unit, date, reference and trend, its actions and what could not be checked', {
    timeout: 400_000,
  }, async () => {
    expect(WITH_FINDING.length).toBeGreaterThan(3);
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const size of SIZES) {
      const context = await rig.browser.newContext({ viewport: size });
      const page = await context.newPage();
      const problems = watchProblems(page);
      for (const demo of WITH_FINDING) {
        const where = `${demo.id} at ${size.width}×${size.height}`;
        await page.goto(await ehrLaunchUrl(rig.base, demo.id));
        // A glucocorticoid finding may come with no lab results at all: the app says so, and still leads with it.
        expect(['ready', 'no-data'], where).toContain(await settledState(page));
        await page.screenshot({ path: path.join(SHOTS, `app-${size.width}x${size.height}-${demo.id}.png`) });
        const p = await leadParts(page);
        expect(demo.expect.cards, where).toContain(p.rule);
        expect(inside(p.advisory, size), `${where}: advisory in view`).toBe(true);
        expect(inside(p.summary, size), `${where}: the finding in view`).toBe(true);
        // The summary is said once on the page a clinician reads, not by notice, heading and order list in turn.
        expect(occurrences(p.bodyText, p.summaryText.trim()), `${where}: the summary occurs once`).toBe(1);
        // Every number the card carries, up to four (a fracture finding carries none: its facts are its words).
        expect(p.numbers.length, `${where}: the deciding numbers`).toBe(Math.min(4, p.measures));
        for (const n of p.numbers) {
          expect(inside(n.box, size), `${where}: ${n.code} in view`).toBe(true);
          // A date, and a reference or the words that there is none, beside every number.
          expect(n.text, `${where}: ${n.code} dated`).toMatch(/\d{4}-\d{2}-\d{2}/);
          expect(n.text, `${where}: ${n.code} read against something`).toMatch(
            /below|at or above|KDIGO|no reference range/,
          );
        }
        expect(p.actions.length, `${where}: actions`).toBeGreaterThan(0);
        for (const a of p.actions) expect(inside(a, size), `${where}: the actions in view`).toBe(true);
        expect(inside(p.unchecked, size), `${where}: what could not be checked, in view`).toBe(true);
        // The detail waits: Observation ids and formulas are not on the first screen.
        expect(await page.locator('#findings details.finding-detail[open]').count()).toBe(0);
      }
      expect(problems, `${size.width}×${size.height}`).toEqual([]);
      await context.close();
    }
  });

  it('links each deciding number to the measure row that explains it, whose inputs and formula open from the keyboard', async () => {
    const context = await rig.browser.newContext({ viewport: SIZES[0] });
    const page = await context.newPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-low-ccr'));
    expect(await settledState(page)).toBe('ready');
    const link = page.locator('#finding-low-ccr tr.key-number[data-code="ccr"] a');
    expect(await link.getAttribute('href')).toBe('#measure-ccr');
    await link.focus();
    await page.keyboard.press('Enter');
    const row = page.locator('#measure-ccr');
    expect(await row.isVisible()).toBe(true);
    const inputs = row.locator('td.sources details');
    expect(await inputs.getAttribute('open')).toBeNull();
    await inputs.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await inputs.getAttribute('open')).toBe('');
    expect(await row.locator('td.sources').innerText()).toContain('Observation/demo-low-ccr-cr');
    // The measures table no longer lists each input under every measure: it is behind each row's disclosure.
    const visibleIds = await page.$$eval('#measures tbody tr td.sources details:not([open])', (ds) =>
      ds.map((d) => (d as HTMLElement).innerText).join(' '),
    );
    expect(visibleIds).not.toContain('Observation/');
    await context.close();
  });

  it('opens without appContext on the strongest finding, and with appContext on the card’s own', async () => {
    const context = await rig.browser.newContext({ viewport: SIZES[0] });
    const page = await context.newPage();
    const lead = () => page.$eval('#findings article.finding', (a) => (a as HTMLElement).dataset.rule);
    // No appContext at all (Oracle Health passes none): the page opens on the card the service gives, at the top.
    for (const demo of WITH_FINDING) {
      await page.goto(await ehrLaunchUrl(rig.base, demo.id));
      expect(['ready', 'no-data'], demo.id).toContain(await settledState(page));
      expect(await lead(), demo.id).toBe(demo.expect.cards[0]);
      expect(await page.locator('.focused').count()).toBe(0);
      expect(await page.evaluate(() => window.scrollY), `${demo.id}: opens at the top`).toBe(0);
    }
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-low-ccr', encodeAppContext({ ruleId: 'low-ccr' })));
    expect(await settledState(page)).toBe('ready');
    expect(await lead()).toBe('low-ccr');
    expect(await page.textContent('#focus-notice')).toBe('Opened from this card.');
    await context.close();
  });

  it('draws its charts on clinically meaningful axes: ticks at the draws, eGFR from 0 with the KDIGO bands, CCR with its threshold', async () => {
    const context = await rig.browser.newContext({ viewport: SIZES[1] });
    const page = await context.newPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-low-ccr'));
    expect(await settledState(page)).toBe('ready');
    expect(await page.locator('#trend-ccr canvas').count()).toBe(1);
    // The drawn axes, as Chart.js laid them out, read back from the canvases through the page's own charts.
    const scales = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLCanvasElement>('#trends canvas')).map((c) => ({
        id: c.closest('figure')?.id ?? '',
        y: c.dataset.yMin !== undefined ? [Number(c.dataset.yMin), Number(c.dataset.yMax)] : null,
        ticks: c.dataset.xTicks ?? '',
        draws: Array.from(c.closest('figure')?.querySelectorAll('.trend-table tbody tr td:first-child') ?? []).map(
          (td) => td.textContent ?? '',
        ),
      })),
    );
    for (const s of scales) {
      expect(s.y?.[0], `${s.id} starts at 0`).toBe(0);
      // Ticks at the draws (Chart.js drops labels that would collide, never invents one between draws).
      const ticks = s.ticks.split(' ');
      expect(ticks.length, s.id).toBeGreaterThan(0);
      for (const t of ticks) expect(s.draws, `${s.id}: tick ${t} is a draw`).toContain(t);
      if (s.draws.length <= 3) expect(ticks, `${s.id}: every draw labelled`).toEqual([...new Set(s.draws)]);
    }
    const egfr = scales.find((s) => s.id === 'trend-egfr-cr-2021');
    expect(egfr?.y?.[1]).toBeGreaterThanOrEqual(120);
    await page.locator('#trend-ccr').scrollIntoViewIfNeeded();
    await page.locator('#trend-ccr').screenshot({ path: path.join(SHOTS, 'app-chart-ccr.png') });
    await page.locator('#trend-egfr-cr-cys-2021').screenshot({ path: path.join(SHOTS, 'app-chart-egfr.png') });
    await context.close();
  });

  it('passes automated WCAG 2.1 AA checks on the first screen and with every disclosure open', async () => {
    const context = await rig.browser.newContext({ viewport: SIZES[0], bypassCSP: true });
    const page = await context.newPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-steroid'));
    expect(await settledState(page)).toBe('ready');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.$$eval('details', (ds) => {
      for (const d of ds) (d as HTMLDetailsElement).open = true;
    });
    expect(await accessibilityViolations(page)).toEqual([]);
    await context.close();
  });

  it('prints one page with the finding, the advisory wording and the citations, for every demo patient with a finding', {
    timeout: 300_000,
  }, async () => {
    const context = await rig.browser.newContext({ viewport: SIZES[0] });
    const page = await context.newPage();
    for (const demo of WITH_FINDING) {
      await page.goto(await ehrLaunchUrl(rig.base, demo.id));
      expect(['ready', 'no-data'], demo.id).toContain(await settledState(page));
      await page.emulateMedia({ media: 'print' });
      const printed = await page.evaluate(() => document.body.innerText);
      expect(printed, demo.id).toContain('Advisory, not a diagnosis.');
      const cited = await page.$$eval('#findings article.finding:first-of-type .print-only li', (lis) => lis.length);
      expect(cited, `${demo.id}: citations printed`).toBeGreaterThan(0);
      expect(await page.locator('#measures').isVisible(), `${demo.id}: the detail stays on screen`).toBe(false);
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      // Each page of a PDF is one /Type /Page object (the page tree is /Type /Pages).
      const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? []).length;
      expect(pages, `${demo.id}: printed pages`).toBe(1);
      if (demo.id === 'demo-low-ccr') fs.writeFileSync(path.join(SHOTS, 'app-print-demo-low-ccr.pdf'), pdf);
      await page.emulateMedia({ media: 'screen' });
    }
    await context.close();
  });
});
