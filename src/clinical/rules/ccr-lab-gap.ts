import type { AnalyteId } from '../knowledge';
import type { OrderSuggestion, Reason } from '../types';
import { findMeasure } from '../measures';
import { missing } from '../context';
import { labText, round } from '../format';
import { ccrConfounders } from './ccr-confounders';
import { akiPattern } from './low-ccr';
import type { RuleContext } from './rule';

/**
 * Whether a creatinine/cystatin C pair, once complete, could be read at all: the CCR rule is on, the patient is in
 * its age range, the kidney-function estimate on file is above its renal gate, creatinine is steady, and nothing
 * that suppresses the ratio is present. Only then does any card suggest the missing lab.
 */
export function ccrUsable(ctx: RuleContext): { ok: boolean; reasons: Reason[] } {
  const k = ctx.knowledge;
  const r = k.rules['low-ccr'];
  const reasons: Reason[] = [];
  if (!r.enabled) return { ok: false, reasons: [{ code: 'disabled', text: 'the creatinine/cystatin C rule is disabled' }] };
  const age = ctx.ageNow;
  if (age === undefined || age < Math.max(r.minAgeYears, k.ageGate.adultAgeYears)) {
    reasons.push({ code: 'age-below-minimum', text: `the muscle signal applies from age ${r.minAgeYears}`, params: { minimum: r.minAgeYears, ...(age !== undefined ? { age } : {}) } });
  }
  if (missing(ctx.context, 'ccr-labs').length) reasons.push({ code: 'context-unavailable', text: 'creatinine and cystatin C results could not be read' });
  const creat = ctx.selection.inWindow.creatinine[0];
  const cys = ctx.selection.inWindow['cystatin-c'][0];
  const egfr = creat ? findMeasure(ctx.measures, 'egfr-cr-2021') : findMeasure(ctx.measures, 'egfr-cys-2012');
  // With neither result on file, the pair ordered together brings its own kidney-function estimate and the CCR
  // card applies the renal gate to it; with one on file, the gate is applied now.
  if (!creat && !cys) {
    // nothing to check yet
  } else if (!egfr) {
    reasons.push({ code: 'egfr-unknown', text: 'no kidney-function estimate could be computed (no result, or sex or age unknown), so the ratio could not be read' });
  } else if (egfr.value < r.minEgfrCrCys) {
    reasons.push({
      code: 'egfr-below-minimum',
      text: `${egfr.display} ${round(egfr.value, egfr.unit)} mL/min/1.73 m² is below ${r.minEgfrCrCys}: the ratio is not interpretable outside normal kidney function`,
      params: { measure: egfr.code, value: Number(egfr.value.toFixed(1)), minimum: r.minEgfrCrCys },
    });
  }
  if (creat && akiPattern(ctx.selection.inWindow.creatinine, creat, r.aki)) {
    reasons.push({ code: 'aki-pattern', text: 'creatinine is not in a steady state (KDIGO AKI pattern)' });
  }
  reasons.push(...ccrConfounders(ctx, ctx.asOf.getTime()).reasons);
  return { ok: reasons.length === 0, reasons };
}

const NAMES: Partial<Record<AnalyteId, string>> = { creatinine: 'creatinine', 'cystatin-c': 'cystatin C' };

/** "No cystatin C in the last 12 months", unless one is on file and was rejected: then say so, with the reason. */
function noneText(ctx: RuleContext, analyte: 'creatinine' | 'cystatin-c', window: string): string {
  const since = ctx.selection.sinceMs;
  const bad = ctx.rejected.filter((x) => x.analyte === analyte && x.reason !== 'belongs to another patient' && (x.effectiveMs === undefined || x.effectiveMs >= since));
  const name = NAMES[analyte] as string;
  if (!bad.length) return `No ${name} ${window}.`;
  return `No usable ${name} ${window}: ${bad.map((x) => `${x.reference} was rejected (${x.reason})`).join('; ')}.`;
}

/**
 * Which half of the creatinine/cystatin C pair is missing, and the order that completes it. Shared by the
 * missing-lab card and by the bone cards that offer the labs at the same time ("creatinine + cystatin C if the
 * CCR cannot be computed"), so they say the same thing.
 */
export interface CcrLabGap {
  kind: 'cystatin' | 'creatinine' | 'apart' | 'neither';
  statements: string[];
  suggestion: OrderSuggestion;
}

export function ccrLabGap(ctx: RuleContext): CcrLabGap | undefined {
  const k = ctx.knowledge;
  if (ctx.selection.ccrPair) return undefined;
  const creat = ctx.selection.inWindow.creatinine[0];
  const cys = ctx.selection.inWindow['cystatin-c'][0];
  const window = `in the last ${k.lookbackMonths} months`;
  if (creat && !cys) {
    return {
      kind: 'cystatin',
      statements: [`Newest creatinine ${window}: ${labText(creat)}.`, noneText(ctx, 'cystatin-c', window)],
      suggestion: { label: 'Order cystatin C (serum)', orders: [k.orders['cystatin-c']] },
    };
  }
  if (cys && !creat) {
    return {
      kind: 'creatinine',
      statements: [`Newest cystatin C ${window}: ${labText(cys)}.`, noneText(ctx, 'creatinine', window)],
      suggestion: { label: 'Order creatinine (serum)', orders: [k.orders.creatinine] },
    };
  }
  const both = { label: 'Order creatinine and cystatin C on one draw', orders: [k.orders.creatinine, k.orders['cystatin-c']] };
  if (creat && cys) {
    return {
      kind: 'apart',
      statements: [`Newest creatinine ${window}: ${labText(creat)}.`, `Newest cystatin C ${window}: ${labText(cys)}.`, 'They were not drawn together.'],
      suggestion: both,
    };
  }
  return { kind: 'neither', statements: [noneText(ctx, 'creatinine', window), noneText(ctx, 'cystatin-c', window)], suggestion: both };
}
