import type {
  CodeableConcept,
  Dosage,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  Resource,
} from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { concept, dailyDosage, daysAgo, medicationRequest } from '../demo/builders';
import { buildContext } from './context';
import { evaluatePatient } from './engine';
import { exposureRuns, glucocorticoidDoses, glucocorticoidIngredient } from './exposure';
import { inputFromResources } from './input';
import { medicationUse } from './medications';
import { cards, codes, k, lowPair, NOW, outcomeOf, run, woman } from './rules/test-records';

/* The four FHIR R4 medication resources as one exposure timeline, and what cannot be read on them. */

const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const SCT = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
const gc = ['systemic-glucocorticoid'];
const prednisone: CodeableConcept = { coding: [{ system: RX, code: '8640', display: 'prednisone' }] };
const oral = { coding: [{ system: SCT, code: '26643006', display: 'Oral route' }] };
const use = (r: Parameters<typeof medicationUse>[0]) => medicationUse(r, k, NOW, new Map());
const ctxOf = (resources: Resource[]) => buildContext(inputFromResources(woman(70), resources), 'Patient/p', k, NOW);

/** A daily dose given on a ward or in a clinic, as a medication administration record sends it. */
function given(
  id: string,
  day: number,
  mg: number,
  extra: Partial<MedicationAdministration> = {},
  medication: CodeableConcept = prednisone,
): MedicationAdministration {
  return {
    resourceType: 'MedicationAdministration',
    id,
    status: 'completed',
    subject: { reference: 'Patient/p' },
    medicationCodeableConcept: medication,
    effectiveDateTime: daysAgo(NOW, day),
    dosage: { route: oral, dose: { value: mg, unit: 'mg', system: UCUM, code: 'mg' } },
    ...extra,
  };
}

function dispensed(id: string, day: number, supplyDays: number, extra: Partial<MedicationDispense> = {}) {
  const d: MedicationDispense = {
    resourceType: 'MedicationDispense',
    id,
    status: 'completed',
    subject: { reference: 'Patient/p' },
    medicationCodeableConcept: prednisone,
    whenHandedOver: daysAgo(NOW, day),
    daysSupply: { value: supplyDays, unit: 'days', system: UCUM, code: 'd' },
    dosageInstruction: [dailyDosage(10, 'mg', 1, oral) as Dosage],
    ...extra,
  };
  return d;
}

describe('MedicationAdministration', () => {
  it('is a dose given on the day of effective[x], by its dosage route and dose', () => {
    const u = use(given('a1', 3, 40))!;
    expect(u.kind).toBe('MedicationAdministration');
    expect(u.route.kind).toBe('systemic');
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(40);
    expect(u.period.ok && (u.period.value.endMs - u.period.value.startMs) / 86_400_000).toBe(1);
  });

  it('is not a dose when it was not done or entered in error', () => {
    expect(use(given('a2', 3, 40, { status: 'not-done' }))).toBeUndefined();
    expect(use(given('a3', 3, 40, { status: 'entered-in-error' }))).toBeUndefined();
  });

  it('makes daily doses over four months a course, so the glucocorticoid card fires from administrations alone', () => {
    const doses = Array.from({ length: 120 }, (_, i) => given(`d${i}`, 130 - i, 10));
    const e = run(woman(70), doses);
    expect(cards(e)).toContain('glucocorticoid-bone');
  });

  it('suppresses the low-CCR card as confounded by a glucocorticoid known only from an administration', () => {
    const e = run(woman(80), [...lowPair(), given('a4', 30, 40)]);
    expect(cards(e)).not.toContain('low-ccr');
    expect(codes(e, 'low-ccr')).toContain('glucocorticoid');
  });
});

