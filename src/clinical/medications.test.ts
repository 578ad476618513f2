import type { Medication, MedicationRequest } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import {
  concept,
  dailyDosage,
  daysAgo,
  medicationRequest,
  medicationStatement,
  ROUTE,
  tabletMedication,
} from '../demo/builders';
import { describeMatch, strongest } from './codesets';
import { exposureRuns, glucocorticoidDoses, glucocorticoidIngredient } from './exposure';
import { medicationUse, medicationUses } from './medications';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const use = (r: Parameters<typeof medicationUse>[0], meds: Medication[] = []) =>
  medicationUse(r, k, NOW, new Map(meds.map((m) => [`Medication/${m.id}`, m])));
const gc = ['systemic-glucocorticoid'];

describe('recognising a medicine', () => {
  it('by RxNorm ingredient on medicationCodeableConcept, a verified code', () => {
    const u = use(
      medicationRequest('a', 'p', concept('rxnorm', '8640', 'prednisone'), { authoredOn: daysAgo(NOW, 10) }),
    )!;
    const m = glucocorticoidIngredient(u, gc)!;
    expect([m.concept.id, m.basis, m.verified]).toEqual(['prednisone', 'code', true]);
  });

  it('through a contained Medication, by its ingredient', () => {
    const med = tabletMedication(
      'm1',
      { text: 'Dexamethasone 0.5 mg tablet' },
      concept('rxnorm', '3264', 'dexamethasone'),
      0.5,
    );
    const u = use(
      medicationRequest('b', 'p', undefined, {
        contained: med,
        authoredOn: daysAgo(NOW, 10),
        dosage: [dailyDosage(2, 'TAB', 1)],
      }),
    )!;
    expect(glucocorticoidIngredient(u, gc)?.concept.id).toBe('dexamethasone');
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(1);
    expect(u.name).toBe('Dexamethasone 0.5 mg tablet');
  });

  it('through a referenced Medication the caller supplied (e.g. from _include)', () => {
    const med: Medication = { resourceType: 'Medication', id: 'ext', code: concept('atc', 'H02AB06', 'prednisolone') };
    const r: MedicationRequest = {
      ...medicationRequest('c', 'p', undefined, { authoredOn: daysAgo(NOW, 10) }),
      medicationReference: { reference: 'Medication/ext' },
    };
    delete r.medicationCodeableConcept;
    expect(glucocorticoidIngredient(use(r, [med])!, gc)?.concept.id).toBe('prednisolone');
  });

  it('by name only as a last resort, says so, and counts it no more than an unverified code', () => {
    const u = use(
      medicationRequest('d', 'p', concept('rxnorm', '999999001', 'predniSONE 5 MG Oral Tablet'), {
        authoredOn: daysAgo(NOW, 10),
      }),
    )!;
    const m = glucocorticoidIngredient(u, gc)!;
    expect([m.basis, m.verified]).toEqual(['text', false]);
    expect(describeMatch(m)).toMatch(/text match: no recognised code/);
  });

  it('prefers an unverified RxNorm code to the same drug named in free text', () => {
    const u = use(
      medicationRequest('d2', 'p', concept('rxnorm', '258494', 'exemestane', 'Exemestane 25 mg tablet'), {
        authoredOn: daysAgo(NOW, 10),
      }),
    )!;
    expect(strongest(u.matches)).toMatchObject({ basis: 'code', verified: false });
  });

  it('by RxNorm product (SCD) through the product table, naming its ingredient', () => {
    const u = use(
      medicationRequest('d3', 'p', concept('rxnorm', '312617', 'predniSONE 5 MG Oral Tablet'), {
        authoredOn: daysAgo(NOW, 10),
      }),
    )!;
    const m = glucocorticoidIngredient(u, gc)!;
    expect([m.concept.id, m.basis, m.verified, m.coding?.code]).toEqual(['prednisone', 'code', true, '312617']);
  });

  it('flags a match through an unverified code', () => {
    const u = use(
      medicationRequest('e', 'p', concept('rxnorm', '258494', 'exemestane', 'Aromasin'), {
        authoredOn: daysAgo(NOW, 10),
      }),
    )!;
    const m = strongest(u.matches)!;
    expect(m.verified).toBe(false);
    expect(describeMatch(m)).toMatch(/UNVERIFIED/);
  });

  it('ignores medicines it has no code set for, cancelled requests, and chart proposals that were never ordered', () => {
    expect(use(medicationRequest('f', 'p', concept('rxnorm', '29046', 'lisinopril')))).toBeUndefined();
    expect(
      use(medicationRequest('g', 'p', concept('rxnorm', '8640', 'prednisone'), { status: 'cancelled' })),
    ).toBeUndefined();
    expect(
      use({ ...medicationRequest('h', 'p', concept('rxnorm', '8640', 'prednisone')), intent: 'proposal' }),
    ).toBeUndefined();
  });
});

