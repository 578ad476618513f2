/*
 * HOMA1 (Matthews DR et al., Diabetologia 1985), insulin in µIU/mL and glucose in mmol/L
 * [evidence: matthews-1985]. HOMA-β is undefined at glucose ≤ 3.5 mmol/L, where its denominator is ≤ 0.
 */

export const HOMA_FORMULAS = {
  'homa-ir': 'HOMA-IR = fasting insulin (µIU/mL) × fasting glucose (mmol/L) ÷ 22.5',
  'homa-beta': 'HOMA-β = 20 × fasting insulin (µIU/mL) ÷ (fasting glucose (mmol/L) − 3.5), in %',
} as const;

export function homaIr(insulinMicroIU: number, glucoseMmolL: number): number {
  return (insulinMicroIU * glucoseMmolL) / 22.5;
}

export function homaBeta(insulinMicroIU: number, glucoseMmolL: number): number | undefined {
  if (glucoseMmolL <= 3.5) return undefined;
  return (20 * insulinMicroIU) / (glucoseMmolL - 3.5);
}
