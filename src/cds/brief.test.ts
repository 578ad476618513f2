import { describe, expect, it } from 'vitest';
import type { Finding } from '../clinical/types';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { briefFrom } from '../clinical/text';
import { DETAIL_LIMIT, renderDetail } from './brief';

const k = loadKnowledgeSync();

function finding(over: Partial<Finding> = {}): Finding {
  return {
    ruleId: 'glucocorticoid-bone',
    indicator: 'warning',
    summary: 'Long-term glucocorticoid: fracture-risk assessment recommended',
    statements: ['Prednisone 7.5 mg oral tablet (MedicationRequest/rx-1): prednisone 7.5 mg/day (7.5 mg × 1 per 1 d); authoredOn 2026-07-05 + 30 d supply × 6 fills; recognised by RxNorm 8640 (prednisone).'],
    measures: [],
    context: [],
    caveats: [],
    citations: [],
    suggestions: [{ label: 'Order DXA with vertebral fracture assessment (VFA)', orders: [] }],
    brief: briefFrom(k.rules['glucocorticoid-bone'].text),
    ...over,
  };
}

describe('a card detail', () => {
  it('stays within 600 characters however much the rule says, keeping why, what to do and the advisory line', () => {
    const long = Array.from({ length: 40 }, (_, i) => `Statement ${i} about 25-OH vitamin D 14 ng/mL on 2026-11-12 (Observation/v-${i}) and more words to fill.`);
    const d = renderDetail(finding({ statements: long, context: long }));
    expect(d.length).toBeLessThanOrEqual(DETAIL_LIMIT);
    expect(d).toContain('(ACR 2022)');
    expect(d).toContain('Order DXA with vertebral fracture assessment');
    expect(d.endsWith('*Advisory, not a diagnosis.*')).toBe(true);
  });

  it('keeps the decisive value in bold when the first finding must be shortened to fit', () => {
    const first = `CCR 0.60 is below the threshold 0.70 for women; the draw gives: ${Array.from({ length: 30 }, (_, i) => `measure ${i} 1.0 mg/dL`).join(', ')}.`;
    const d = renderDetail(finding({ ruleId: 'low-ccr', statements: [first] }));
    expect(d.length).toBeLessThanOrEqual(DETAIL_LIMIT);
    expect(d.startsWith('**CCR 0.60** is below')).toBe(true);
    expect(d.split('**')).toHaveLength(3);
  });

  it('leaves references, code-system codes, dose arithmetic and working notes to the app, and writes dates as clinicians do', () => {
    const d = renderDetail(finding({ context: ['25-OH vitamin D 14.0 ng/mL (2026-11-12, Observation/v) is below 20 ng/mL: replete (IOM uses 20 ng/mL [M]; clinical.md §5 R6).'] }));
    expect(d).not.toMatch(/MedicationRequest\/|Observation\/|RxNorm|×|\[M\]|§|clinical\.md|authoredOn/);
    expect(d).toContain('**Prednisone 7.5 mg**');
    expect(d).toContain('5 Jul 2026');
    expect(d).toContain('25-OH vitamin D 14.0 ng/mL (12 Nov 2026) is below 20 ng/mL');
  });

  it('drops the recognised-by clause whole when the concept’s name has brackets of its own', () => {
    const d = renderDetail(finding({ ruleId: 'endocrine-therapy-bone', brief: briefFrom(k.rules['endocrine-therapy-bone'].text), statements: ['leuprolide 22.5 mg syringe (MedicationRequest/l), authoredOn 2026-08-20, still active today (no supply length given); recognised by RxNorm 1115467 (leuprorelin (leuprolide)).'] }));
    expect(d).toContain('still active today (no supply length given).');
    expect(d).not.toMatch(/\)\)|leuprorelin/);
  });

  it('says what the rule gives in its brief, in its words, escaped but for bold', () => {
    const d = renderDetail(finding({ suggestions: [], brief: { found: ['**CCR 0.60** (2 Nov 2026) <b>x</b>'], why: 'A lower ratio went with more fractures.', cite: 'He 2024', action: 'Check grip strength.' } }));
    expect(d).toBe('**CCR 0.60** (2 Nov 2026) \\<b\\>x\\</b\\>\n\nA lower ratio went with more fractures (He 2024).\n\nCheck grip strength. *Advisory, not a diagnosis.*');
  });

  it('leads with the action the rule gives and follows it with the suggested orders', () => {
    const d = renderDetail(finding({ brief: { why: 'A lower ratio went with more fractures.', cite: 'He 2024', action: 'Check grip strength.' } }));
    expect(d).toContain('Check grip strength; order DXA with vertebral fracture assessment. *Advisory, not a diagnosis.*');
  });
});
