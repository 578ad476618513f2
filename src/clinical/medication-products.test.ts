import type { Dosage, Medication, MedicationRequest } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { concept, daysAgo, medicationRequest } from '../demo/builders';
import { glucocorticoidDoses, glucocorticoidIngredient } from './exposure';
import { medicationUse } from './medications';

/*
 * Orders as EHRs code them: an RxNorm product (SCD, SBD, pack), often through medicationReference, with the dose
 * in tablets or mL. The product table supplies what one unit holds.
 */

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const UCUM = 'http://unitsofmeasure.org';
const gc = ['systemic-glucocorticoid'];
const use = (r: MedicationRequest, meds: Medication[] = []) =>
  medicationUse(r, k, NOW, new Map(meds.map((m) => [`Medication/${m.id}`, m])));
const mgPerDay = (r: MedicationRequest, meds: Medication[] = []) => {
  const u = use(r, meds)!;
  return u.dose.ok ? u.dose.value[0]?.mgPerDay : u.dose.why;
};

/** "1 TAB once a day" as Epic and Cerner send it: a count unit from the orderable-drug-form system, no route. */
const perDay = (
  value: number,
  unit: string,
  code = unit,
  system = 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm',
  frequency = 1,
): Dosage => ({
  text: `${value} ${unit} daily`,
  timing: { repeat: { frequency, period: 1, periodUnit: 'd' } },
  doseAndRate: [{ doseQuantity: { value, unit, system, code } }],
});

const scd = (code: string, display: string) => ({ coding: [{ system: RX, code, display }], text: display });
const order = (
  id: string,
  product: ReturnType<typeof scd> | undefined,
  dosage: Dosage[],
  extra: Partial<MedicationRequest> = {},
): MedicationRequest => ({
  ...medicationRequest(id, 'p', product, { authoredOn: daysAgo(NOW, 270), supplyDays: 90, repeats: 3, dosage }),
  ...extra,
});

