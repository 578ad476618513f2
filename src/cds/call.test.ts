import type { Medication, MedicationRequest, Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { clinicalInput } from './call';
import type { Gathered } from './gather';
import { loadServices } from './services';

const service = loadServices().get('bone-muscle-order-sign')!;
const patient: Patient = { resourceType: 'Patient', id: 'p' };
const gathered: Gathered = {
  patient,
  resources: {},
  sources: {},
  partial: [],
  malformed: 0,
  failures: {},
  unavailable: [],
};

describe('the engine input built from what was gathered', () => {
  it('takes a Medication sent beside the draft orders as the one their medicationReference points at', () => {
    const med: Medication = { resourceType: 'Medication', id: 'm1', code: { text: 'Medrol 4 mg tablet' } };
    const order: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id: 'o1',
      status: 'draft',
      intent: 'order',
      subject: { reference: 'Patient/p' },
      medicationReference: { reference: 'Medication/m1' },
    };
    const input = clinicalInput(gathered, service.definition, {
      patientId: 'p',
      userId: 'Practitioner/x',
      draftOrders: { resources: [order, med] },
    });
    expect(input.medications?.map((m) => m.id)).toEqual(['m1']);
  });
});
