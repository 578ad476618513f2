import type { Observation, Procedure } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { daysAgo } from '../demo/builders';
import { buildContext } from './context';
import { inputFromResources } from './input';
import { codes, k, NOW, outcomeOf, ra, run, woman } from './rules/test-records';

const dxaProcedure = (system: string, code: string, status: Procedure['status'], when?: string): Procedure => ({
  resourceType: 'Procedure',
  id: 'dxa',
  status,
  code: { coding: [{ system, code }] },
  subject: { reference: 'Patient/p' },
  ...(when ? { performedDateTime: when } : {}),
});
const bmd = (code: string, when: string): Observation => ({
  resourceType: 'Observation',
  id: 'bmd',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code }] },
  subject: { reference: 'Patient/p' },
  effectiveDateTime: when,
  valueQuantity: { value: 0.81, unit: 'g/cm2', system: 'http://unitsofmeasure.org', code: 'g/cm2' },
});
const r3 = (resources: (Procedure | Observation)[]) => run(woman(60), [ra, ...resources]);

describe('a DXA recorded as a Procedure or reported as BMD', () => {
  it('counts a completed DXA Procedure (CPT 77080, SNOMED CT 312681000) as a bone assessment on its date', () => {
    expect(outcomeOf(r3([]), 'secondary-osteoporosis').status).toBe('fired');
    for (const [system, code] of [
      ['http://www.ama-assn.org/go/cpt', '77080'],
      ['http://snomed.info/sct', '312681000'],
    ] as const) {
      expect(codes(r3([dxaProcedure(system, code, 'completed', daysAgo(NOW, 180))]), 'secondary-osteoporosis')).toEqual(
        ['recent-dxa'],
      );
    }
  });

  it('does not count a DXA Procedure that was not done, or one outside the window', () => {
    const cpt = 'http://www.ama-assn.org/go/cpt';
    expect(
      outcomeOf(r3([dxaProcedure(cpt, '77080', 'not-done', daysAgo(NOW, 180))]), 'secondary-osteoporosis').status,
    ).toBe('fired');
    expect(
      outcomeOf(r3([dxaProcedure(cpt, '77080', 'completed', daysAgo(NOW, 1200))]), 'secondary-osteoporosis').status,
    ).toBe('fired');
  });

  it('reads a completed DXA Procedure without a date as "DXA history could not be checked"', () => {
    const ctx = buildContext(
      inputFromResources(woman(60), [dxaProcedure('http://www.ama-assn.org/go/cpt', '77080', 'completed')]),
      'Patient/p',
      k,
      NOW,
    );
    expect(ctx.unavailable).toContain('bone-density');
  });

  it('counts a femur BMD (LOINC 24701-5) reported without a T-score as a DXA on that date, with no T-score', () => {
    expect(codes(r3([bmd('24701-5', daysAgo(NOW, 100))]), 'secondary-osteoporosis')).toEqual(['recent-dxa']);
    const ctx = buildContext(inputFromResources(woman(60), [bmd('24701-5', daysAgo(NOW, 100))]), 'Patient/p', k, NOW);
    expect(ctx.boneDensity[0]?.tScore).toBeUndefined();
  });
});