describe('dose in product units × the product’s strength', () => {
  it('reads predniSONE 5 MG Oral Tablet, 1 TAB a day, as 5 mg/day (the issue’s example)', () => {
    const r = order('a', scd('312617', 'predniSONE 5 MG Oral Tablet'), [perDay(1, 'TAB')]);
    expect(mgPerDay(r)).toBe(5);
    const u = use(r)!;
    expect(u.dose.ok && u.dose.how).toMatch(/RxNorm 312617/);
  });

  it('reads "2 capsules", "{tbl}" and a plain "1" as counts of the product unit', () => {
    expect(
      mgPerDay(order('b', scd('198145', 'prednisone 10 MG Oral Tablet'), [perDay(2, 'tablets', '{tbl}', UCUM)])),
    ).toBe(20);
    expect(
      mgPerDay(order('c', scd('259966', 'methylprednisolone 4 MG Oral Tablet'), [perDay(1, '1', '1', UCUM, 2)])),
    ).toBe(8);
  });

  it('turns 5 mL of a 1 mg/mL (5 mg/5 mL) solution into 5 mg, and 5 mL of a 3 mg/mL one into 15 mg', () => {
    expect(
      mgPerDay(
        order('d', scd('312614', 'prednisoLONE sodium phosphate 5 MG in 5 mL Oral Solution'), [
          perDay(5, 'mL', 'mL', UCUM),
        ]),
      ),
    ).toBe(5);
    expect(
      mgPerDay(order('e', scd('283077', 'prednisolone 3 MG/ML Oral Solution'), [perDay(5, 'mL', 'mL', UCUM)])),
    ).toBe(15);
  });

  it('reads one vial of methylprednisolone 125 MG Injection as 125 mg', () => {
    expect(
      mgPerDay(order('f', scd('1743704', 'methylprednisolone 125 MG Injection'), [perDay(1, 'vial', '{vial}', UCUM)])),
    ).toBe(125);
  });

  it('takes the strength of the named ingredient of a combination Medication, not of its other ingredient', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'combo',
      code: { text: 'Prednisolone 5 mg / cinchocaine 1 mg tablet' },
      ingredient: [
        {
          itemCodeableConcept: { coding: [{ system: RX, code: '3339', display: 'cinchocaine' }] },
          isActive: true,
          strength: { numerator: { value: 1, code: 'mg', system: UCUM }, denominator: { value: 1, code: 'TAB' } },
        },
        {
          itemCodeableConcept: { coding: [{ system: RX, code: '8638', display: 'prednisolone' }] },
          isActive: true,
          strength: { numerator: { value: 5, code: 'mg', system: UCUM }, denominator: { value: 1, code: 'TAB' } },
        },
      ],
    };
    expect(
      mgPerDay(
        order('g', undefined, [perDay(2, 'TAB')], { contained: [med], medicationReference: { reference: '#combo' } }),
      ),
    ).toBe(10);
  });

  it('reads a referenced Medication whose code carries the SCD and the SBD side by side', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'medrol',
      code: {
        coding: [
          { system: RX, code: '259966', display: 'methylPREDNISolone 4 MG Oral Tablet' },
          { system: RX, code: '260330', display: 'Medrol 4 MG Oral Tablet' },
        ],
        text: 'Medrol 4 mg tablet',
      },
    };
    const r: MedicationRequest = {
      ...order('h', undefined, [perDay(2, 'TAB')]),
      medicationReference: { reference: 'Medication/medrol' },
    };
    delete r.medicationCodeableConcept;
    const u = use(r, [med])!;
    expect(glucocorticoidIngredient(u, gc)).toMatchObject({ verified: true, concept: { id: 'methylprednisolone' } });
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(8);
  });

  it('prefers Medication.ingredient strength to the product table', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'm',
      code: scd('312617', 'predniSONE 5 MG Oral Tablet'),
      ingredient: [
        {
          itemCodeableConcept: { coding: [{ system: RX, code: '8640' }] },
          strength: { numerator: { value: 5, code: 'mg' }, denominator: { value: 1, code: 'TAB' } },
        },
      ],
    };
    const u = use(
      order('i', undefined, [perDay(1, 'TAB')], { contained: [med], medicationReference: { reference: '#m' } }),
    )!;
    expect(u.dose.ok && u.dose.how).toMatch(/\(Medication strength\)/);
  });

  it('reads the strength from a display name only as a last resort, and flags it', () => {
    const u = use(
      order('j', { coding: [{ system: RX, code: '8640', display: 'prednisone' }], text: 'Prednisone 10 mg tablet' }, [
        perDay(1, 'TAB'),
      ]),
    )!;
    expect(u.dose.ok && u.dose.value[0]).toMatchObject({ mgPerDay: 10, fromName: true });
    expect(u.dose.ok && u.dose.how).toMatch(/read from the name/);
  });

  it('says the dose is unknown when nothing states the strength, and never guesses it', () => {
    const u = use(
      order('k', { coding: [{ system: RX, code: '8640', display: 'prednisone' }], text: 'prednisone' }, [
        perDay(1, 'TAB'),
      ]),
    )!;
    expect(u.dose).toEqual({ ok: false, why: expect.stringMatching(/strength is not stated/), unreadable: true });
    // An unverified product entry gives no strength either: only the flagged name does.
    const kUnverified = {
      ...k,
      products: {
        ...k.products,
        products: k.products.products.map((p) =>
          p.code === '197582'
            ? { ...p, verification: { status: 'unverified' as const, method: 'demoted for this test', sources: [] } }
            : p,
        ),
      },
    };
    const d = medicationUse(
      order('l', scd('197582', 'dexAMETHasone 4 MG Oral Tablet'), [perDay(1, 'TAB')]),
      kUnverified,
      NOW,
      new Map(),
    )!;
    expect(d.dose.ok && d.dose.value[0]).toMatchObject({ mgPerDay: 4, fromName: true });
    expect(d.matches.find((m) => m.coding?.code === '197582')?.verified).toBe(false);
    const none = medicationUse(
      order('l2', scd('197582', 'dexAMETHasone oral tablet'), [perDay(1, 'TAB')]),
      kUnverified,
      NOW,
      new Map(),
    )!;
    expect(none.dose).toEqual({ ok: false, unreadable: true, why: expect.stringMatching(/strength is not stated/) });
  });

  it('reads a strength in a display name given in µg, μg or mcg the same way, and flags it', () => {
    for (const unit of ['µg', 'μg', 'mcg']) {
      const u = use(
        order(
          `n-${unit}`,
          {
            coding: [{ system: RX, code: '3264', display: 'dexamethasone' }],
            text: `Dexamethasone 500 ${unit} tablet`,
          },
          [perDay(2, 'TAB')],
        ),
      )!;
      expect(u.dose.ok && u.dose.value[0], unit).toMatchObject({ mgPerDay: 1, fromName: true });
    }
  });

  it('turns 10 mL of a Medication whose ingredient strength is 15 mg per 5 mL into 30 mg', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'sol',
      code: { text: 'Prednisolone oral solution' },
      ingredient: [
        {
          itemCodeableConcept: { coding: [{ system: RX, code: '8638', display: 'prednisolone' }] },
          isActive: true,
          strength: {
            numerator: { value: 15, unit: 'mg', system: UCUM, code: 'mg' },
            denominator: { value: 5, unit: 'mL', system: UCUM, code: 'mL' },
          },
        },
      ],
    };
    expect(
      mgPerDay(
        order('sol', undefined, [perDay(10, 'mL', 'mL', UCUM)], {
          contained: [med],
          medicationReference: { reference: '#sol' },
        }),
      ),
    ).toBe(30);
  });

  it('reads an order as Epic sends it: a referenced Medication with the SCD, the SBD and an NDC, a full timing, 1 tablet per dose', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'eK4Ikhl6p0bKs9w3',
      code: {
        coding: [
          { system: 'http://hl7.org/fhir/sid/ndc', code: '0054-4728-25' },
          { system: RX, code: '312617', display: 'predniSONE 5 MG Oral Tablet' },
          { system: RX, code: '206954', display: 'prednisone 5 MG Oral Tablet [Deltasone]' },
        ],
        text: 'predniSONE (DELTASONE) 5 MG tablet',
      },
      form: {
        coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.4.698288.310', code: '1', display: 'tablet' }],
        text: 'tablet',
      },
    };
    const dosage: Dosage = {
      text: 'Take 1 tablet (5 mg total) by mouth daily.',
      timing: {
        repeat: { boundsPeriod: { start: daysAgo(NOW, 270) }, frequency: 1, period: 1, periodUnit: 'd' },
        code: { text: 'DAILY' },
      },
      asNeededBoolean: false,
      route: {
        coding: [{ system: 'urn:oid:1.2.840.114350.1.13.0.1.7.4.698288.330', code: '15', display: 'Oral' }],
        text: 'Oral',
      },
      doseAndRate: [
        {
          type: {
            coding: [
              { system: 'http://epic.com/CodeSystem/dose-rate-type', code: 'calculated', display: 'calculated' },
            ],
          },
          doseQuantity: { value: 5, unit: 'mg', system: UCUM, code: 'mg' },
        },
        {
          type: {
            coding: [
              { system: 'http://epic.com/CodeSystem/dose-rate-type', code: 'admin-amount', display: 'admin-amount' },
            ],
          },
          doseQuantity: { value: 1, unit: 'tablet', system: UCUM, code: '{tbl}' },
        },
      ],
    };
    const r: MedicationRequest = {
      ...order('epic', undefined, [dosage]),
      medicationReference: { reference: 'Medication/eK4Ikhl6p0bKs9w3', display: 'predniSONE (DELTASONE) 5 MG tablet' },
    };
    delete r.medicationCodeableConcept;
    const u = use(r, [med])!;
    expect(glucocorticoidIngredient(u, gc)).toMatchObject({ verified: true, concept: { id: 'prednisone' } });
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(5);
    expect(u.route.kind).toBe('systemic');
  });
});