describe('MedicationDispense', () => {
  it('is the supply handed over: whenHandedOver for daysSupply', () => {
    const u = use(dispensed('x1', 40, 30))!;
    expect(u.kind).toBe('MedicationDispense');
    expect(u.period.ok && u.period.value.how).toMatch(/handed over .* \+ 30 d supply/);
  });

  it('counts only a completed dispense', () => {
    expect(use(dispensed('x2', 40, 30, { status: 'declined' }))).toBeUndefined();
    expect(use(dispensed('x3', 40, 30, { status: 'cancelled' }))).toBeUndefined();
  });

  it('turns a quantity into days at the instructed dose when no daysSupply is given', () => {
    const tablets = dispensed('x4', 10, 0, {
      medicationCodeableConcept: { coding: [{ system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' }] },
      quantity: { value: 60, unit: 'TAB', code: 'TAB' },
      dosageInstruction: [dailyDosage(2, 'TAB', 1) as Dosage],
    });
    delete tablets.daysSupply;
    const u = use(tablets)!;
    expect(u.period.ok && (u.period.value.endMs - u.period.value.startMs) / 86_400_000).toBe(30);
  });

  it('fires the glucocorticoid card from dispenses alone and suppresses the low-CCR card', () => {
    const fills = [dispensed('f1', 200, 90), dispensed('f2', 110, 90)];
    expect(cards(run(woman(70), fills))).toContain('glucocorticoid-bone');
    expect(cards(run(woman(80), [...lowPair(), ...fills]))).not.toContain('low-ccr');
  });
});

describe('exposure counts only the days up to now', () => {
  it('is 240 days, not 270, for a 270-day supply begun 240 days ago', () => {
    const r = medicationRequest('long', 'p', prednisone, {
      authoredOn: daysAgo(NOW, 240),
      supplyDays: 270,
      dosage: [dailyDosage(10, 'mg', 1, oral)],
    });
    const u = use(r)!;
    const runs = exposureRuns(
      glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime()).intervals,
      2.5,
      14,
    );
    expect(Math.round(runs[0]?.days ?? 0)).toBe(240);
    const e = run(woman(70), [r]);
    const f = e.findings.find((x) => x.ruleId === 'glucocorticoid-bone')!;
    expect(f.statements.join(' ')).toMatch(/Observed course .*: 240 days/);
  });

  it('keeps the planned course of an order being placed (it is what the order hooks weigh)', () => {
    const r = medicationRequest('new', 'p', prednisone, {
      authoredOn: NOW.toISOString(),
      supplyDays: 120,
      dosage: [dailyDosage(10, 'mg', 1, oral)],
    });
    const u = medicationUse(r, k, NOW, new Map(), { orders: new Set(['MedicationRequest/new']) })!;
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime());
    expect(Math.round(exposureRuns(d.intervals, 2.5, 14)[0]?.days ?? 0)).toBe(120);
  });
});

describe('a glucocorticoid that cannot be read makes the medication list "could not be checked"', () => {
  const deflazacort: CodeableConcept = { coding: [{ system: RX, code: '22396', display: 'deflazacort' }] };
  // The shipped table converts every glucocorticoid it knows; a site may remove one, and a new one may arrive unlisted.
  const { deflazacort: _dropped, ...others } = k.glucocorticoidEquivalence.prednisoneMgPerMg;
  const unconvertible = {
    ...k,
    glucocorticoidEquivalence: { ...k.glucocorticoidEquivalence, prednisoneMgPerMg: others },
  };

  it('converts deflazacort at 6 mg to prednisone 5 mg, so 30 mg a day for 200 days gets the glucocorticoid card', () => {
    const r = medicationRequest('dfz', 'p', deflazacort, {
      authoredOn: daysAgo(NOW, 200),
      supplyDays: 180,
      dosage: [dailyDosage(30, 'mg', 1, oral)],
    });
    const u = use(r)!;
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime());
    expect(d.intervals[0]?.prednisoneEqMgPerDay).toBeCloseTo(25, 1);
    expect(ctxOf([r]).unavailable).not.toContain('medications');
    expect(cards(run(woman(70), [r]))).toContain('glucocorticoid-bone');
  });

  it('a glucocorticoid with no published prednisone equivalence is never 0 mg/day and never below threshold', () => {
    const r = medicationRequest('dfz', 'p', deflazacort, {
      authoredOn: daysAgo(NOW, 200),
      supplyDays: 180,
      dosage: [dailyDosage(30, 'mg', 1, oral)],
    });
    const ctx = buildContext(inputFromResources(woman(70), [r]), 'Patient/p', unconvertible, NOW);
    expect(ctx.unavailable).toContain('medications');
    expect(ctx.unreadable[0]).toMatchObject({ reference: 'MedicationRequest/dfz', domain: 'medications' });
    expect(ctx.unreadable[0]?.reason).toMatch(/no published prednisone equivalence.*could not be converted/);
    const e = run(woman(70), [r], { knowledge: unconvertible });
    expect(codes(e, 'glucocorticoid-bone')).toContain('context-unavailable');
    expect(codes(e, 'glucocorticoid-bone')).not.toContain('below-threshold');
    expect(JSON.stringify(outcomeOf(e, 'glucocorticoid-bone').reasons)).not.toMatch(/\b0 mg\/day/);
  });

  it('on an order hook, an order with no equivalence says its dose could not be converted, not below threshold', () => {
    const r = medicationRequest('dfz2', 'p', deflazacort, {
      authoredOn: NOW.toISOString(),
      supplyDays: 180,
      dosage: [dailyDosage(30, 'mg', 1, oral)],
    });
    const input = { ...inputFromResources(woman(70), []), draftOrders: { resources: [r] } };
    const ctx = buildContext(input, 'Patient/p', unconvertible, NOW);
    expect(ctx.unreadable.map((u) => u.reference)).toEqual(['MedicationRequest/dfz2']);
    const e = evaluatePatient(input, unconvertible, NOW);
    const reasons = outcomeOf(e, 'glucocorticoid-bone').reasons;
    expect(reasons.map((x) => x.code)).toContain('dose-unknown');
    expect(reasons.map((x) => x.code)).not.toContain('below-threshold');
    expect(JSON.stringify(reasons)).toMatch(/could not be converted/);
  });

  it('a SNOMED CT route code in neither the systemic nor the local set is unknown, never local', () => {
    const odd = { coding: [{ system: SCT, code: '999999001', display: 'Some other route' }] };
    const r = medicationRequest('rt', 'p', prednisone, {
      authoredOn: daysAgo(NOW, 30),
      supplyDays: 30,
      dosage: [dailyDosage(10, 'mg', 1, odd)],
    });
    expect(use(r)!.route).toMatchObject({ kind: 'unknown', unreadable: true });
    const ctx = ctxOf([r]);
    expect(ctx.unavailable).toContain('medications');
    expect(ctx.unreadable[0]?.reason).toMatch(/route could not be read/);
  });

  it('reads Epic\'s "Oral" (SNOMED CT 260548002) as oral, and a topical route code as local', () => {
    const route = (code: string, display: string) =>
      use(
        medicationRequest(`r${code}`, 'p', prednisone, {
          authoredOn: daysAgo(NOW, 30),
          dosage: [dailyDosage(10, 'mg', 1, { coding: [{ system: SCT, code, display }] })],
        }),
      )!.route.kind;
    expect(route('260548002', 'Oral')).toBe('systemic');
    expect(route('6064005', 'Topical route')).toBe('local');
    expect(ctxOf([]).unavailable).toEqual([]);
  });

  it('leaves a local glucocorticoid out of the unreadable list (a cream is read, and is local)', () => {
    const cream = medicationRequest('cr', 'p', prednisone, {
      authoredOn: daysAgo(NOW, 30),
      dosage: [dailyDosage(1, 'mg', 1, { coding: [{ system: SCT, code: '6064005', display: 'Topical route' }] })],
    });
    expect(ctxOf([cream]).unreadable).toEqual([]);
  });
});

