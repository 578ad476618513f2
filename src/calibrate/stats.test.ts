import { describe, expect, it } from 'vitest';
import { addTo, binOf, bootstrapInterval, countBelow, type Histogram, percentile, regularizedBeta } from './stats';

describe('calibration statistics', () => {
  it('computes the regularised incomplete beta function to published values', () => {
    // I_0.5(2, 3) = 11/16; I_x(1, 1) = x; I_x(a, b) = 1 − I_{1−x}(b, a).
    expect(regularizedBeta(0.5, 2, 3)).toBeCloseTo(0.6875, 12);
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(regularizedBeta(0.27, 250, 751) + regularizedBeta(0.73, 751, 250)).toBeCloseTo(1, 10);
  });

  it('takes the percentile as the upper edge of the bin holding the m-th smallest value, so "below" it fires for that share', () => {
    const h: Histogram = {};
    for (let i = 1; i <= 100; i++) addTo(h, binOf(i / 100));
    expect(percentile(h, 25)).toBe(0.251);
    expect(countBelow(h, percentile(h, 25) as number)).toBe(25);
    expect(countBelow(h, 0.7)).toBe(69);
  });

  it('gives the interval a resampling bootstrap converges to', () => {
    // A seeded resampling bootstrap with many resamples must land on the closed form within a bin or two.
    const values: number[] = [];
    let s = 42;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
    for (let i = 0; i < 400; i++) values.push(0.5 + next());
    const h: Histogram = {};
    for (const v of values) addTo(h, binOf(v));
    const [lo, hi] = bootstrapInterval(h, 25) as [number, number];
    const sample: number[] = [];
    for (let b = 0; b < 4000; b++) {
      const r = Array.from({ length: values.length }, () => values[Math.floor(next() * values.length)] as number).sort(
        (x, y) => x - y,
      );
      sample.push(r[Math.ceil(0.25 * r.length) - 1] as number);
    }
    sample.sort((x, y) => x - y);
    expect(Math.abs((sample[Math.floor(0.025 * sample.length)] as number) - lo)).toBeLessThan(0.006);
    expect(Math.abs((sample[Math.floor(0.975 * sample.length)] as number) - hi)).toBeLessThan(0.006);
  });
});