describe('products of the other ingredients the rules weigh', () => {
  const group = (u: ReturnType<typeof use>, codeset: string) =>
    u?.matches
      .filter((m) => m.codeset === codeset && m.basis === 'code')
      .map((m) => [m.concept.id, m.concept.group, m.verified]);

  it('reads anastrozole 1 MG Oral Tablet through a referenced Medication as a verified aromatase inhibitor, 1 mg a day, taken by mouth', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'ana',
      code: {
        coding: [
          { system: 'http://hl7.org/fhir/sid/ndc', code: '0310-0201-30' },
          { system: RX, code: '199224', display: 'anastrozole 1 MG Oral Tablet' },
        ],
        text: 'anastrozole 1 mg tablet',
      },
    };
    const r: MedicationRequest = {
      ...order('ai', undefined, [perDay(1, 'tablet', '{tbl}', UCUM)]),
      medicationReference: { reference: 'Medication/ana' },
    };
    delete r.medicationCodeableConcept;
    const u = use(r, [med])!;
    expect(group(u, 'endocrine-therapy')).toEqual([['anastrozole', 'aromatase-inhibitor', true]]);
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(1);
    expect(u.route).toMatchObject({ kind: 'systemic', how: expect.stringMatching(/RxNorm 199224/) });
  });

  it('reads one prefilled syringe of 1.5 mL leuprolide acetate 15 MG/ML as 22.5 mg, and a goserelin implant as 3.6 mg', () => {
    const shot = (unit: string, code: string): Dosage => ({
      timing: { repeat: { count: 1 } },
      doseAndRate: [{ doseQuantity: { value: 1, unit, code } }],
    });
    const leu = use(
      order('leu', scd('1115467', '1.5 ML leuprolide acetate 15 MG/ML Prefilled Syringe'), [
        shot('injection', 'injection'),
      ]),
    )!;
    expect(group(leu, 'endocrine-therapy')).toEqual([['leuprorelin', 'androgen-deprivation', true]]);
    expect(leu.dose.ok && leu.dose.value[0]?.mgPerDay).toBe(22.5);
    expect(leu.route.kind).toBe('systemic');
    const gos = use(order('gos', scd('310592', 'goserelin 3.6 MG Drug Implant'), [shot('implant', '{implant}')]))!;
    expect(gos.dose.ok && gos.dose.value[0]?.mgPerDay).toBe(3.6);
  });

  it('names a verified insulin secretagogue for a sulfonylurea or meglitinide tablet coded by product', () => {
    expect(
      group(
        use(order('gz', scd('314006', '24 HR glipiZIDE 5 MG Extended Release Oral Tablet'), [perDay(1, 'TAB')])),
        'other-medications',
      ),
    ).toEqual([['glipizide', 'insulin-secretagogue', true]]);
    expect(
      group(use(order('gb', scd('310537', 'glyBURIDE 5 MG Oral Tablet'), [perDay(2, 'TAB')])), 'other-medications'),
    ).toEqual([['glibenclamide', 'insulin-secretagogue', true]]);
    expect(
      group(use(order('rp', scd('200256', 'repaglinide 1 MG Oral Tablet'), [perDay(3, 'TAB')])), 'other-medications'),
    ).toEqual([['repaglinide', 'insulin-secretagogue', true]]);
  });

  it('names trimethoprim, a verified creatinine artefact, for a tablet or an oral solution coded by product, and reads 10 mL twice a day of 10 mg/mL as 200 mg', () => {
    const tab = use(order('tmp', scd('198332', 'trimethoprim 100 MG Oral Tablet'), [perDay(1, 'TAB')]))!;
    expect(group(tab, 'other-medications')).toEqual([['trimethoprim', 'creatinine-artefact', true]]);
    expect(tab.route.kind).toBe('systemic');
    const sol = use(
      order('tmps', scd('562707', 'trimethoprim 10 MG/ML Oral Solution'), [perDay(10, 'mL', 'mL', UCUM, 2)]),
    )!;
    expect(group(sol, 'other-medications')).toEqual([['trimethoprim', 'creatinine-artefact', true]]);
    expect(sol.dose.ok && sol.dose.value[0]?.mgPerDay).toBe(200);
  });

  it('names a verified osteoporosis therapy for bisphosphonate tablets, an ibandronate or denosumab syringe and a zoledronic acid infusion coded by product', () => {
    const shot = (unit: string, code: string): Dosage => ({
      timing: { repeat: { count: 1 } },
      doseAndRate: [{ doseQuantity: { value: 1, unit, code } }],
    });
    expect(
      group(
        use(order('aln', scd('904431', 'alendronic acid 70 MG Oral Tablet'), [perDay(1, 'TAB')])),
        'osteoporosis-therapy',
      ),
    ).toEqual([['alendronate', 'osteoporosis-therapy', true]]);
    expect(
      group(
        use(order('ris', scd('1020064', 'risedronate sodium 35 MG Delayed Release Oral Tablet'), [perDay(1, 'TAB')])),
        'osteoporosis-therapy',
      ),
    ).toEqual([['risedronate', 'osteoporosis-therapy', true]]);
    const iba = use(
      order('iba', scd('904952', '3 ML ibandronic acid 1 MG/ML Prefilled Syringe'), [shot('syringe', '{syringe}')]),
    )!;
    expect(group(iba, 'osteoporosis-therapy')).toEqual([['ibandronate', 'osteoporosis-therapy', true]]);
    expect(iba.dose.ok && iba.dose.value[0]?.mgPerDay).toBe(3);
    const dmab = use(
      order('dmab', scd('993452', '1 ML denosumab 60 MG/ML Prefilled Syringe'), [shot('injection', 'injection')]),
    )!;
    expect(group(dmab, 'osteoporosis-therapy')).toEqual([['denosumab', 'osteoporosis-therapy', true]]);
    expect(dmab.dose.ok && dmab.dose.value[0]?.mgPerDay).toBe(60);
    expect(dmab.route.kind).toBe('systemic');
    const zol = use(
      order('zol', scd('705824', '100 ML zoledronic acid 0.05 MG/ML Injection'), [shot('vial', '{vial}')]),
    )!;
    expect(group(zol, 'osteoporosis-therapy')).toEqual([['zoledronic-acid', 'osteoporosis-therapy', true]]);
    expect(zol.dose.ok && zol.dose.value[0]?.mgPerDay).toBe(5);
  });

  it('names both ingredients of a combination insulin, and leaves a dose in insulin units without a mass (never guessed)', () => {
    const u = use(
      order(
        'mix',
        scd('847252', '3 ML insulin lispro 25 UNT/ML / insulin lispro protamine, human 75 UNT/ML Pen Injector'),
        [perDay(12, 'U', '[iU]', UCUM, 2)],
      ),
    )!;
    expect(group(u, 'other-medications')).toEqual([
      ['insulin-lispro', 'exogenous-insulin', true],
      ['insulin', 'exogenous-insulin', true],
    ]);
    expect(u.dose.ok).toBe(false);
  });
});