describe('the CDS Hooks Sandbox dose: 1 {pill} of an RxNorm tablet product', () => {
  /** As the Sandbox's Rx View builds it (src/reducers/medication-reducers.js): UCUM `{pill}`, frequency per day. */
  const sandbox = (code: string, display: string, pills: number): MedicationRequest => ({
    resourceType: 'MedicationRequest',
    id: 'sbx',
    status: 'draft',
    intent: 'order',
    subject: { reference: 'Patient/p' },
    authoredOn: NOW.toISOString(),
    medicationCodeableConcept: { text: display, coding: [{ display, system: RX, code }] },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
        doseAndRate: [{ doseQuantity: { value: pills, system: UCUM, code: '{pill}' } }],
      },
    ],
    dispenseRequest: { expectedSupplyDuration: { value: 120, unit: 'days', system: UCUM, code: 'd' } },
  });

  const asOrder = (r: MedicationRequest) =>
    medicationUse(r, k, NOW, new Map(), { orders: new Set(['MedicationRequest/sbx']) });

  it('reads 1 pill of prednisone 10 MG Oral Tablet as 10 mg a day, by the product strength', () => {
    const u = asOrder(sandbox('198145', 'prednisone 10 MG Oral Tablet', 1))!;
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(10);
    expect(u.route.kind).toBe('systemic');
  });

  it('never counts a pill of a product measured in mL or vials', () => {
    const u = asOrder(sandbox('205301', 'prednisone 5 MG/ML Oral Solution', 1))!;
    expect(u.dose.ok).toBe(false);
  });
});

