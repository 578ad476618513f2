/**
 * The SMART app in real headless Chromium: EHR launches against the local SMART authorization server and the
 * embedded, demo-seeded FHIR server, the app's values against the engine's, appContext, and the app's states.
 */
import type { Bundle, Patient, Resource } from 'fhir/r4';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { encodeAppContext } from '../src/cds/app-context';
import { loadServices } from '../src/cds/services';
import type { Card } from '../src/cds/types';
import { evaluatePatient } from '../src/clinical/engine';
import { clinicianText, day, INTERNAL_MARKERS, round } from '../src/clinical/format';
import { inputFromResources } from '../src/clinical/input';
import { MEASURE_ORDER } from '../src/clinical/measures';
import { measureTrends } from '../src/clinical/trend';
import type { PatientEvaluation } from '../src/clinical/types';
import { withheldMeasures } from '../src/clinical/withheld';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { daysAgo, lab, patient, transaction } from '../src/demo/builders';
import { DEMO_PATIENTS } from '../src/demo/patients';
import {
  accessibilityViolations,
  accessTokenOf,
  ehrLaunchUrl,
  recordRequests,
  settledState,
  shoot,
  useBrowserRig,
  watchProblems,
} from './support/browser';
import { fill, hookRequest, SERVICE_ID, searchsetOf, startCrosstalk } from './support/harness';

const knowledge = loadKnowledgeSync();
const service = loadServices().get(SERVICE_ID)!;
const rules = service.rules;
const EHR_FRAME = { width: 800, height: 600 };

const rig = useBrowserRig();

async function freshPage(
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[]; requests: string[] }> {
  const context = await rig.browser.newContext({ viewport: EHR_FRAME, ...options });
  const requests = recordRequests(context);
  const page = await context.newPage();
  return { context, page, problems: watchProblems(page), requests };
}

