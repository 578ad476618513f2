import { describe, expect, it } from 'vitest';
import { concept, condition, daysAgo, lab, patient } from '../../demo/builders';
import { cards, codes, creatinineOnly, k, man, NOW, orderCodes, outcomeOf, run, woman } from './test-records';

describe('missing-ccr-input', () => {
  it('fires for a 70-year-old with a normal creatinine and no cystatin C, suggesting cystatin C', () => {
    const e = run(woman(70), creatinineOnly());
    expect(cards(e)).toEqual(['missing-ccr-input']);
    expect(orderCodes(e)).toEqual([k.orders['cystatin-c'].code]);
  });

  it('does not ask for cystatin C when creatinine eGFR is below the renal gate', () => {
    const e = run(man(75), creatinineOnly(2.0));
    expect(outcomeOf(e, 'missing-ccr-input').status).toBe('suppressed');
    expect(outcomeOf(e, 'missing-ccr-input').reasons[0]).toMatchObject({
      code: 'egfr-below-minimum',
      params: { measure: 'egfr-cr-2021', minimum: 60 },
    });
    expect(orderCodes(e)).toEqual([]);
  });

  it('does not ask for cystatin C around an AKI pattern', () => {
    const e = run(woman(70), [lab('cr0', 'p', 'creatinineMass', 0.5, daysAgo(NOW, 11)), ...creatinineOnly(0.9, 10)]);
    expect(codes(e, 'missing-ccr-input')).toContain('aki-pattern');
  });

  it('does not ask for cystatin C with a CCR-suppressing condition (neuromuscular disease)', () => {
    const e = run(woman(70), [
      ...creatinineOnly(),
      condition('nm', 'p', concept('icd10cm', 'G12.21', 'Amyotrophic lateral sclerosis')),
    ]);
    expect(codes(e, 'missing-ccr-input')).toContain('neuromuscular-disease');
    expect(orderCodes(e)).not.toContain(k.orders['cystatin-c'].code);
  });

  it('does not ask when sex is unknown, so no kidney-function estimate exists', () => {
    const e = run(patient('p', 'other', '1950-01-01'), creatinineOnly());
    expect(codes(e, 'missing-ccr-input')).toContain('egfr-unknown');
  });

  it('describes a rejected cystatin C as rejected, with its reason, not as absent', () => {
    const e = run(woman(70), [
      ...creatinineOnly(),
      lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 9), { status: 'preliminary' }),
    ]);
    const text = e.findings.find((f) => f.ruleId === 'missing-ccr-input')!.statements.join(' ');
    expect(text).toMatch(/Observation\/cys was rejected \(status "preliminary"/);
    expect(text).not.toMatch(/No cystatin C in/);
  });

  it('is quiet for a child and without a birth date', () => {
    expect(codes(run(patient('p', 'female', '2011-01-01'), creatinineOnly()), 'missing-ccr-input')).toEqual([
      'age-below-adult',
    ]);
    expect(codes(run(patient('p', 'female', undefined), creatinineOnly()), 'missing-ccr-input')).toEqual([
      'age-unknown',
    ]);
  });

  it('is not met below the rule minimum age', () => {
    expect(codes(run(woman(40), creatinineOnly()), 'missing-ccr-input')).toEqual(['age-below-minimum']);
  });
});
