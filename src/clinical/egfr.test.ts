import { describe, expect, it } from 'vitest';
import { egfrCr2021, egfrCrCys2021, egfrCys2012 } from './egfr';
import { homaBeta, homaIr } from './homa';
import { ccr, sarcopeniaIndex } from './ratio';

// The worked table of clinical.md §3.2 (computed there with egfr.py), reproduced to ±0.1.
const TABLE = [
  { sex: 'female', age: 55, scr: 0.9, scys: undefined, cr: 75.5 },
  { sex: 'female', age: 70, scr: 0.7, scys: 1.0, cr: 93.0, crcys: 83.1, cys: 69.6, si: 70.0 },
  { sex: 'female', age: 80, scr: 0.6, scys: 1.4, cr: 90.7, crcys: 63.6, cys: 42.8, si: 42.9 },
  { sex: 'male', age: 40, scr: 0.8, scys: 0.7, cr: 114.7, crcys: 122.6, cys: 121.1, si: 114.3 },
  { sex: 'male', age: 50, scr: 1.0, scys: 0.9, cr: 91.7, crcys: 95.7, cys: 93.1, si: 111.1 },
  { sex: 'male', age: 65, scr: 1.2, scys: 1.1, cr: 67.1, crcys: 69.9, cys: 67.1, si: 109.1 },
  { sex: 'male', age: 75, scr: 2.0, scys: 1.8, cr: 34.2, crcys: 34.7, cys: 33.5, si: 111.1 },
  { sex: 'female', age: 60, scr: 1.5, scys: 1.6, cr: 39.6, crcys: 39.6, cys: 38.8, si: 93.8 },
] as const;

describe('CKD-EPI equations reproduce the worked table of clinical.md §3.2', () => {
  for (const row of TABLE) {
    it(`gives ${row.cr} for eGFRcr 2021 in a ${row.age}-year-old ${row.sex} with creatinine ${row.scr} mg/dL`, () => {
      expect(Math.abs(egfrCr2021(row.scr, row.age, row.sex) - row.cr)).toBeLessThanOrEqual(0.1);
    });
    if ('crcys' in row) {
      it(`gives ${row.crcys} / ${row.cys} / SI ${row.si} with cystatin C ${row.scys} mg/L (${row.sex}, ${row.age})`, () => {
        expect(Math.abs(egfrCrCys2021(row.scr, row.scys, row.age, row.sex) - row.crcys)).toBeLessThanOrEqual(0.1);
        expect(Math.abs(egfrCys2012(row.scys, row.age, row.sex) - row.cys)).toBeLessThanOrEqual(0.1);
        expect(Math.abs(sarcopeniaIndex(row.scr, row.scys) - row.si)).toBeLessThanOrEqual(0.1);
        expect(ccr(row.scr, row.scys) * 100).toBeCloseTo(sarcopeniaIndex(row.scr, row.scys), 10);
      });
    }
  }
});

describe('HOMA1', () => {
  it('matches the worked HOMA examples (insulin 10 µIU/mL, glucose 95 mg/dL = 5.27 mmol/L)', () => {
    const g = 95 / 18.016;
    expect(homaIr(10, g)).toBeCloseTo(2.34, 2);
    expect(homaBeta(10, g)).toBeCloseTo(112.8, 1);
  });

  it('has no HOMA-β at or below glucose 3.5 mmol/L, where the denominator is not positive', () => {
    expect(homaBeta(10, 3.5)).toBeUndefined();
    expect(homaBeta(10, 3.2)).toBeUndefined();
  });
});
