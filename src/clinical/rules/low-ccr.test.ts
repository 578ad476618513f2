import { describe, expect, it } from 'vitest';
import { concept, condition, daysAgo, dxaReport, lab, patient } from '../../demo/builders';
import { sharedText } from '../text';
import { cards, codes, crp, k, lowPair, NOW, orderCodes, outcomeOf, run, textUnit, woman } from './test-records';

describe('low-ccr', () => {
  it('fires for a woman of 80 with a low same-draw ratio and suggests a DXA', () => {
    const e = run(woman(80), lowPair());
    expect(cards(e)).toEqual(['low-ccr']);
    expect(orderCodes(e)).toContain(k.orders.dxa.code);
  });

  it('shows the ratio to as many decimals as a calibrated threshold, so 0.685 never reads as "0.69 below 0.69"', () => {
    const site = structuredClone(k);
    site.rules['low-ccr'].threshold = {
      ...site.rules['low-ccr'].threshold,
      below: { female: 0.686, male: 0.83 },
      provisional: false,
    };
    const pair = [
      lab('cr', 'p', 'creatinineMass', 0.685, daysAgo(NOW, 5)),
      lab('cys', 'p', 'cystatinC', 1.0, daysAgo(NOW, 5)),
    ];
    const e = run(woman(80), pair, { knowledge: site });
    expect(cards(e)).toEqual(['low-ccr']);
    const f = e.findings.find((x) => x.ruleId === 'low-ccr')!;
    expect(f.brief?.found?.[0]).toMatch(/^\*\*CCR 0\.685\*\* .* is below the threshold 0\.686 for women\.$/);
    expect(f.statements[0]).toMatch(/^CCR 0\.685 is below the threshold 0\.686 for women/);
    expect(f.carryOverBrief).toContain('**CCR 0.685**, below 0.686');
  });

  it('suppresses below the renal gate with a neutral code and the numbers as parameters', () => {
    const e = run(woman(80), [
      lab('cr', 'p', 'creatinineMass', 0.6, daysAgo(NOW, 5)),
      lab('cys', 'p', 'cystatinC', 1.8, daysAgo(NOW, 5)),
    ]);
    const r = outcomeOf(e, 'low-ccr').reasons.find((x) => x.code === 'egfr-below-minimum');
    expect(r?.params).toMatchObject({ measure: 'egfr-cr-cys-2021', minimum: 60 });
  });

  it('suppresses on a CRP reported as ">160 mg/L": the bound alone is above 10', () => {
    const e = run(woman(80), [...lowPair(), crp('crp', 160, daysAgo(NOW, 12), '>')]);
    expect(outcomeOf(e, 'low-ccr').status).toBe('suppressed');
    expect(codes(e, 'low-ccr')).toContain('crp-high');
  });

  it('fires on a CRP reported as "<5 mg/L": the bound alone rules inflammation out', () => {
    const e = run(woman(80), [...lowPair(), crp('crp', 5, daysAgo(NOW, 12), '<')]);
    expect(cards(e)).toEqual(['low-ccr']);
  });

  it('says a CRP reported as "<50 mg/L" could not be checked and, by default, stays quiet', () => {
    const e = run(woman(80), [...lowPair(), crp('crp', 50, daysAgo(NOW, 12), '<')]);
    expect(outcomeOf(e, 'low-ccr').status).toBe('suppressed');
    expect(codes(e, 'low-ccr')).toContain('crp-unreadable');
  });

  it('with uncheckedSuppresses off, fires but never claims the unreadable CRP was checked', () => {
    const site = structuredClone(k);
    site.rules['low-ccr'].confounders.uncheckedSuppresses = false;
    const e = run(woman(80), [...lowPair(), textUnit(crp('crp', 30, daysAgo(NOW, 12)), 'mg/furlong')], {
      knowledge: site,
    });
    const f = e.findings.find((x) => x.ruleId === 'low-ccr')!;
    const checked = f.caveats.find((c) => c.startsWith('Checked and not found'))!;
    expect(checked).not.toMatch(/CRP/);
    expect(f.caveats.join(' ')).toMatch(/Could not be checked: CRP Observation\/crp/);
  });

  it('reads a BMI sent as "kg/m^2" and suppresses at 42', () => {
    const bmi = textUnit(lab('bmi', 'p', 'bmi', 42, daysAgo(NOW, 30)), 'kg/m^2');
    const e = run(woman(80), [...lowPair(), bmi]);
    expect(codes(e, 'low-ccr')).toContain('bmi-extreme');
  });

  it.each([
    [
      'cirrhosis (ICD-10-CM K70.30)',
      concept('icd10cm', 'K70.30', 'Alcoholic cirrhosis of liver without ascites'),
      'liver-disease',
    ],
    [
      'CKD stage 4 (SNOMED CT 431857002)',
      concept('sct', '431857002', 'Chronic kidney disease stage 4'),
      'advanced-ckd',
    ],
    [
      'CKD stage 4 (ICD-10-CM N18.4)',
      concept('icd10cm', 'N18.4', 'Chronic kidney disease, stage 4 (severe)'),
      'advanced-ckd',
    ],
    [
      'muscular dystrophy (ICD-10-CM G71.01)',
      concept('icd10cm', 'G71.01', 'Duchenne or Becker muscular dystrophy'),
      'neuromuscular-disease',
    ],
    [
      'acute kidney injury (SNOMED CT 14669001)',
      concept('sct', '14669001', 'Acute kidney injury'),
      'acute-kidney-injury',
    ],
    [
      'lung cancer (ICD-10-CM C34.90)',
      concept('icd10cm', 'C34.90', 'Malignant neoplasm of unspecified part of unspecified bronchus or lung'),
      'malignancy',
    ],
    ['malignancy (SNOMED CT 363346000)', concept('sct', '363346000', 'Malignant neoplastic disease'), 'malignancy'],
  ])('is suppressed by %s', (_name, code, reason) => {
    const e = run(woman(80), [...lowPair(), condition('c', 'p', code)]);
    expect(outcomeOf(e, 'low-ccr').status).toBe('suppressed');
    expect(codes(e, 'low-ccr')).toContain(reason);
  });

  it('does not suggest a DXA when one is on file within 24 months', () => {
    const e = run(woman(80), [...lowPair(), dxaReport('dxa', 'p', daysAgo(NOW, 200))]);
    expect(cards(e)).toEqual(['low-ccr']);
    expect(orderCodes(e)).not.toContain(k.orders.dxa.code);
    expect(e.findings[0]!.caveats.join(' ')).toMatch(/No DXA suggested: one is on file/);
  });

  it('is quiet for a 16-year-old and for a patient without a birth date, saying why', () => {
    expect(codes(run(patient('p', 'female', '2010-02-01'), lowPair()), 'low-ccr')).toEqual(['age-below-adult']);
    expect(codes(run(patient('p', 'female', undefined), lowPair()), 'low-ccr')).toEqual(['age-unknown']);
  });

  it('ignores a result dated after the evaluation time', () => {
    const future = [
      lab('cr', 'p', 'creatinineMass', 0.6, '2026-12-20T08:00:00Z'),
      lab('cys', 'p', 'cystatinC', 1.0, '2026-12-20T08:10:00Z'),
    ];
    const e = run(woman(80), future);
    expect(e.measures).toEqual([]);
    expect(e.rejected.map((r) => r.reason).join(' ')).toMatch(/after the evaluation time/);
  });
});

