import { describe, expect, it } from 'vitest';
import type { Dosage, Medication, MedicationRequest } from 'fhir/r4';
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
const use = (r: MedicationRequest, meds: Medication[] = []) => medicationUse(r, k, NOW, new Map(meds.map((m) => [`Medication/${m.id}`, m])));
const mgPerDay = (r: MedicationRequest, meds: Medication[] = []) => {
  const u = use(r, meds)!;
  return u.dose.ok ? u.dose.value[0]?.mgPerDay : u.dose.why;
};

/** "1 TAB once a day" as Epic and Cerner send it: a count unit from the orderable-drug-form system, no route. */
const perDay = (value: number, unit: string, code = unit, system = 'http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm', frequency = 1): Dosage => ({
  text: `${value} ${unit} daily`,
  timing: { repeat: { frequency, period: 1, periodUnit: 'd' } },
  doseAndRate: [{ doseQuantity: { value, unit, system, code } }],
});

const scd = (code: string, display: string) => ({ coding: [{ system: RX, code, display }], text: display });
const order = (id: string, product: ReturnType<typeof scd> | undefined, dosage: Dosage[], extra: Partial<MedicationRequest> = {}): MedicationRequest => ({
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
    expect(mgPerDay(order('b', scd('198145', 'prednisone 10 MG Oral Tablet'), [perDay(2, 'tablets', '{tbl}', UCUM)]))).toBe(20);
    expect(mgPerDay(order('c', scd('259966', 'methylprednisolone 4 MG Oral Tablet'), [perDay(1, '1', '1', UCUM, 2)]))).toBe(8);
  });

  it('turns 5 mL of a 1 mg/mL (5 mg/5 mL) solution into 5 mg, and 5 mL of a 3 mg/mL one into 15 mg', () => {
    expect(mgPerDay(order('d', scd('312614', 'prednisoLONE sodium phosphate 5 MG in 5 mL Oral Solution'), [perDay(5, 'mL', 'mL', UCUM)]))).toBe(5);
    expect(mgPerDay(order('e', scd('283077', 'prednisolone 3 MG/ML Oral Solution'), [perDay(5, 'mL', 'mL', UCUM)]))).toBe(15);
  });

  it('reads one vial of methylprednisolone 125 MG Injection as 125 mg', () => {
    expect(mgPerDay(order('f', scd('1743704', 'methylprednisolone 125 MG Injection'), [perDay(1, 'vial', '{vial}', UCUM)]))).toBe(125);
  });

  it('takes the strength of the named ingredient of a combination Medication, not of its other ingredient', () => {
    const med: Medication = {
      resourceType: 'Medication', id: 'combo', code: { text: 'Prednisolone 5 mg / cinchocaine 1 mg tablet' },
      ingredient: [
        { itemCodeableConcept: { coding: [{ system: RX, code: '3339', display: 'cinchocaine' }] }, isActive: true, strength: { numerator: { value: 1, code: 'mg', system: UCUM }, denominator: { value: 1, code: 'TAB' } } },
        { itemCodeableConcept: { coding: [{ system: RX, code: '8638', display: 'prednisolone' }] }, isActive: true, strength: { numerator: { value: 5, code: 'mg', system: UCUM }, denominator: { value: 1, code: 'TAB' } } },
      ],
    };
    expect(mgPerDay(order('g', undefined, [perDay(2, 'TAB')], { contained: [med], medicationReference: { reference: '#combo' } }))).toBe(10);
  });

  it('reads a referenced Medication whose code carries the SCD and the SBD side by side', () => {
    const med: Medication = {
      resourceType: 'Medication', id: 'medrol',
      code: { coding: [{ system: RX, code: '259966', display: 'methylPREDNISolone 4 MG Oral Tablet' }, { system: RX, code: '260330', display: 'Medrol 4 MG Oral Tablet' }], text: 'Medrol 4 mg tablet' },
    };
    const r: MedicationRequest = { ...order('h', undefined, [perDay(2, 'TAB')]), medicationReference: { reference: 'Medication/medrol' } };
    delete r.medicationCodeableConcept;
    const u = use(r, [med])!;
    expect(glucocorticoidIngredient(u, gc)).toMatchObject({ verified: true, concept: { id: 'methylprednisolone' } });
    expect(u.dose.ok && u.dose.value[0]?.mgPerDay).toBe(8);
  });

  it('prefers Medication.ingredient strength to the product table', () => {
    const med: Medication = {
      resourceType: 'Medication', id: 'm', code: scd('312617', 'predniSONE 5 MG Oral Tablet'),
      ingredient: [{ itemCodeableConcept: { coding: [{ system: RX, code: '8640' }] }, strength: { numerator: { value: 5, code: 'mg' }, denominator: { value: 1, code: 'TAB' } } }],
    };
    const u = use(order('i', undefined, [perDay(1, 'TAB')], { contained: [med], medicationReference: { reference: '#m' } }))!;
    expect(u.dose.ok && u.dose.how).toMatch(/\(Medication strength\)/);
  });

  it('reads the strength from a display name only as a last resort, and flags it', () => {
    const u = use(order('j', { coding: [{ system: RX, code: '8640', display: 'prednisone' }], text: 'Prednisone 10 mg tablet' }, [perDay(1, 'TAB')]))!;
    expect(u.dose.ok && u.dose.value[0]).toMatchObject({ mgPerDay: 10, fromName: true });
    expect(u.dose.ok && u.dose.how).toMatch(/read from the name/);
  });

  it('says the dose is unknown when nothing states the strength, and never guesses it', () => {
    const u = use(order('k', { coding: [{ system: RX, code: '8640', display: 'prednisone' }], text: 'prednisone' }, [perDay(1, 'TAB')]))!;
    expect(u.dose).toEqual({ ok: false, why: expect.stringMatching(/strength is not stated/) });
    // An unverified product entry gives no strength either.
    const d = use(order('l', scd('197582', 'dexAMETHasone 4 MG Oral Tablet'), [perDay(1, 'TAB')]))!;
    expect(d.dose.ok && d.dose.value[0]?.fromName).toBe(true);
  });
});

