import type { CodeableConcept, MedicationAdministration, MedicationDispense, Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { daysAgo, patient } from '../demo/builders';
import { buildContext } from './context';
import { inputFromResources } from './input';

/* One timeline per medicine: doses and supplies of one ingredient, from any resource, become courses. */

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const UCUM = 'http://unitsofmeasure.org';
const MAX = k.medicationTimeline.maxDoseIntervalDays;
const goserelin: CodeableConcept = {
  coding: [{ system: 'http://www.whocc.no/atc', code: 'L02AE03', display: 'goserelin' }],
  text: 'goserelin 10.8 MG implant',
};
const man: Patient = patient('p', 'male', '1950-03-01');

const given = (id: string, day: number): MedicationAdministration => ({
  resourceType: 'MedicationAdministration',
  id,
  status: 'completed',
  subject: { reference: 'Patient/p' },
  medicationCodeableConcept: goserelin,
  effectiveDateTime: daysAgo(NOW, day),
});
const handedOver = (id: string, day: number, supplyDays?: number): MedicationDispense => ({
  resourceType: 'MedicationDispense',
  id,
  status: 'completed',
  subject: { reference: 'Patient/p' },
  medicationCodeableConcept: goserelin,
  whenHandedOver: daysAgo(NOW, day),
  ...(supplyDays !== undefined ? { daysSupply: { value: supplyDays, unit: 'days', system: UCUM, code: 'd' } } : {}),
});
const coursesFor = (resources: Resource[]) =>
  buildContext(inputFromResources(man, resources), 'Patient/p', k, NOW).courses.filter(
    (c) => c.concept === 'goserelin',
  );
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('the medication timeline', () => {
  it('joins 12-weekly depot injections recorded as administrations into one course that runs to the next dose due', () => {
    const courses = coursesFor([given('a1', 249), given('a2', 165), given('a3', 81)]);
    expect(courses).toHaveLength(1);
    const [c] = courses;
    expect(c?.uses.map((u) => u.reference)).toEqual([
      'MedicationAdministration/a1',
      'MedicationAdministration/a2',
      'MedicationAdministration/a3',
    ]);
    expect(c?.doseIntervalDays).toBe(84);
    expect(dayOf(c?.endMs ?? 0)).toBe(daysAgo(NOW, 81 - 84).slice(0, 10));
    // The next dose is due in three days: the course may go on, so its length is not known.
    expect(c?.open).toBe(true);
  });

  it('closes a course whose next dose is long past due, with its length known', () => {
    const [c] = coursesFor([given('a1', 400), given('a2', 316)]);
    expect(c?.open).toBe(false);
    expect(Math.round(((c?.endMs ?? 0) - (c?.startMs ?? 0)) / 86_400_000)).toBe(168);
  });

  it('keeps doses further apart than the longest dosing interval as separate courses', () => {
    const courses = coursesFor([given('a1', 200 + MAX + 30), given('a2', 200)]);
    expect(courses).toHaveLength(2);
  });

  it('gives a single dose with no interval on record no known length, so it is never a short course', () => {
    const [c] = coursesFor([given('a1', 30)]);
    expect(c?.open).toBe(true);
  });

  it('joins dispenses and administrations of one medicine into the same course, whichever resource recorded it', () => {
    const courses = coursesFor([handedOver('d1', 249), given('a2', 165), handedOver('d3', 81)]);
    expect(courses).toHaveLength(1);
    expect(courses[0]?.uses.map((u) => u.kind)).toEqual([
      'MedicationDispense',
      'MedicationAdministration',
      'MedicationDispense',
    ]);
  });
});
