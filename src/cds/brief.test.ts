import { describe, expect, it } from 'vitest';
import { briefFrom, sharedText } from '../clinical/text';
import type { Finding } from '../clinical/types';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { DETAIL_LIMIT, renderDetail } from './brief';

const k = loadKnowledgeSync();
// The engine puts the knowledge's closing line on every finding's brief; these hand-made findings do the same.
const advisory = sharedText(k, 'advisory');

function finding(over: Partial<Finding> = {}): Finding {
  return {
    ruleId: 'glucocorticoid-bone',
    indicator: 'warning',
    summary: 'Long-term glucocorticoid: fracture-risk assessment recommended',
    statements: [
      'Prednisone 7.5 mg oral tablet (MedicationRequest/rx-1): prednisone 7.5 mg/day (7.5 mg × 1 per 1 d); authoredOn 2026-07-05 + 30 d supply × 6 fills; recognised by RxNorm 8640 (prednisone).',
    ],
    measures: [],
    context: [],
    caveats: [],
    citations: [],
    suggestions: [{ label: 'Order DXA with vertebral fracture assessment (VFA)', orders: [] }],
    brief: {
      advisory,
      ...briefFrom(k.rules['glucocorticoid-bone'].text),
      found: ['**Prednisone 7.5 mg/day** since 2026-07-05 (MedicationRequest/rx-1).'],
    },
    ...over,
  };
}

describe('a card detail', () => {
  it('stays within 600 characters however many lines the rule and the attached rules give, keeping why, what to do and the advisory line', () => {
    const long = Array.from(
      { length: 40 },
      (_, i) => `**Line ${i}**: 25-OH vitamin D 14 ng/mL and more words to fill.`,
    );
    const d = renderDetail(
      finding({
        brief: { advisory, ...briefFrom(k.rules['glucocorticoid-bone'].text), found: long },
        briefContext: long,
      }),
    );
    expect(d.length).toBeLessThanOrEqual(DETAIL_LIMIT);
    expect(d).toContain('(ACR 2022)');
    expect(d).toContain('Order DXA with vertebral fracture assessment');
    expect(d.endsWith('*Advisory, not a diagnosis.*')).toBe(true);
  });

  it('never drops a "could not check" line for length, dropping other found lines instead', () => {
    const unchecked = '**Could not check osteoporosis therapy history**: look before acting.';
    const filler = Array.from(
      { length: 12 },
      (_, i) => `Line ${i} with 25-OH vitamin D 14 ng/mL and more words to fill.`,
    );
    const d = renderDetail(
      finding({
        brief: {
          advisory,
          ...briefFrom(k.rules['glucocorticoid-bone'].text),
          found: ['**Prednisone 10 mg/day** for 150 days.', ...filler, unchecked],
          unchecked: [unchecked],
        },
      }),
    );
    expect(d.length).toBeLessThanOrEqual(DETAIL_LIMIT);
    expect(d).toContain('Could not check osteoporosis therapy history');
    expect(d).toContain('Prednisone 10 mg/day');
    expect(d).not.toContain('Line 11');
  });

  it('takes whole lines in the rule’s order and then the attached ones, leaving out what does not fit rather than cutting a sentence', () => {
    const own = [
      '**CCR 0.60** (2 Nov 2026) is below the threshold 0.70 for women.',
      'Kidney function normal (eGFRcr-cys 83 mL/min/1.73 m²).',
    ];
    const attached = [
      'HOMA-IR 3.70, HOMA-β 146% (2 Nov 2026; context only).',
      `A long attached line ${'that goes on '.repeat(40)}.`,
    ];
    const d = renderDetail(
      finding({
        ruleId: 'low-ccr',
        brief: { advisory, ...briefFrom(k.rules['low-ccr'].text), found: own },
        briefContext: attached,
      }),
    );
    expect(d.length).toBeLessThanOrEqual(DETAIL_LIMIT);
    expect(d.startsWith(`${own.join(' ')} ${attached[0]}\n\n`)).toBe(true);
    expect(d).not.toContain('goes on');
    expect(d).not.toContain('…');
  });

  it('keeps references, ISO dates and working notes off the card even if a template or a value carries them', () => {
    const d = renderDetail(
      finding({
        briefContext: [
          '25-OH vitamin D 14.0 ng/mL (2026-11-12, Observation/v) is below 20 ng/mL: replete (IOM uses 20 ng/mL [M]; clinical.md \u00a75 R6).',
        ],
      }),
    );
    expect(d).not.toMatch(/MedicationRequest\/|Observation\/|\[M\]|\u00a7|clinical\.md/);
    expect(d).toContain('**Prednisone 7.5 mg/day** since 5 Jul 2026.');
    expect(d).toContain('25-OH vitamin D 14.0 ng/mL (12 Nov 2026) is below 20 ng/mL');
  });

  it('says what the rule gives in its brief, in its words, escaped but for bold', () => {
    const d = renderDetail(
      finding({
        suggestions: [],
        brief: {
          advisory,
          found: ['**CCR 0.60** (2 Nov 2026) <b>x</b>'],
          why: 'A lower ratio went with more fractures.',
          cite: 'He 2024',
          action: 'Check grip strength.',
        },
      }),
    );
    expect(d).toBe(
      '**CCR 0.60** (2 Nov 2026) \\<b\\>x\\</b\\>\n\nA lower ratio went with more fractures (He 2024).\n\nCheck grip strength. *Advisory, not a diagnosis.*',
    );
  });

  it("closes with the advisory line in the knowledge's words, so a site that rewords it changes every card", () => {
    const d = renderDetail(
      finding({ brief: { advisory: 'Zur Information, keine Diagnose.', why: 'Why.', cite: 'X 2024' } }),
    );
    expect(d.endsWith('*Zur Information, keine Diagnose.*')).toBe(true);
  });

  it('leads with the action the rule gives and follows it with the suggested orders', () => {
    const d = renderDetail(
      finding({
        brief: {
          advisory,
          why: 'A lower ratio went with more fractures.',
          cite: 'He 2024',
          action: 'Check grip strength.',
        },
      }),
    );
    expect(d).toContain(
      'Check grip strength; order DXA with vertebral fracture assessment. *Advisory, not a diagnosis.*',
    );
  });
});
