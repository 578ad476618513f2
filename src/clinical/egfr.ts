import type { Sex } from './types';

/*
 * CKD-EPI equations, race-free. Scr is IDMS-traceable creatinine in mg/dL, Scys standardised
 * cystatin C in mg/L, age in completed years on the day of the specimen.
 * Sources: Inker LA et al. NEJM 2021 and 2012, as given on the National Kidney Foundation's equation pages [evidence: inker-2021, inker-2012].
 */

export const EGFR_UNIT = 'mL/min/{1.73_m2}';

export const FORMULAS = {
  'egfr-cr-2021':
    'CKD-EPI 2021 creatinine: 142 × min(Scr/κ,1)^α × max(Scr/κ,1)^−1.200 × 0.9938^age × 1.012 [female]; κ 0.7 F / 0.9 M, α −0.241 F / −0.302 M',
  'egfr-cr-cys-2021':
    'CKD-EPI 2021 creatinine–cystatin C: 135 × min(Scr/κ,1)^α × max(Scr/κ,1)^−0.544 × min(Scys/0.8,1)^−0.323 × max(Scys/0.8,1)^−0.778 × 0.9961^age × 0.963 [female]; κ 0.7 F / 0.9 M, α −0.219 F / −0.144 M',
  'egfr-cys-2012':
    'CKD-EPI 2012 cystatin C: 133 × min(Scys/0.8,1)^−0.499 × max(Scys/0.8,1)^−1.328 × 0.996^age × 0.932 [female]',
} as const;

export function egfrCr2021(scr: number, age: number, sex: Sex): number {
  const f = sex === 'female';
  const k = f ? 0.7 : 0.9;
  const a = f ? -0.241 : -0.302;
  const r = scr / k;
  return 142 * Math.min(r, 1) ** a * Math.max(r, 1) ** -1.2 * 0.9938 ** age * (f ? 1.012 : 1);
}

export function egfrCrCys2021(scr: number, scys: number, age: number, sex: Sex): number {
  const f = sex === 'female';
  const k = f ? 0.7 : 0.9;
  const a = f ? -0.219 : -0.144;
  const r = scr / k;
  const c = scys / 0.8;
  return (
    135 *
    Math.min(r, 1) ** a *
    Math.max(r, 1) ** -0.544 *
    Math.min(c, 1) ** -0.323 *
    Math.max(c, 1) ** -0.778 *
    0.9961 ** age *
    (f ? 0.963 : 1)
  );
}

export function egfrCys2012(scys: number, age: number, sex: Sex): number {
  const c = scys / 0.8;
  return 133 * Math.min(c, 1) ** -0.499 * Math.max(c, 1) ** -1.328 * 0.996 ** age * (sex === 'female' ? 0.932 : 1);
}
