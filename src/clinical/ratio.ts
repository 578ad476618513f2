/*
 * Creatinine (mg/dL) ÷ cystatin C (mg/L). The sarcopenia index is the same ratio × 100
 * (Kashani KB et al., Crit Care Med 2016) [evidence: kashani-2016].
 */
export const RATIO_FORMULAS = {
  ccr: 'CCR = serum creatinine (mg/dL) ÷ serum cystatin C (mg/L)',
  'sarcopenia-index': 'Sarcopenia index = serum creatinine (mg/dL) ÷ serum cystatin C (mg/L) × 100',
} as const;

export function ccr(creatinineMgDl: number, cystatinMgL: number): number {
  return creatinineMgDl / cystatinMgL;
}

export function sarcopeniaIndex(creatinineMgDl: number, cystatinMgL: number): number {
  return ccr(creatinineMgDl, cystatinMgL) * 100;
}
