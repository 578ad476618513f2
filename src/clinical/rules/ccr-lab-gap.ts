import type { OrderSuggestion } from '../types';
import { labText } from '../format';
import type { RuleContext } from './rule';

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
      statements: [`Newest creatinine ${window}: ${labText(creat)}.`, `No cystatin C ${window}.`],
      suggestion: { label: 'Order cystatin C (serum)', orders: [k.orders['cystatin-c']] },
    };
  }
  if (cys && !creat) {
    return {
      kind: 'creatinine',
      statements: [`Newest cystatin C ${window}: ${labText(cys)}.`, `No creatinine ${window}.`],
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
  return { kind: 'neither', statements: [`No creatinine or cystatin C ${window}.`], suggestion: both };
}
