import { describe, expect, it } from 'vitest';
import { classifyPrefetch, fillTemplate } from './prefetch';

const search = fillTemplate('creatinine', 'Observation?patient={{context.patientId}}&code=http://loinc.org|2160-0', {
  patientId: 'p1',
});
const read = fillTemplate('patient', 'Patient/{{context.patientId}}', { patientId: 'p1' });
const obs = { resourceType: 'Observation', id: 'o1', status: 'final', code: {} };

describe('prefetch templates', () => {
  it('fill context tokens and tell reads from searches', () => {
    expect(search).toMatchObject({
      url: 'Observation?patient=p1&code=http%3A%2F%2Floinc.org%7C2160-0',
      kind: 'search',
      resourceType: 'Observation',
    });
    expect(read).toMatchObject({ url: 'Patient/p1', kind: 'read', resourceType: 'Patient' });
  });

  it('refuse to fill a token whose context field is missing', () => {
    expect(() => fillTemplate('x', 'Patient/{{context.patientId}}', {})).toThrow(/context.patientId/);
  });
});

describe('a prefetch key', () => {
  it('is absent when the key is missing or there is no prefetch at all', () => {
    expect(classifyPrefetch(search, {}).state).toBe('absent');
    expect(classifyPrefetch(search, undefined).state).toBe('absent');
  });

  it('is null when the client says there is no data', () => {
    expect(classifyPrefetch(search, { creatinine: null }).state).toBe('null');
  });

  it('is a bundle, possibly empty, possibly paginated', () => {
    expect(classifyPrefetch(search, { creatinine: { resourceType: 'Bundle', type: 'searchset' } })).toMatchObject({
      state: 'bundle',
      resources: [],
      paginated: false,
    });
    const paged = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: obs }],
      link: [{ relation: 'next', url: 'https://x/fhir/Observation?page=2' }],
    };
    expect(classifyPrefetch(search, { creatinine: paged })).toMatchObject({ state: 'bundle', paginated: true });
  });

  it('is an error when it is an OperationOutcome, or a Bundle carrying an error OperationOutcome', () => {
    expect(classifyPrefetch(search, { creatinine: { resourceType: 'OperationOutcome', issue: [] } }).state).toBe(
      'error',
    );
    const withError = {
      resourceType: 'Bundle',
      entry: [{ resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing' }] } }],
    };
    expect(classifyPrefetch(search, { creatinine: withError }).state).toBe('error');
  });

  it('ignores informational OperationOutcomes inside a Bundle', () => {
    const withInfo = {
      resourceType: 'Bundle',
      entry: [
        { resource: obs },
        { resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] } },
      ],
    };
    expect(classifyPrefetch(search, { creatinine: withInfo })).toMatchObject({ state: 'bundle', resources: [obs] });
  });

  it('is invalid when its shape does not fit the template', () => {
    expect(classifyPrefetch(search, { creatinine: obs }).state).toBe('invalid');
    expect(classifyPrefetch(read, { patient: { resourceType: 'Patient', id: 'someone-else' } }).state).toBe('invalid');
    expect(
      classifyPrefetch(search, {
        creatinine: { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', id: 'p1' } }] },
      }).state,
    ).toBe('invalid');
  });

  it('is the resource itself for a read of the patient in context', () => {
    expect(classifyPrefetch(read, { patient: { resourceType: 'Patient', id: 'p1' } }).state).toBe('resource');
  });
});
