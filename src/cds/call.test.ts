import { describe, expect, it } from 'vitest';
import type { Patient } from 'fhir/r4';
import { clinicalInput } from './call';
import type { Gathered } from './gather';
import { REFERENCED_MEDICATIONS } from './gather';
import { loadServices } from './services';

const service = loadServices().get('bone-muscle-patient-view')!;
const patient: Patient = { resourceType: 'Patient', id: 'p' };
const gathered = (extra: Partial<Gathered> = {}): Gathered => ({ patient, resources: {}, sources: {}, partial: [], malformed: 0, failures: {}, ...extra });

describe('the engine input built from what was gathered', () => {
  it('treats the medicines as not fully read when an order’s referenced Medication could not be read', () => {
    const input = clinicalInput(gathered({ unreadMedications: 1, sources: { [REFERENCED_MEDICATIONS]: 'unavailable' }, failures: { [REFERENCED_MEDICATIONS]: 'http_404' } }), service.definition, {} as never);
    expect(input.unavailable).toContain('medications');
  });

  it('keeps the medicines readable when every referenced Medication was read', () => {
    const input = clinicalInput(gathered({ sources: { [REFERENCED_MEDICATIONS]: 'fhir' } }), service.definition, {} as never);
    expect(input.unavailable).not.toContain('medications');
  });
});
