import { describe, expect, it } from 'vitest';
import type { RejectedObservation } from '../types';
import { decides } from './ccr-confounders';

const bound = (comparator: '<' | '>' | '<=' | '>=', value: number): RejectedObservation => ({
  reference: 'Observation/x',
  reason: 'bound',
  bound: { comparator, value, unit: 'mg/L' },
});
const above10 = (v: number) => v > 10;
const bmiExtreme = (v: number) => v < 18.5 || v >= 40;

describe('a result reported as a bound', () => {
  it('decides when every value it allows falls on one side of the threshold', () => {
    expect(decides(bound('>', 160), above10, [10])).toBe(true);
    expect(decides(bound('<', 5), above10, [10])).toBe(false);
    expect(decides(bound('>=', 10), above10, [10])).toBeUndefined();
    expect(decides(bound('<', 50), above10, [10])).toBeUndefined();
  });

  it('handles a two-sided test', () => {
    expect(decides(bound('>', 45), bmiExtreme, [18.5, 40])).toBe(true);
    expect(decides(bound('<', 17), bmiExtreme, [18.5, 40])).toBe(true);
    expect(decides(bound('>', 20), bmiExtreme, [18.5, 40])).toBeUndefined();
  });

  it('does not decide without a readable bound (unknown unit)', () => {
    expect(decides({ reference: 'Observation/x', reason: 'unit' }, above10, [10])).toBeUndefined();
  });
});