describe('the course an order allows', () => {
  it('counts the tablets in a 21-tablet pack dispensed by the pack', () => {
    const r = order('p', scd('763181', '{21 (predniSONE 5 MG Oral Tablet) } Pack'), [perDay(3, 'TAB')], {
      dispenseRequest: {
        quantity: { value: 1, unit: 'pack', code: '{pack}', system: UCUM },
        numberOfRepeatsAllowed: 0,
      },
    });
    const u = use(r)!;
    expect(u.period.ok && (u.period.value.endMs - u.period.value.startMs) / 86_400_000).toBe(7);
  });

  it('is one day for a single intramuscular injection, however long the supply says', () => {
    const shot: Dosage = {
      timing: { repeat: { count: 1 } },
      route: { coding: [{ system: 'http://snomed.info/sct', code: '78421000', display: 'Intramuscular route' }] },
      doseAndRate: [{ doseQuantity: { value: 1, unit: 'mL', code: 'mL', system: UCUM } }],
    };
    const u = use(
      order('q', scd('1743782', 'methylprednisolone acetate 40 MG/ML Injection'), [shot], {
        dispenseRequest: { expectedSupplyDuration: { value: 120, code: 'd', system: UCUM } },
      }),
    )!;
    expect(u.period.ok && (u.period.value.endMs - u.period.value.startMs) / 86_400_000).toBe(1);
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k, NOW.getTime());
    expect(d.intervals.map((i) => i.ingredientMgPerDay)).toEqual([40]);
  });

  it('ends a stopped order when it was last updated, not when its supply would have run out', () => {
    const r = order('s', scd('312617', 'predniSONE 5 MG Oral Tablet'), [perDay(2, 'TAB')], {
      status: 'stopped',
      meta: { lastUpdated: daysAgo(NOW, 240) },
    });
    const u = use(r)!;
    expect(
      u.period.ok && [
        Math.round((u.period.value.endMs - u.period.value.startMs) / 86_400_000),
        u.period.value.expected,
      ],
    ).toEqual([30, false]);
  });

  it('ends a completed order no later than today', () => {
    const r = order('t', scd('312617', 'predniSONE 5 MG Oral Tablet'), [perDay(1, 'TAB')], {
      status: 'completed',
      authoredOn: daysAgo(NOW, 30),
    });
    const u = use(r)!;
    expect(u.period.ok && u.period.value.endMs).toBe(NOW.getTime());
  });
});