describe('the route of a glucocorticoid', () => {
  const route = (r: MedicationRequest) => use(r)!.route;
  it('is systemic for an oral or parenteral SNOMED route and local for any other SNOMED route', () => {
    expect(
      route(
        medicationRequest('a', 'p', concept('rxnorm', '8640', 'prednisone'), {
          dosage: [dailyDosage(5, 'mg', 1, ROUTE.oral)],
        }),
      ).kind,
    ).toBe('systemic');
    expect(
      route(
        medicationRequest('b', 'p', concept('rxnorm', '6902', 'methylprednisolone'), {
          dosage: [dailyDosage(40, 'mg', 1, concept('sct', '12130007', 'Intra-articular route'))],
        }),
      ).kind,
    ).toBe('local');
  });

  it('reads words when there is no code ("Oral Inhalation" is local), then the ATC class, then the dose form', () => {
    expect(
      route(
        medicationRequest('c', 'p', concept('rxnorm', '3264', 'dexamethasone'), {
          dosage: [dailyDosage(1, 'mg', 1, { text: 'Oral Inhalation' })],
        }),
      ).kind,
    ).toBe('local');
    expect(route(medicationRequest('d', 'p', concept('atc', 'H02AB02', 'dexamethasone')))).toMatchObject({
      kind: 'systemic',
      how: expect.stringMatching(/ATC H02AB02/),
    });
    expect(
      route(medicationRequest('e', 'p', concept('rxnorm', '5492', 'hydrocortisone', 'Hydrocortisone 1% Topical Cream')))
        .kind,
    ).toBe('local');
    expect(route(medicationRequest('f', 'p', concept('rxnorm', '5492', 'hydrocortisone'))).kind).toBe('unknown');
  });
});

describe('how long a medicine runs', () => {
  it('is supply × fills from authoredOn', () => {
    const u = use(
      medicationRequest('a', 'p', concept('rxnorm', '8640', 'prednisone'), {
        authoredOn: '2026-06-01T00:00:00Z',
        supplyDays: 30,
        repeats: 3,
      }),
    )!;
    expect(
      u.period.ok && [u.period.value.start.slice(0, 10), u.period.value.end.slice(0, 10), u.period.value.expected],
    ).toEqual(['2026-06-01', '2026-09-29', true]);
  });

  it('is the statement’s effective period, up to today when it is still active', () => {
    const u = use(medicationStatement('s', 'p', concept('rxnorm', '8640', 'prednisone'), '2026-01-01T00:00:00Z'))!;
    expect(u.period.ok && u.period.value.end).toBe(NOW.toISOString());
  });

  it('starts today for a new order without authoredOn', () => {
    const r = medicationRequest('o', 'p', concept('rxnorm', '8640', 'prednisone'), { status: 'draft', supplyDays: 30 });
    const [u] = medicationUses([r], [], [], k, NOW, { orders: new Set(['MedicationRequest/o']) });
    expect(u?.origin).toBe('order');
    expect(u?.focus).toBe(true);
    expect(u?.period.ok && u.period.value.startMs).toBe(NOW.getTime());
  });
});

describe('glucocorticoid exposure', () => {
  const course = (id: string, drug: [string, string], mgPerDay: number, start: string, days: number) =>
    use(
      medicationRequest(id, 'p', concept('rxnorm', drug[0], drug[1]), {
        authoredOn: start,
        supplyDays: days,
        dosage: [dailyDosage(mgPerDay, 'mg', 1)],
      }),
    )!;
  const intervals = (...us: ReturnType<typeof course>[]) =>
    us.flatMap((u) => glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime()).intervals);

  it('converts to prednisone-equivalent with the table (dexamethasone 0.75 mg = prednisone 5 mg)', () => {
    const [i] = intervals(course('d', ['3264', 'dexamethasone'], 0.75, '2026-01-01T00:00:00Z', 30));
    expect(i?.prednisoneEqMgPerDay).toBeCloseTo(5, 2);
  });

  it('bridges renewals up to 14 days apart into one course, and not longer gaps', () => {
    const p = ['8640', 'prednisone'] as [string, string];
    const joined = exposureRuns(
      intervals(course('a', p, 5, '2026-01-01T00:00:00Z', 60), course('b', p, 5, '2026-03-10T00:00:00Z', 60)),
      2.5,
      14,
    );
    expect(joined[0]?.days).toBeCloseTo(128, 0);
    const split = exposureRuns(
      intervals(course('a', p, 5, '2026-01-01T00:00:00Z', 60), course('b', p, 5, '2026-04-01T00:00:00Z', 60)),
      2.5,
      14,
    );
    expect(split.map((r) => Math.round(r.days))).toEqual([60, 60]);
  });

  it('leaves out days below the threshold, and says a dose with no equivalence could not be converted', () => {
    expect(
      exposureRuns(intervals(course('a', ['8640', 'prednisone'], 2, '2026-01-01T00:00:00Z', 200)), 2.5, 14),
    ).toEqual([]);
    const { deflazacort: _dropped, ...others } = k.glucocorticoidEquivalence.prednisoneMgPerMg;
    const without = { ...k, glucocorticoidEquivalence: { ...k.glucocorticoidEquivalence, prednisoneMgPerMg: others } };
    const u = course('z', ['22396', 'deflazacort'], 30, '2026-01-01T00:00:00Z', 200);
    expect(glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, without, NOW.getTime()).why).toMatch(
      /no published prednisone equivalence.*could not be converted/,
    );
  });
});
