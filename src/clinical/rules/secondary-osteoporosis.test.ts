import { describe, expect, it } from 'vitest';
import { concept, condition, daysAgo, dxaReport, patient } from '../../demo/builders';
import { cards, codes, creatinineOnly, k, man, NOW, orderCodes, outcomeOf, ra, run, woman } from './test-records';

describe('secondary-osteoporosis', () => {
  it('fires at 60 with rheumatoid arthritis, suggesting DXA only: nothing in its evidence needs cystatin C', () => {
    const e = run(woman(60), [ra, ...creatinineOnly()]);
    expect(cards(e)).toEqual(['secondary-osteoporosis']);
    expect(orderCodes(e)).toEqual([k.orders.dxa.code]);
  });

  it('does not offer cystatin C when creatinine eGFR is below the renal gate', () => {
    const e = run(man(70), [ra, ...creatinineOnly(2.2)]);
    expect(orderCodes(e)).toEqual([k.orders.dxa.code]);
    expect(e.findings[0]!.statements.join(' ')).not.toMatch(/cannot be computed/);
  });

  it('does not offer cystatin C with CKD stage 4 coded in SNOMED CT', () => {
    const e = run(woman(60), [
      ra,
      ...creatinineOnly(),
      condition('ckd', 'p', concept('sct', '431857002', 'Chronic kidney disease stage 4')),
    ]);
    expect(orderCodes(e)).not.toContain(k.orders['cystatin-c'].code);
  });

  it('stays quiet with a DXA within 24 months', () => {
    const e = run(woman(60), [ra, dxaReport('dxa', 'p', daysAgo(NOW, 300))]);
    expect(codes(e, 'secondary-osteoporosis')).toEqual(['recent-dxa']);
  });

  it('is quiet for a 15-year-old with a fragility fracture, and without a birth date', () => {
    const fx = condition(
      'fx',
      'p',
      concept('icd10cm', 'M80.08XA', 'Age-related osteoporosis with current pathological fracture, vertebra(e)'),
    );
    expect(
      outcomeOf(run(patient('p', 'female', '2011-03-01'), [ra, fx]), 'secondary-osteoporosis').reasons[0]!.code,
    ).toBe('age-below-adult');
    expect(codes(run(patient('p', 'female', undefined), [ra, fx]), 'secondary-osteoporosis')).toEqual(['age-unknown']);
  });

  it('is not met at 45 without a fracture', () => {
    expect(codes(run(woman(45), [ra]), 'secondary-osteoporosis')).toEqual(['age-below-minimum']);
  });
});
