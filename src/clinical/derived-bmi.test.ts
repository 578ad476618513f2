import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { daysAgo, lab } from '../demo/builders';
import { codes, lowPair, NOW, outcomeOf, run, woman } from './rules/test-records';

const weight = (kg: number, day = 20, unit = 'kg') => lab(`w${day}`, 'p', 'weight', kg, daysAgo(NOW, day), { unit });
const height = (value: number, day = 400, unit = 'cm') =>
  lab(`h${day}`, 'p', 'height', value, daysAgo(NOW, day), { unit });
const bmiOf = (e: ReturnType<typeof run>) => e.labs.filter((l) => l.analyte === 'bmi');
const absent = (o: Observation): Observation => {
  const { valueQuantity: _v, ...rest } = o;
  return { ...rest, dataAbsentReason: { coding: [{ code: 'not-performed' }] } };
};

describe('BMI derived from body weight and height', () => {
  it('is weight ÷ height² in UCUM units, names both results, and feeds the CCR confounder BMI ≥ 40', () => {
    // 260 lb and 64 in: 117.9 kg ÷ (1.6256 m)² = 44.6 kg/m².
    const e = run(woman(66), [...lowPair(), weight(260, 20, '[lb_av]'), height(64, 400, '[in_i]')]);
    const [bmi] = bmiOf(e);
    expect(bmi?.value).toBeCloseTo((260 * 0.45359237) / (64 * 0.0254) ** 2, 6);
    expect(bmi?.derivedFrom).toEqual(['Observation/w20', 'Observation/h400']);
    expect(codes(e, 'low-ccr')).toContain('bmi-extreme');
    expect(outcomeOf(e, 'low-ccr').reasons.find((r) => r.code === 'bmi-extreme')?.text).toMatch(
      /Observation\/w20, Observation\/h400; derived: weight 117\.9 kg ÷ \(height 1\.63 m\)² = 44\.6/,
    );
  });

  it('is not derived when a BMI result is on file in the look-back: the measured one speaks', () => {
    const measured = lab('bmi', 'p', 'bmi', 24, daysAgo(NOW, 30));
    const e = run(woman(66), [...lowPair(), measured, weight(130), height(165)]);
    expect(bmiOf(e).map((l) => l.reference)).toEqual(['Observation/bmi']);
  });

  it('takes no height older than the knowledge allows, so no BMI is derived from a stale one', () => {
    const e = run(woman(66), [...lowPair(), weight(130), height(165, 2500)]);
    expect(bmiOf(e)).toEqual([]);
  });

  it('leaves the BMI "could not be checked" when the newest weight has no value, never "not on file"', () => {
    const e = run(woman(66), [...lowPair(), absent(weight(130, 12)), weight(60, 40), height(165)]);
    expect(e.rejected.find((r) => r.analyte === 'bmi')).toMatchObject({
      unreadable: true,
      reference: 'Observation/w12',
    });
    expect(codes(e, 'low-ccr')).toContain('bmi-unreadable');
  });
});