/** Every resource a search finds, following its next links. */
async function searchAll(url: string): Promise<Resource[]> {
  const found: Resource[] = [];
  for (let next: string | undefined = url; next; ) {
    const page = (await (await fetch(next)).json()) as Bundle;
    found.push(
      ...(page.entry ?? []).map((e) => e.resource as Resource).filter((r) => r.resourceType !== 'OperationOutcome'),
    );
    next = page.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

interface PatientRecord {
  patientId: string;
  patient: Patient;
  byKey: Record<string, Resource[]>;
}

/** What patient-view reads of a patient (its prefetch templates, run against the embedded FHIR server), by key. */
async function recordOf(patientId: string): Promise<PatientRecord> {
  const def = service.definition;
  const patient = (await (await fetch(`${rig.base}/fhir/Patient/${patientId}`)).json()) as Patient;
  const searches = Object.entries(def.discovery.prefetch ?? {}).filter(([key]) => key !== def.patientKey);
  const found = await Promise.all(searches.map(([, t]) => searchAll(`${rig.base}/fhir/${fill(t, patientId)}`)));
  return { patientId, patient, byKey: Object.fromEntries(searches.map(([key], i) => [key, found[i] ?? []])) };
}

/** The measures the app lists: the cards' own (medication measures included), then the rest the engine computed. */
function measuresShown(e: PatientEvaluation) {
  return [...e.findings.flatMap((f) => f.measures), ...e.measures];
}

/** The engine, in Node, on the record patient-view reads, at the instant the app says it computed. */
function engineOn(r: PatientRecord, asOf: string): PatientEvaluation {
  return evaluatePatient(
    inputFromResources(r.patient, Object.values(r.byKey).flat()),
    knowledge,
    new Date(asOf),
    rules,
  );
}

/** The cards patient-view returns for the patient, given that same record as prefetch. */
async function cardsOf(r: PatientRecord): Promise<Card[]> {
  const prefetch = {
    [service.definition.patientKey]: r.patient,
    ...Object.fromEntries(Object.entries(r.byKey).map(([key, rs]) => [key, searchsetOf(rs)])),
  };
  const res = await fetch(`${rig.base}/cds-services/${SERVICE_ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(hookRequest(r.patientId, { prefetch })),
  });
  expect(res.status, r.patientId).toBe(200);
  return ((await res.json()) as { cards: Card[] }).cards;
}

interface ShownMeasure {
  code: string;
  computed: string;
  withheld?: string;
  value?: string;
  text: string;
  date: string;
  sources: string;
}

function shownMeasures(page: Page): Promise<ShownMeasure[]> {
  return page.$$eval('#measures tbody tr', (rows) =>
    rows.map((r) => {
      const el = r as HTMLElement;
      return {
        code: el.dataset.code ?? '',
        computed: el.dataset.computed ?? '',
        ...(el.dataset.withheld !== undefined ? { withheld: el.dataset.withheld } : {}),
        ...(el.dataset.value !== undefined ? { value: el.dataset.value } : {}),
        text: el.querySelector('td.value')?.textContent ?? '',
        date: el.querySelector('td.date')?.textContent ?? '',
        sources: el.querySelector('td.sources ul')?.textContent ?? '',
      };
    }),
  );
}

describe('the SMART app, launched by the EHR', { timeout: 120_000 }, () => {
  it('shows, for every seeded patient, exactly what the engine computes from the same record, and what the card says', {
    timeout: 400_000,
  }, async () => {
    const { context, page, problems, requests } = await freshPage();
    for (const demo of DEMO_PATIENTS) {
      await page.goto(await ehrLaunchUrl(rig.base, demo.id));
      const state = await settledState(page);
      const asOf = (await page.getAttribute('#content', 'data-as-of')) as string;
      const record = await recordOf(demo.id);
      const e = engineOn(record, asOf);
      // The app reads what patient-view reads: without any lab result the engine can use or reject, no data.
      expect(state, demo.id).toBe(e.labs.length || e.rejected.length ? 'ready' : 'no-data');
      // Medicines, problems and bone density included, so the app's findings are the cards' findings.
      const cards = await cardsOf(record);
      expect(
        e.findings.map((f) => f.ruleId),
        `${demo.id}: the engine on the app's record vs the cards`,
      ).toEqual(cards.map((c) => c.extension.crosstalk.ruleId));

      const shown = await shownMeasures(page);
      expect(
        shown.map((s) => s.code),
        demo.id,
      ).toEqual(MEASURE_ORDER);
      const withheld = withheldMeasures(e);
      for (const row of shown) {
        const m = measuresShown(e).find((x) => x.code === row.code);
        if (!m) {
          expect(row.computed, `${demo.id} ${row.code}`).toBe('false');
          continue;
        }
        if (withheld.some((w) => w.code === row.code)) {
          expect(row.withheld, `${demo.id} ${row.code} is withheld`).toBe('true');
          expect(row.value, `${demo.id} ${row.code}: a withheld measure shows no value`).toBeUndefined();
          continue;
        }
        // ECMAScript leaves Math.pow's last bit to the engine, and Chromium's V8 is not Node's: the CKD-EPI powers
        // may differ by one ulp. Identical to 12 significant digits, and identical as displayed (next line).
        expect(
          Math.abs(Number(row.value) - m.value) / m.value,
          `${demo.id} ${row.code}: ${row.value} vs ${m.value}`,
        ).toBeLessThan(1e-12);
        expect(row.text, `${demo.id} ${row.code}`).toBe(round(m.value, m.unit));
        expect(row.date, `${demo.id} ${row.code}`).toBe(day(m.effective));
        for (const ref of m.derivedFrom) expect(row.sources, `${demo.id} ${row.code}`).toContain(ref);
      }

      expect(
        await page.$$eval('#findings article.finding', (as) => as.map((a) => (a as HTMLElement).dataset.rule)),
        demo.id,
      ).toEqual(e.findings.map((f) => f.ruleId));
      for (const f of e.findings) {
        expect(
          await page.$$eval(`#finding-${f.ruleId} ul.statements li`, (lis) => lis.map((li) => li.textContent)),
        ).toEqual(f.statements.map(clinicianText));
      }
      // App = card: the same rule outcomes, the same measure codes and values, and what the card withholds, withheld.
      const byCode = new Map(shown.map((row) => [row.code, row]));
      for (const c of cards) {
        const x = c.extension.crosstalk;
        expect(await page.getAttribute(`#outcome-${x.ruleId}`, 'data-status'), `${demo.id} ${x.ruleId}`).toBe('fired');
        for (const m of x.measures) {
          const row = byCode.get(m.code);
          expect(row?.withheld, `${demo.id} ${m.code}`).toBeUndefined();
          expect(
            Math.abs(Number(row?.value) - m.value) / Math.abs(m.value || 1),
            `${demo.id} ${x.ruleId} ${m.code}: app ${row?.value}, card ${m.value}`,
          ).toBeLessThan(1e-12);
        }
        for (const w of x.withheld ?? []) {
          expect(byCode.get(w.code)?.withheld, `${demo.id} ${w.code}: withheld on the card, withheld in the app`).toBe(
            'true',
          );
          expect(await page.textContent(`#measure-${w.code}`)).toContain('Withheld');
          expect(await page.getAttribute(`#trend-${w.code}`, 'data-withheld')).toBe('true');
        }
      }
      const fired = await page.$$eval('#why li.outcome[data-status="fired"]', (lis) =>
        lis.map((li) => li.id.replace('outcome-', '')),
      );
      expect(fired, `${demo.id}: the app's fired rules are the cards'`).toEqual(
        cards.map((c) => c.extension.crosstalk.ruleId),
      );
      // Nothing of our working notes reaches the app's page either.
      const pageText = (await page.textContent('#content')) ?? '';
      for (const mk of INTERNAL_MARKERS)
        expect(mk.pattern.test(pageText), `${demo.id}: ${mk.name} in the app`).toBe(false);
      for (const o of e.outcomes) {
        expect(await page.getAttribute(`#outcome-${o.ruleId}`, 'data-status'), `${demo.id} ${o.ruleId}`).toBe(o.status);
        expect(
          await page.$$eval(`#outcome-${o.ruleId} li[data-code]`, (lis) =>
            lis.map((li) => (li as HTMLElement).dataset.code),
          ),
        ).toEqual(o.reasons.map((r) => r.code));
      }
      const trends = measureTrends(e.patient, e.labs, knowledge, new Date(asOf));
      const charted = await page.$$eval('#trends figure.trend', (fs) =>
        fs.map((f) => [f.id.replace('trend-', ''), Number((f as HTMLElement).dataset.points)]),
      );
      expect(Object.fromEntries(charted), `${demo.id} trends`).toEqual(
        Object.fromEntries(MEASURE_ORDER.filter((c) => trends[c].length).map((c) => [c, trends[c].length])),
      );
      expect(await page.locator('#trends canvas').count()).toBe(
        charted.filter(([c]) => !withheld.some((w) => w.code === c)).length,
      );
      expect(await page.locator('#excluded li').count(), demo.id).toBe(e.rejected.length);
      expect(await page.locator('.focused').count(), `${demo.id}: no appContext, nothing focused`).toBe(0);
      if (['demo-low-ccr', 'demo-preliminary', 'demo-steroid', 'demo-ra'].includes(demo.id))
        await shoot(page, `app-${demo.id}-full`, true);
    }
    expect(problems).toEqual([]);
    const foreign = requests.filter((u) => !u.startsWith(`${rig.base}/`) && !u.startsWith('data:'));
    expect(foreign, 'requests outside the service origin').toEqual([]);
    await context.close();
  });

  it('reads every page of a long record and trends every draw in it', async () => {
    // Ten years of quarterly draws (creatinine, cystatin C and two non-fasting glucoses): 160 Observations, the
    // 80 glucoses in two pages of the glucose template's 50.
    const id = 'long-record';
    const now = new Date();
    const draws = Array.from({ length: 40 }, (_, i) => [
      lab(`${id}-cr-${i}`, id, 'creatinineMass', 0.7 + (i % 7) * 0.03, daysAgo(now, 10 + i * 91)),
      lab(`${id}-cys-${i}`, id, 'cystatinC', 1.0 + (i % 5) * 0.04, daysAgo(now, 10 + i * 91, 15)),
      lab(`${id}-glu-${i}`, id, 'glucoseRandom', 90 + i, daysAgo(now, 10 + i * 91, 20)),
      lab(`${id}-glu2-${i}`, id, 'glucoseRandom', 95 + i, daysAgo(now, 12 + i * 91, 20)),
    ]);
    const seeded = await fetch(`${rig.base}/fhir`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(transaction([patient(id, 'female', '1950-03-03', 'Longrecord'), ...draws.flat()])),
    });
    expect(seeded.status).toBe(200);
    const { context, page, requests } = await freshPage();
    await page.goto(await ehrLaunchUrl(rig.base, id));
    expect(await settledState(page)).toBe('ready');
    const glucosePages = requests
      .filter((u) => u.includes('/fhir/Observation?') && u.includes('2345-7'))
      .map((u) => new URL(u).searchParams.get('_offset') ?? '0');
    expect(glucosePages).toEqual(['0', '50']);
    const e = engineOn(await recordOf(id), (await page.getAttribute('#content', 'data-as-of')) as string);
    expect(e.labs).toHaveLength(160);
    expect(await page.getAttribute('#trend-ccr', 'data-points')).toBe('40');
    expect(await page.getAttribute('#trend-egfr-cr-2021', 'data-points')).toBe('40');
    expect(await page.locator('#trend-ccr tbody tr').count()).toBe(40);
    await page.evaluate(() => document.getElementById('trends')?.scrollIntoView());
    await shoot(page, 'app-800x600-long-record-trends');
    await context.close();
  });

  it('opens on the card’s finding when the token response carries appContext', async () => {
    const { context, page, problems } = await freshPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-low-ccr', encodeAppContext({ ruleId: 'low-ccr' })));
    expect(await settledState(page)).toBe('ready');
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.closest('article')?.id))
      .toBe('finding-low-ccr');
    expect(await page.getAttribute('#finding-low-ccr', 'class')).toContain('focused');
    // The notice sits in the finding, above its summary: it does not say the summary a second time.
    expect(await page.textContent('#focus-notice')).toBe('Opened from this card.');
    // The focused finding is in view below the sticky patient banner, at EHR-frame size.
    const box = await page.locator('#finding-low-ccr h3').boundingBox();
    const banner = await page.locator('header.banner').boundingBox();
    expect(box && banner && box.y >= banner.y + banner.height - 1 && box.y < EHR_FRAME.height).toBe(true);
    await shoot(page, 'app-800x600-opened-on-low-ccr');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('opens on why no card when the finding the card named no longer fires', async () => {
    const { context, page } = await freshPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-ckd', encodeAppContext({ ruleId: 'low-ccr' })));
    expect(await settledState(page)).toBe('ready');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('outcome-low-ccr');
    expect(await page.getAttribute('#outcome-low-ccr', 'data-status')).toBe('suppressed');
    expect(await page.textContent('#outcome-low-ccr')).toContain('eGFRcr-cys');
    expect(await page.textContent('#focus-notice')).toContain('no longer applies');
    await shoot(page, 'app-800x600-why-no-card');
    await context.close();
  });

  it('says plainly when the patient has no results, and what to order', async () => {
    const { context, page } = await freshPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-no-labs'));
    expect(await settledState(page)).toBe('no-data');
    expect(await page.textContent('#status')).toContain('no creatinine, cystatin C, insulin or glucose results');
    expect(
      await page.$$eval('#missing li[data-analyte]', (lis) => lis.map((li) => (li as HTMLElement).dataset.analyte)),
    ).toEqual(Object.keys(knowledge.analytes));
    expect(await page.textContent('#missing')).toContain(`LOINC ${knowledge.orders['cystatin-c'].code}`);
    await shoot(page, 'app-800x600-no-data');
    await context.close();
  });

  it('shows loading while the FHIR server is slow, a FHIR error when it fails, and recovers on retry', async () => {
    const { context, page } = await freshPage();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let fail = false;
    // Faults the embedded FHIR server cannot produce on demand: a stall, then a 500.
    await page.route('**/fhir/Observation?**', async (route) => {
      await held;
      if (fail)
        await route.fulfill({
          status: 500,
          contentType: 'application/fhir+json',
          body: '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}',
        });
      else await route.continue();
    });
    fail = true;
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-normal'));
    await page.waitForFunction(
      () =>
        document.body.dataset.state === 'loading' &&
        (document.getElementById('status')?.textContent ?? '').includes('Reading'),
    );
    await shoot(page, 'app-800x600-loading');
    release();
    expect(await settledState(page)).toBe('error');
    expect(await page.textContent('#status')).toContain('HTTP 500');
    expect(await page.getAttribute('#status', 'role')).toBe('alert');
    await shoot(page, 'app-800x600-fhir-error');
    fail = false;
    await page.click('#status button.retry');
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    expect(await page.locator('#measure-ccr').getAttribute('data-computed')).toBe('true');
    await context.close();
  });

  it('says the session has ended when the EHR revokes the token, and stays so on reload', async () => {
    const { context, page } = await freshPage();
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-low-ccr'));
    expect(await settledState(page)).toBe('ready');
    const token = await accessTokenOf(page);
    expect(token).not.toBe('');
    const revoked = await fetch(`${rig.base}/demo/smart/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token }),
    });
    expect(revoked.status).toBe(200);
    await page.click('#reload');
    await page.waitForFunction(() => document.body.dataset.state === 'expired');
    expect(await page.textContent('#status')).toContain('session has ended');
    expect(await page.isHidden('#content')).toBe(true);
    await shoot(page, 'app-800x600-expired');
    await page.reload();
    expect(await settledState(page)).toBe('expired');
    await context.close();
  });

  it('makes a standalone launch through the local sign-in’s patient picker', async () => {
    const { context, page, problems } = await freshPage();
    await page.goto(`${rig.base}/app/launch.html`);
    await page.waitForSelector('form input[name="patient"]');
    await shoot(page, 'standalone-patient-picker');
    await page.check('input[value="demo-normal"]');
    await page.click('button[type="submit"]');
    expect(await settledState(page)).toBe('ready');
    expect(await page.textContent('#patient-banner')).toContain('Steady');
    // demo-normal's creatinine is reported in µmol/L: the app shows the report and the UCUM conversion.
    expect(await page.textContent('#measure-egfr-cr-2021 td.sources')).toMatch(
      /reported 97 µmol\/L; 97 µmol\/L = 1\.097 mg\/dL/,
    );
    expect(problems).toEqual([]);
    await context.close();
  });

  it('passes automated WCAG 2.1 AA checks and is reachable by keyboard', async () => {
    // axe-core is injected as an inline script, which the app's CSP rightly refuses: bypass it for this check only.
    const { context, page } = await freshPage({ bypassCSP: true });
    await page.goto(await ehrLaunchUrl(rig.base, 'demo-low-ccr'));
    expect(await settledState(page)).toBe('ready');
    expect(await accessibilityViolations(page)).toEqual([]);
    const reached: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(() => {
          const a = document.activeElement as HTMLElement | null;
          return a ? `${a.tagName.toLowerCase()}${a.id ? `#${a.id}` : ''}${a.getAttribute('href') ?? ''}` : '';
        }),
      );
    }
    expect(reached[0]).toBe('a#content');
    expect(reached).toContain('button#reload');
    for (const href of ['#findings', '#measures', '#trends', '#why', '#missing']) expect(reached).toContain(`a${href}`);
    expect(reached.some((r) => r.startsWith('summary'))).toBe(true);
    await context.close();
  });
});

describe('the SMART app’s launch configuration', { timeout: 60_000 }, () => {
  it('asks the authorization server for the configured client id, redirect URI and SMART v2 scopes', async () => {
    const other = await startCrosstalk({
      CROSSTALK_SMART_SCOPE_VERSION: 'v2',
      CROSSTALK_SMART_CLIENT_ID: 'hospital-registered-id',
    });
    try {
      const otherBase = other.config.publicBaseUrl;
      const { context, page } = await freshPage();
      const authorize: URL[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/demo/smart/authorize')) authorize.push(new URL(r.url()));
      });
      await page.goto(await ehrLaunchUrl(otherBase, 'demo-low-ccr'));
      expect(await settledState(page)).toBe('ready');
      const q = authorize[0]?.searchParams;
      expect(q?.get('client_id')).toBe('hospital-registered-id');
      expect(q?.get('redirect_uri')).toBe(`${otherBase}/app/index.html`);
      const read = [
        'Condition',
        'DiagnosticReport',
        'Encounter',
        'MedicationAdministration',
        'MedicationDispense',
        'MedicationRequest',
        'MedicationStatement',
        'Observation',
        'Patient',
        'Procedure',
        'ServiceRequest',
      ];
      expect(q?.get('scope')?.split(' ').sort()).toEqual(['launch', ...read.map((t) => `patient/${t}.rs`)]);
      expect(q?.get('aud')).toBe(`${otherBase}/fhir`);
      expect(q?.get('code_challenge_method')).toBe('S256');
      await context.close();
    } finally {
      await other.close();
    }
  });
});