describe('routes by the SNOMED CT route hierarchy', () => {
  const withRoute = (id: string, code: string, display: string) =>
    medicationRequest(id, 'p', prednisolone, {
      authoredOn: daysAgo(NOW, 150),
      supplyDays: 200,
      dosage: [dailyDosage(5, 'mg', 4, { coding: [{ system: SCT, code, display }] })],
    });
  const prednisolone: CodeableConcept = { coding: [{ system: RX, code: '8638', display: 'prednisolone' }] };

  it('reads eye, inhaled and joint routes as local and sublingual or nasogastric as systemic', () => {
    const kind = (code: string) => use(withRoute(`r${code}`, code, 'route'))!.route.kind;
    for (const local of ['54485002', '372468001', '418401004', '372452007', '372474001'])
      expect(kind(local)).toBe('local');
    for (const systemic of ['37839007', '127492001', '127490009', '419993007']) expect(kind(systemic)).toBe('systemic');
  });

  it('keeps the low-CCR card beside prednisolone eye drops, which do not confound cystatin C', () => {
    const drops = withRoute('eye', '54485002', 'Ophthalmic route');
    const ctx = ctxOf([drops]);
    expect(ctx.unavailable).not.toContain('medications');
    const e = run(woman(70), [drops, ...lowPair()]);
    expect(cards(e)).toContain('low-ccr');
    expect(cards(e)).not.toContain('glucocorticoid-bone');
    expect(codes(e, 'glucocorticoid-bone')).toContain('not-systemic');
  });
});

describe('exposure in whole calendar days', () => {
  it('counts a course begun mid-morning 150 days ago as 150 whole days, never a fraction', () => {
    const r = medicationRequest('w', 'p', prednisone, {
      authoredOn: daysAgo(NOW, 150),
      supplyDays: 300,
      dosage: [dailyDosage(10, 'mg', 1, oral)],
    });
    const u = use(r)!;
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime());
    const days = exposureRuns(d.intervals, 2.5, 14)[0]?.days;
    expect(days).toBe(150);
    expect(Number.isInteger(days)).toBe(true);
  });

  it('counts the days taken of a course that runs into the future, and the card fires on them', () => {
    const future = new Date(NOW.getTime() + 140 * 86_400_000).toISOString();
    const r = medicationRequest('f', 'p', prednisone, {
      authoredOn: daysAgo(NOW, 100),
      dosage: [
        {
          ...dailyDosage(10, 'mg', 1, oral),
          timing: {
            repeat: {
              frequency: 1,
              period: 1,
              periodUnit: 'd',
              boundsPeriod: { start: daysAgo(NOW, 100), end: future },
            },
          },
        },
      ],
    });
    const u = use(r)!;
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime());
    expect(exposureRuns(d.intervals, 2.5, 14)[0]?.days).toBe(100);
    const e = run(woman(70), [r]);
    expect(cards(e)).toContain('glucocorticoid-bone');
    expect(JSON.stringify(e.findings)).toMatch(/100 days/);
  });

  it('counts no future day of a course that has not begun', () => {
    const r = medicationRequest('n', 'p', prednisone, {
      authoredOn: new Date(NOW.getTime() + 5 * 86_400_000).toISOString(),
      supplyDays: 200,
      dosage: [dailyDosage(10, 'mg', 1, oral)],
    });
    const u = use(r)!;
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime());
    expect(exposureRuns(d.intervals, 2.5, 14)).toEqual([]);
    expect(cards(run(woman(70), [r]))).not.toContain('glucocorticoid-bone');
  });
});