describe('route from the dose form when the order has none', () => {
  const noRoute = (amount = 1, unit = 'TAB'): Dosage => perDay(amount, unit);
  it('is systemic for an oral tablet product, even when the order carries only its code', () => {
    expect(
      use(order('r1', { coding: [{ system: RX, code: '312617' }] } as ReturnType<typeof scd>, [noRoute()]))!.route,
    ).toMatchObject({ kind: 'systemic', how: expect.stringMatching(/Oral Tablet of RxNorm 312617/) });
  });

  it('is local for inhaled, nasal, topical, ophthalmic, otic and rectal foam forms named on the product', () => {
    const local = (id: string, code: string, text: string) =>
      use(order(id, { coding: [{ system: RX, code, display: text }], text }, [noRoute(1, '{puff}')]))!.route.kind;
    expect(local('l1', '8640', 'prednisone Metered Dose Inhaler')).toBe('local');
    expect(local('l2', '10759', 'triamcinolone acetonide 0.055 MG/ACTUAT Nasal Spray')).toBe('local');
    expect(local('l3', '5492', 'hydrocortisone 10 MG/ML Topical Cream')).toBe('local');
    expect(local('l4', '8638', 'prednisolone acetate 10 MG/ML Ophthalmic Suspension')).toBe('local');
    expect(local('l5', '3264', 'dexamethasone 1 MG/ML Otic Solution')).toBe('local');
    expect(local('l6', '5492', 'hydrocortisone acetate 100 MG/ML Rectal Foam')).toBe('local');
  });

  it('is local when only Medication.form says so (a SNOMED CT dose form)', () => {
    const med: Medication = {
      resourceType: 'Medication',
      id: 'f',
      code: { coding: [{ system: RX, code: '5492', display: 'hydrocortisone' }] },
      form: { coding: [{ system: 'http://snomed.info/sct', code: '385101003', display: 'Cutaneous cream' }] },
    };
    expect(
      use(order('l7', undefined, [noRoute()], { contained: [med], medicationReference: { reference: '#f' } }))!.route
        .kind,
    ).toBe('local');
  });
});
