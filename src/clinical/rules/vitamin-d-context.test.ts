import { describe, expect, it } from 'vitest';
import { daysAgo, lab, patient } from '../../demo/builders';
import { codes, lowPair, NOW, outcomeOf, ra, run, textUnit, woman } from './test-records';

describe('vitamin-d-context', () => {
  it('adds a line to a bone card when 25-OH vitamin D is below 20 ng/mL, read from "NG/ML"', () => {
    const e = run(woman(60), [ra, textUnit(lab('vd', 'p', 'vitaminD', 14, daysAgo(NOW, 30)), 'NG/ML')]);
    expect(outcomeOf(e, 'vitamin-d-context').status).toBe('context');
    expect(e.findings[0]!.context.join(' ')).toMatch(/25-OH vitamin D 14/);
  });

  it('is not met at 25 ng/mL and never attaches to the CCR card', () => {
    expect(codes(run(woman(60), [ra, lab('vd', 'p', 'vitaminD', 25, daysAgo(NOW, 30))]), 'vitamin-d-context')).toEqual([
      'not-low',
    ]);
    const e = run(woman(80), [...lowPair(), lab('vd', 'p', 'vitaminD', 10, daysAgo(NOW, 30))]);
    expect(e.findings.find((f) => f.ruleId === 'low-ccr')!.context.join(' ')).not.toMatch(/vitamin D/);
  });

  it('is quiet for a child', () => {
    expect(
      codes(
        run(patient('p', 'female', '2012-01-01'), [ra, lab('vd', 'p', 'vitaminD', 8, daysAgo(NOW, 30))]),
        'vitamin-d-context',
      ),
    ).toEqual(['age-below-adult']);
  });
});
