import type { Encounter, EpisodeOfCare, Procedure, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { concept, daysAgo } from '../demo/builders';
import { codes, creatinineOnly, NOW, outcomeOf, ra, run, woman } from './rules/test-records';

const SCT = 'http://snomed.info/sct';
const procedure = (
  id: string,
  code: string,
  display: string,
  status: Procedure['status'],
  when?: string,
): Procedure => ({
  resourceType: 'Procedure',
  id,
  status,
  code: { coding: [{ system: SCT, code, display }] },
  subject: { reference: 'Patient/p' },
  ...(when ? { performedDateTime: when } : {}),
});
const hospice = (status: Procedure['status'] = 'completed', when = daysAgo(NOW, 90)) =>
  procedure('h', '385763009', 'Hospice care (regime/therapy)', status, when);
const discharge = (status: Encounter['status'], system: string, code: string): Encounter => ({
  resourceType: 'Encounter',
  id: 'e',
  status,
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: 'Patient/p' },
  period: { start: daysAgo(NOW, 40), end: daysAgo(NOW, 35) },
  hospitalization: { dischargeDisposition: { coding: [{ system, code }] } },
});
const r3 = (resources: Resource[]) => outcomeOf(run(woman(60), [ra, ...resources]), 'secondary-osteoporosis');

describe('hospice and palliative care, however recorded', () => {
  it('quiets the bone cards for a hospice care Procedure (SNOMED CT 385763009)', () => {
    expect(r3([]).status).toBe('fired');
    const o = r3([hospice()]);
    expect(o.status).toBe('suppressed');
    expect(o.reasons.map((r) => r.code)).toContain('hospice-care');
  });

  it('does not count a hospice Procedure that was not done, or care that ended long ago', () => {
    expect(r3([hospice('not-done')]).status).toBe('fired');
    expect(r3([hospice('completed', daysAgo(NOW, 800))]).status).toBe('fired');
  });

  it('counts a palliative care Procedure (SNOMED CT 103735009) as palliative care', () => {
    const o = r3([procedure('pc', '103735009', 'Palliative care', 'in-progress')]);
    expect(o.reasons.map((r) => r.code)).toContain('palliative-care');
  });

  it('reads a discharge to hospice from Encounter.hospitalization.dischargeDisposition (NUBC and HL7 codes)', () => {
    expect(r3([discharge('finished', 'http://www.nubc.org/patient-discharge', '50')]).status).toBe('suppressed');
    expect(
      r3([discharge('finished', 'http://terminology.hl7.org/CodeSystem/discharge-disposition', 'hosp')]).status,
    ).toBe('suppressed');
    expect(r3([discharge('cancelled', 'http://www.nubc.org/patient-discharge', '50')]).status).toBe('fired');
    expect(r3([discharge('finished', 'http://www.nubc.org/patient-discharge', '01')]).status).toBe('fired');
  });

  it('reads an Encounter typed as an admission to hospice, and an active EpisodeOfCare of palliative care', () => {
    const admission: Encounter = {
      resourceType: 'Encounter',
      id: 'a',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      type: [concept('sct', '305336008', 'Admission to hospice (procedure)')],
      subject: { reference: 'Patient/p' },
      period: { start: daysAgo(NOW, 3) },
    };
    expect(r3([admission]).status).toBe('suppressed');
    const episode: EpisodeOfCare = {
      resourceType: 'EpisodeOfCare',
      id: 'ep',
      status: 'active',
      type: [concept('sct', '103735009', 'Palliative care')],
      patient: { reference: 'Patient/p' },
    };
    expect(r3([episode]).status).toBe('suppressed');
    expect(r3([{ ...episode, patient: { reference: 'Patient/someone-else' } } as EpisodeOfCare]).status).toBe('fired');
  });

  it('asks for no more labs (cystatin C) for a patient in hospice care', () => {
    expect(outcomeOf(run(woman(80), creatinineOnly()), 'missing-ccr-input').status).toBe('fired');
    const e = run(woman(80), [...creatinineOnly(), hospice()]);
    expect(outcomeOf(e, 'missing-ccr-input').status).toBe('suppressed');
    expect(codes(e, 'missing-ccr-input')).toContain('hospice-care');
  });
});
