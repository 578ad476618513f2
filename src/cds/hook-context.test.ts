import type { Bundle, MedicationRequest, ServiceRequest } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { unavailableDomains } from './call';
import { readHookContext } from './hook-context';
import { HttpProblem } from './outcomes';
import type { ServiceDefinition } from './services';

const base = {
  discovery: { hook: 'x', id: 'x', title: 'x', description: 'x', prefetch: {} },
  contextSchema: 'x.schema.json',
  patientKey: 'patient',
  required: [],
  rules: [],
};
const select: ServiceDefinition = {
  ...base,
  orders: { from: 'draftOrders', narrowTo: 'selections', statuses: ['draft'] },
};
const sign: ServiceDefinition = { ...base, orders: { from: 'draftOrders', statuses: ['draft', 'active'] } };
const draftOrders: Bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    {
      resource: <MedicationRequest>{
        resourceType: 'MedicationRequest',
        id: 'a',
        status: 'draft',
        intent: 'order',
        subject: {},
      },
    },
    {
      resource: <MedicationRequest>{
        resourceType: 'MedicationRequest',
        id: 'b',
        status: 'active',
        intent: 'order',
        subject: {},
      },
    },
    {
      fullUrl: 'urn:uuid:0b5f6c2e-3a44-4a5d-9d8e-6c1f0a2b3c4d',
      resource: <ServiceRequest>{ resourceType: 'ServiceRequest', status: 'draft', intent: 'order', subject: {} },
    },
  ],
};
const ctx = (extra: Record<string, unknown> = {}) => ({
  userId: 'Practitioner/u',
  patientId: 'p',
  draftOrders,
  ...extra,
});

describe('reading a hook context', () => {
  it('takes patient, user and encounter the same way for every hook, and no orders when the definition names none', () => {
    expect(readHookContext(base, { userId: 'Practitioner/u', patientId: 'p', encounterId: 'e' })).toEqual({
      userId: 'Practitioner/u',
      patientId: 'p',
      encounterId: 'e',
    });
  });

  it('keeps the order statuses the definition allows (order-sign 1.1 takes active), and names id-less orders by their urn:uuid', () => {
    const s = readHookContext(sign, ctx());
    expect(s.draftOrders?.resources.map((r) => `${r.resourceType}/${r.id}`)).toEqual([
      'MedicationRequest/a',
      'MedicationRequest/b',
      'ServiceRequest/0b5f6c2e-3a44-4a5d-9d8e-6c1f0a2b3c4d',
    ]);
    expect(s.draftOrders?.focus).toBeUndefined();
    expect(
      readHookContext(select, ctx({ selections: ['MedicationRequest/a'] })).draftOrders?.resources.map((r) => r.id),
    ).not.toContain('b');
  });

  it('narrows to the selections, by reference or fullUrl; a selection of an order that does not count narrows to nothing', () => {
    expect(readHookContext(select, ctx({ selections: ['MedicationRequest/a'] })).draftOrders?.focus).toEqual([
      'MedicationRequest/a',
    ]);
    expect(
      readHookContext(select, ctx({ selections: ['urn:uuid:0b5f6c2e-3a44-4a5d-9d8e-6c1f0a2b3c4d'] })).draftOrders
        ?.focus,
    ).toEqual(['ServiceRequest/0b5f6c2e-3a44-4a5d-9d8e-6c1f0a2b3c4d']);
    expect(readHookContext(select, ctx({ selections: ['MedicationRequest/b'] })).draftOrders?.focus).toEqual([]);
  });

  it('refuses a selection that is not among the draft orders with a 400', () => {
    expect(() => readHookContext(select, ctx({ selections: ['MedicationRequest/zzz'] }))).toThrow(HttpProblem);
  });
});

describe('draft orders the rules cannot read', () => {
  const withDomains: ServiceDefinition = {
    ...select,
    discovery: {
      ...base.discovery,
      prefetch: { medicationRequests: 'MedicationRequest?patient={{context.patientId}}' },
    },
    contextDomains: { medicationRequests: ['medications', 'osteoporosis-therapy'] },
  };
  const broken = <MedicationRequest>(<unknown>{
    resourceType: 'MedicationRequest',
    id: 'c',
    status: 'draft',
    intent: 'order',
    subject: {},
    dosageInstruction: [{ doseAndRate: [{ doseQuantity: { value: '10' } }] }],
  });
  const orders = (): Bundle => ({ ...draftOrders, entry: [...(draftOrders.entry ?? []), { resource: broken }] });

  it('are set aside as Unreadables of the domains they would feed, marked as what the hook is about when selected; never a 400', () => {
    const s = readHookContext(withDomains, ctx({ draftOrders: orders(), selections: ['MedicationRequest/c'] }));
    expect(s.draftOrders?.resources.map((r) => r.id)).toEqual(['a', '0b5f6c2e-3a44-4a5d-9d8e-6c1f0a2b3c4d']);
    expect(s.draftOrders?.focus).toEqual([]);
    expect(s.malformed).toBe(1);
    expect(s.unreadable?.map((u) => [u.domain, u.reference, u.focus])).toEqual([
      ['medications', 'MedicationRequest/c', true],
      ['osteoporosis-therapy', 'MedicationRequest/c', true],
    ]);
    expect(s.unreadable?.[0]?.reason).toMatch(/doseQuantity\/value must be number/);
  });

  it('are context, not the focus, when another order is selected', () => {
    const s = readHookContext(withDomains, ctx({ draftOrders: orders(), selections: ['MedicationRequest/a'] }));
    expect(s.draftOrders?.focus).toEqual(['MedicationRequest/a']);
    expect(s.unreadable?.every((u) => !u.focus)).toBe(true);
    expect(s.unreadable).toHaveLength(2);
  });
});

describe('unavailable context', () => {
  const def: ServiceDefinition = {
    ...base,
    contextDomains: {
      medicationRequests: ['medications', 'osteoporosis-therapy'],
      medicationStatements: ['medications'],
      osteoporosisTherapy: ['osteoporosis-therapy'],
    },
  };
  it('is a kind whose every key could not be had', () => {
    expect(
      unavailableDomains(def, {
        medicationRequests: 'fhir',
        medicationStatements: 'unavailable',
        osteoporosisTherapy: 'unavailable',
      }),
    ).toEqual([]);
    expect(
      unavailableDomains(def, {
        medicationRequests: 'unavailable',
        medicationStatements: 'unavailable',
        osteoporosisTherapy: 'prefetch',
      }),
    ).toEqual(['medications']);
  });
});