describe('the course an order allows', () => {
  it('counts the tablets in a 21-tablet pack dispensed by the pack', () => {
    const r = order('p', scd('763181', '{21 (predniSONE 5 MG Oral Tablet) } Pack'), [perDay(3, 'TAB')], {
      dispenseRequest: { quantity: { value: 1, unit: 'pack', code: '{pack}', system: UCUM }, numberOfRepeatsAllowed: 0 },
    });
    const u = use(r)!;
    expect(u.period.ok && (u.period.value.endMs - u.period.value.startMs) / 86_400_000).toBe(7);
  });

  it('is one day for a single intramuscular injection, however long the supply says', () => {
    const shot: Dosage = { timing: { repeat: { count: 1 } }, route: { coding: [{ system: 'http://snomed.info/sct', code: '78421000', display: 'Intramuscular route' }] }, doseAndRate: [{ doseQuantity: { value: 1, unit: 'mL', code: 'mL', system: UCUM } }] };
    const u = use(order('q', scd('1743782', 'methylprednisolone acetate 40 MG/ML Injection'), [shot], { dispenseRequest: { expectedSupplyDuration: { value: 120, code: 'd', system: UCUM } } }))!;
    expect(u.period.ok && (u.period.value.endMs - u.period.value.startMs) / 86_400_000).toBe(1);
    const d = glucocorticoidDoses(u, glucocorticoidIngredient(u, gc)!, k);
    expect(d.intervals.map((i) => i.ingredientMgPerDay)).toEqual([40]);
  });

  it('ends a stopped order when it was last updated, not when its supply would have run out', () => {
    const r = order('s', scd('312617', 'predniSONE 5 MG Oral Tablet'), [perDay(2, 'TAB')], { status: 'stopped', meta: { lastUpdated: daysAgo(NOW, 240) } });
    const u = use(r)!;
    expect(u.period.ok && [Math.round((u.period.value.endMs - u.period.value.startMs) / 86_400_000), u.period.value.expected]).toEqual([30, false]);
  });

  it('ends a completed order no later than today', () => {
    const r = order('t', scd('312617', 'predniSONE 5 MG Oral Tablet'), [perDay(1, 'TAB')], { status: 'completed', authoredOn: daysAgo(NOW, 30) });
    const u = use(r)!;
    expect(u.period.ok && u.period.value.endMs).toBe(NOW.getTime());
  });
});

describe('route from the dose form when the order has none', () => {
  const noRoute = (amount = 1, unit = 'TAB'): Dosage => perDay(amount, unit);
  it('is systemic for an oral tablet product, even when the order carries only its code', () => {
    expect(use(order('r1', { coding: [{ system: RX, code: '312617' }] } as ReturnType<typeof scd>, [noRoute()]))!.route).toMatchObject({ kind: 'systemic', how: expect.stringMatching(/Oral Tablet of RxNorm 312617/) });
  });

  it('is local for inhaled, nasal, topical, ophthalmic, otic and rectal foam forms named on the product', () => {
    const local = (id: string, code: string, text: string) => use(order(id, { coding: [{ system: RX, code, display: text }], text }, [noRoute(1, '{puff}')]))!.route.kind;
    expect(local('l1', '8640', 'prednisone Metered Dose Inhaler')).toBe('local');
    expect(local('l2', '10759', 'triamcinolone acetonide 0.055 MG/ACTUAT Nasal Spray')).toBe('local');
    expect(local('l3', '5492', 'hydrocortisone 10 MG/ML Topical Cream')).toBe('local');
    expect(local('l4', '8638', 'prednisolone acetate 10 MG/ML Ophthalmic Suspension')).toBe('local');
    expect(local('l5', '3264', 'dexamethasone 1 MG/ML Otic Solution')).toBe('local');
    expect(local('l6', '5492', 'hydrocortisone acetate 100 MG/ML Rectal Foam')).toBe('local');
  });

  it('is local when only Medication.form says so (a SNOMED CT dose form)', () => {
    const med: Medication = { resourceType: 'Medication', id: 'f', code: { coding: [{ system: RX, code: '5492', display: 'hydrocortisone' }] }, form: { coding: [{ system: 'http://snomed.info/sct', code: '385101003', display: 'Cutaneous cream' }] } };
    expect(use(order('l7', undefined, [noRoute()], { contained: [med], medicationReference: { reference: '#f' } }))!.route.kind).toBe('local');
  });
});
