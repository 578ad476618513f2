import { describe, expect, it } from 'vitest';
import { judge } from './inputs';

const isWellFormed = (r: unknown) => judge(r).ok;

describe('the FHIR input schema for care records', () => {
  it('accepts an Encounter with a discharge disposition and an EpisodeOfCare as R4 shapes them', () => {
    expect(
      isWellFormed({
        resourceType: 'Encounter',
        id: 'e',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
        period: { start: '2026-01-01', end: '2026-01-05' },
        hospitalization: {
          dischargeDisposition: { coding: [{ system: 'http://www.nubc.org/patient-discharge', code: '50' }] },
        },
      }),
    ).toBe(true);
    expect(
      isWellFormed({ resourceType: 'EpisodeOfCare', id: 'ep', status: 'active', patient: { reference: 'Patient/p' } }),
    ).toBe(true);
  });

  it('sets aside an Encounter or a Condition whose read elements break their datatypes', () => {
    expect(
      isWellFormed({ resourceType: 'Encounter', id: 'e', hospitalization: { dischargeDisposition: 'hospice' } }),
    ).toBe(false);
    expect(isWellFormed({ resourceType: 'Encounter', id: 'e', class: [{ code: 'IMP' }] })).toBe(false);
    expect(isWellFormed({ resourceType: 'Condition', id: 'c', abatementRange: { high: 50 } })).toBe(false);
  });
});