describe('osteoporosis therapy is current only within its dosing interval', () => {
  const denosumab: CodeableConcept = { coding: [{ system: RX, code: '993449', display: 'denosumab' }] };
  const longCourse = medicationRequest('pred', 'p', prednisone, {
    authoredOn: daysAgo(NOW, 200),
    supplyDays: 300,
    dosage: [dailyDosage(10, 'mg', 1, oral)],
  });
  const injection = (id: string, day: number) =>
    given(
      id,
      day,
      60,
      {
        dosage: {
          route: { coding: [{ system: SCT, code: '34206005' }] },
          dose: { value: 60, unit: 'mg', system: UCUM, code: 'mg' },
        },
      },
      denosumab,
    );

  it('still counts denosumab given four months ago as current therapy (the card stays quiet)', () => {
    const e = run(woman(70), [longCourse, injection('dmab', 120)]);
    expect(cards(e)).not.toContain('glucocorticoid-bone');
    expect(codes(e, 'glucocorticoid-bone')).toContain('osteoporosis-therapy');
  });

  it('reads denosumab last given eight months ago as overdue, not current, and the card says since when', () => {
    const e = run(woman(70), [longCourse, injection('dmab-old', 240), injection('dmab-older', 420)]);
    expect(cards(e)).toContain('glucocorticoid-bone');
    const f = e.findings.find((x) => x.ruleId === 'glucocorticoid-bone')!;
    // Last dose 240 days ago; due at 183 days, overdue after 28 more: 29 days ago.
    const since = new Date(Date.parse(daysAgo(NOW, 240)) + 211 * 86_400_000).toISOString().slice(0, 10);
    expect(f.brief?.found?.join(' ')).toMatch(new RegExp(`denosumab overdue since ${since}`));
    expect(f.brief?.unchecked?.join(' ')).toMatch(/overdue since/);
  });
});

describe('a medicine that cannot be identified makes the medication list "could not be checked"', () => {
  const letrozole = {
    resourceType: 'Medication' as const,
    id: `letrozole-${'Z'.repeat(140)}`,
    code: { coding: [{ system: RX, code: '72965', display: 'letrozole' }], text: 'Letrozole 2.5 mg tablet' },
  };
  const order = (contained: typeof letrozole, reference: string) => {
    const r = medicationRequest('let', 'p', undefined, {
      contained,
      authoredOn: daysAgo(NOW, 60),
      supplyDays: 90,
      dosage: [dailyDosage(1, 'TAB', 1)],
    });
    return { ...r, medicationReference: { reference, display: 'Letrozole 2.5 mg tablet' } } as MedicationRequest;
  };

  it('resolves a contained Medication by an id of 150 characters, as Epic writes them', () => {
    const ctx = ctxOf([order(letrozole, `#${letrozole.id}`)]);
    expect(ctx.unreadable).toEqual([]);
    expect(ctx.medications.map((m) => m.name)).toEqual(['Letrozole 2.5 mg tablet']);
  });

  it('says an order whose #reference names no contained Medication could not be checked, never no medicine', () => {
    const ctx = ctxOf([order(letrozole, '#letrozole')]);
    expect(ctx.medications).toEqual([]);
    expect(ctx.unavailable).toContain('medications');
    expect(ctx.unreadable).toEqual([
      expect.objectContaining({
        domain: 'medications',
        reference: 'MedicationRequest/let',
        reason: expect.stringMatching(/Letrozole 2\.5 mg tablet: its medicine could not be identified/),
      }),
    ]);
  });

  it('says the same of a referenced Medication that was neither sent nor read', () => {
    const { contained: _none, ...r } = order(letrozole, 'Medication/elsewhere');
    const ctx = ctxOf([r]);
    expect(ctx.unavailable).toContain('medications');
    expect(ctx.unreadable[0]?.reason).toMatch(/the Medication could not be read/);
    const e = run(woman(70), [r, ...lowPair()]);
    expect(cards(e)).not.toContain('low-ccr');
  });
});