describe('low-CCR card and a high-sensitivity CRP', () => {
  it('is suppressed by an hs-CRP (LOINC 30522-7) above 10 mg/L, as by any CRP', () => {
    const hs = crp('hs', 14, daysAgo(NOW, 12));
    const e = run(woman(80), [
      ...lowPair(),
      { ...hs, code: { coding: [{ system: 'http://loinc.org', code: '30522-7' }] } },
    ]);
    expect(codes(e, 'low-ccr')).toContain('crp-high');
  });
});

describe('low-ccr with context that could not be read', () => {
  it('fires when only second sources (thyroid results, pregnancy tests) are unknown, naming each as not checked', () => {
    const e = run(woman(73), lowPair(), { unavailable: ['thyroid-labs', 'pregnancy-tests', 'palliative-care'] });
    expect(cards(e)).toEqual(['low-ccr']);
    const f = e.findings.find((x) => x.ruleId === 'low-ccr')!;
    for (const d of ['thyroid-labs', 'pregnancy-tests'] as const) {
      const words = sharedText(k, `domain-${d}`);
      expect(
        f.caveats.some((c) => c.includes(words) && /could not check/i.test(c)),
        d,
      ).toBe(true);
      expect(
        f.brief?.found?.some((l) => l.includes(words)),
        d,
      ).toBe(true);
    }
  });

  it('stays quiet when a second source is unknown and so is the problem list it complements', () => {
    const e = run(woman(73), lowPair(), { unavailable: ['thyroid-labs', 'conditions'] });
    expect(cards(e)).toEqual([]);
    expect(codes(e, 'low-ccr')).toContain('context-unavailable');
  });

  it('stays quiet when any confounder domain that is the only source of its confounders is unknown', () => {
    const secondary = Object.keys(k.rules['low-ccr'].confounders.secondarySources);
    const primaries = (['medications', 'conditions', 'crp', 'bmi'] as const).filter((d) => !secondary.includes(d));
    expect(primaries).toHaveLength(4);
    for (const d of primaries) {
      const e = run(woman(73), lowPair(), { unavailable: [d] });
      expect(cards(e), d).toEqual([]);
      expect(codes(e, 'low-ccr'), d).toContain('context-unavailable');
    }
  });
});
