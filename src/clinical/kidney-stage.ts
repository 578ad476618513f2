import type { Knowledge } from './knowledge';
import { render } from './text';
import type { Measure } from './types';

/** The measures that estimate GFR, and so take a KDIGO G-stage wherever they are shown. */
const EGFR_MEASURES = new Set<Measure['code']>(['egfr-cr-2021', 'egfr-cr-cys-2021', 'egfr-cys-2012']);

/**
 * The KDIGO GFR category of an eGFR [evidence: kdigo-2012-ckd], from the knowledge file's stages: the first stage
 * whose lower bound the value reaches, stages listed from the highest bound down. The value is taken as the card
 * rounds it, so a card never reads "60 mL/min/1.73 m²: G3a".
 */
export function egfrStage(k: Knowledge, value: number): Knowledge['egfrStages']['stages'][number] | undefined {
  const shown = Math.round(value);
  return k.egfrStages.stages.find((s) => shown >= s.atLeast);
}

/** "KDIGO G2 (mildly decreased)" for an eGFR measure; undefined for any other measure. */
export function egfrStageText(k: Knowledge, m: Pick<Measure, 'code' | 'value'>): string | undefined {
  if (!EGFR_MEASURES.has(m.code)) return undefined;
  const s = egfrStage(k, m.value);
  if (!s) return undefined;
  return render(k.egfrStages.text, { stage: s.stage, words: s.words });
}
