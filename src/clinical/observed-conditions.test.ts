import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { daysAgo, lab } from '../demo/builders';
import { codes, lowPair, NOW, run, woman } from './rules/test-records';

const flagged = (o: Observation, flag: string): Observation => ({
  ...o,
  interpretation: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: flag }] },
  ],
});
const tshBelow = (value: number, flag?: string) => {
  const o = lab('tsh', 'p', 'tsh', value, daysAgo(NOW, 10), { comparator: '<' });
  return flag ? flagged(o, flag) : o;
};
const ft4 = (value: number) => flagged(lab('ft4', 'p', 'freeT4', value, daysAgo(NOW, 10)), 'H');

describe('thyrotoxicosis shown by a TSH reported below the detection limit', () => {
  it('counts when the bound is flagged low beside a high free T4, and quiets the low-CCR card', () => {
    const e = run(woman(66), [...lowPair(), tshBelow(0.01, 'L'), ft4(3.8)]);
    expect(codes(e, 'low-ccr')).toContain('hyperthyroidism');
    expect(e.findings.map((f) => f.ruleId)).not.toContain('low-ccr');
  });

  it('counts by the number alone when every value the bound allows is below the threshold', () => {
    expect(codes(run(woman(66), [...lowPair(), tshBelow(0.05)]), 'low-ccr')).toContain('hyperthyroidism');
  });

  it('does not count when the bound allows values on both sides of the threshold', () => {
    expect(codes(run(woman(66), [...lowPair(), tshBelow(0.5)]), 'low-ccr')).not.toContain('hyperthyroidism');
  });
});
