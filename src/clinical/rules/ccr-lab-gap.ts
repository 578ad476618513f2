import { domainText, missing } from '../context';
import { day, labText, round, unitText } from '../format';
import { findMeasure } from '../measures';
import { cardText, reasonFrom } from '../text';
import type { OrderSuggestion, Reason } from '../types';
import { ccrConfounders } from './ccr-confounders';
import { akiReason, creatinineChange } from './low-ccr';
import type { RuleContext } from './rule';

/**
 * Whether a creatinine/cystatin C pair, once complete, could be read at all: the CCR rule is on, the patient is in
 * its age range, the kidney-function estimate on file is above its renal gate, creatinine is steady, and nothing
 * that suppresses the ratio is present. Only then does any card suggest the missing lab.
 */
export function ccrUsable(ctx: RuleContext): { ok: boolean; reasons: Reason[] } {
  const k = ctx.knowledge;
  const r = k.rules['low-ccr'];
  // The words are the missing-lab card's: it is the one that says why it does not ask for the pair.
  const text = k.rules['missing-ccr-input'].text;
  const reasons: Reason[] = [];
  if (!r.enabled) return { ok: false, reasons: [reasonFrom(text, 'disabled', {}, 'ccr-rule-disabled')] };
  const age = ctx.ageNow;
  if (age === undefined || age < Math.max(r.minAgeYears, k.ageGate.adultAgeYears)) {
    const words = reasonFrom(text, 'age-below-minimum', { minimum: r.minAgeYears });
    reasons.push({ ...words, params: { minimum: r.minAgeYears, ...(age !== undefined ? { age } : {}) } });
  }
  if (missing(ctx.context, 'ccr-labs').length)
    reasons.push(reasonFrom(text, 'context-unavailable', { domain: domainText(ctx.knowledge, 'ccr-labs') }));
  const creat = ctx.selection.inWindow.creatinine[0];
  const cys = ctx.selection.inWindow['cystatin-c'][0];
  const egfr = creat ? findMeasure(ctx.measures, 'egfr-cr-2021') : findMeasure(ctx.measures, 'egfr-cys-2012');
  // With neither result on file, the pair ordered together brings its own kidney-function estimate and the CCR
  // card applies the renal gate to it; with one on file, the gate is applied now.
  if (!creat && !cys) {
    // nothing to check yet
  } else if (!egfr) {
    reasons.push(reasonFrom(text, 'egfr-unknown'));
  } else if (egfr.value < r.minEgfrCrCys) {
    const words = reasonFrom(text, 'egfr-below-minimum', {
      measure: egfr.display,
      value: round(egfr.value, egfr.unit),
      minimum: r.minEgfrCrCys,
    });
    reasons.push({
      ...words,
      params: { measure: egfr.code, value: Number(egfr.value.toFixed(1)), minimum: r.minEgfrCrCys },
    });
  }
  const change = creat ? creatinineChange(ctx.selection.inWindow.creatinine, creat, r.aki) : undefined;
  if (change) reasons.push(akiReason(text, change));
  reasons.push(...ccrConfounders(ctx, ctx.asOf.getTime()).reasons);
  return { ok: reasons.length === 0, reasons };
}

const NAMES: Record<'creatinine' | 'cystatin-c', string> = { creatinine: 'creatinine', 'cystatin-c': 'cystatin' };

/** "No cystatin C in the last 12 months", unless one is on file and was rejected: then say so, with the reason. */
function noneText(ctx: RuleContext, analyte: 'creatinine' | 'cystatin-c'): string {
  const text = ctx.knowledge.rules['missing-ccr-input'].text;
  const since = ctx.selection.sinceMs;
  const bad = ctx.rejected.filter(
    (x) => x.analyte === analyte && !x.otherPatient && (x.effectiveMs === undefined || x.effectiveMs >= since),
  );
  const words = { analyte: cardText(text, NAMES[analyte]), months: ctx.knowledge.lookbackMonths };
  if (!bad.length) return cardText(text, 'none', words);
  return cardText(text, 'noneRejected', {
    ...words,
    rejected: bad.map((x) => cardText(text, 'rejected', { reference: x.reference, why: x.reason })).join('; '),
  });
}

/**
 * Which half of the creatinine/cystatin C pair is missing, and the order that completes it. Shared by the
 * missing-lab card and by the bone cards that offer the labs at the same time ("creatinine + cystatin C if the
 * CCR cannot be computed"), so they say the same thing.
 */
export interface CcrLabGap {
  kind: 'cystatin' | 'creatinine' | 'apart' | 'neither';
  statements: string[];
  /** The gap as a card says it: one sentence, the missing half in bold. */
  found: string;
  suggestion: OrderSuggestion;
}

export function ccrLabGap(ctx: RuleContext): CcrLabGap | undefined {
  const k = ctx.knowledge;
  if (ctx.selection.ccrPair) return undefined;
  const text = k.rules['missing-ccr-input'].text;
  const creat = ctx.selection.inWindow.creatinine[0];
  const cys = ctx.selection.inWindow['cystatin-c'][0];
  const newest = (analyte: 'creatinine' | 'cystatin-c', lab: NonNullable<typeof creat>) =>
    cardText(text, 'newest', {
      analyte: cardText(text, NAMES[analyte]),
      months: k.lookbackMonths,
      value: labText(lab),
    });
  const value = (lab: NonNullable<typeof creat>) => `${round(lab.value, lab.unit)} ${unitText(lab.unit)}`;
  const since = ctx.selection.sinceMs;
  const unusable = (analyte: 'creatinine' | 'cystatin-c') =>
    ctx.rejected.some(
      (x) => x.analyte === analyte && !x.otherPatient && (x.effectiveMs === undefined || x.effectiveMs >= since),
    );
  const half = (
    key: 'Cystatin' | 'Creatinine',
    missingOne: 'creatinine' | 'cystatin-c',
    lab: NonNullable<typeof creat>,
  ) =>
    cardText(text, `found${key}${unusable(missingOne) ? 'Unusable' : ''}`, {
      months: k.lookbackMonths,
      value: value(lab),
      date: day(lab.effective),
    });
  if (creat && !cys) {
    return {
      kind: 'cystatin',
      statements: [newest('creatinine', creat), noneText(ctx, 'cystatin-c')],
      found: half('Cystatin', 'cystatin-c', creat),
      suggestion: { label: cardText(text, 'orderCystatin'), orders: [k.orders['cystatin-c']] },
    };
  }
  if (cys && !creat) {
    return {
      kind: 'creatinine',
      statements: [newest('cystatin-c', cys), noneText(ctx, 'creatinine')],
      found: half('Creatinine', 'creatinine', cys),
      suggestion: { label: cardText(text, 'orderCreatinine'), orders: [k.orders.creatinine] },
    };
  }
  const both = { label: cardText(text, 'orderBoth'), orders: [k.orders.creatinine, k.orders['cystatin-c']] };
  if (creat && cys) {
    return {
      kind: 'apart',
      statements: [newest('creatinine', creat), newest('cystatin-c', cys), cardText(text, 'apart')],
      found: cardText(text, 'foundApart', {
        creatinine: value(creat),
        creatinineDate: day(creat.effective),
        cystatin: value(cys),
        cystatinDate: day(cys.effective),
      }),
      suggestion: both,
    };
  }
  return {
    kind: 'neither',
    statements: [noneText(ctx, 'creatinine'), noneText(ctx, 'cystatin-c')],
    found: cardText(text, 'foundNeither', { months: k.lookbackMonths }),
    suggestion: both,
  };
}
