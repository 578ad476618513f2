import { ageOn } from './dates';
import { EGFR_UNIT, egfrCr2021, egfrCrCys2021, egfrCys2012, FORMULAS } from './egfr';
import { HOMA_FORMULAS, homaBeta, homaIr } from './homa';
import type { Knowledge } from './knowledge';
import { ccr, RATIO_FORMULAS, sarcopeniaIndex } from './ratio';
import type { Selection } from './selection';
import type { LabValue, Measure, MeasureCode, MeasureSummary, PatientFacts } from './types';

export const MEASURE_DISPLAY: Record<MeasureCode, string> = {
  'sarcopenia-index': 'Sarcopenia index',
  ccr: 'Creatinine/cystatin C ratio (CCR)',
  'egfr-cr-2021': 'eGFRcr (CKD-EPI 2021)',
  'egfr-cr-cys-2021': 'eGFRcr-cys (CKD-EPI 2021)',
  'egfr-cys-2012': 'eGFRcys (CKD-EPI 2012)',
  'homa-ir': 'HOMA-IR',
  'homa-beta': 'HOMA-β',
  'prednisone-equivalent-dose': 'Prednisone-equivalent daily dose',
  'glucocorticoid-exposure': 'Glucocorticoid exposure at or above the dose threshold',
};

/** The order in which measures are listed everywhere (cards, CLI, app). */
export const MEASURE_ORDER: MeasureCode[] = [
  'sarcopenia-index',
  'ccr',
  'egfr-cr-2021',
  'egfr-cr-cys-2021',
  'egfr-cys-2012',
  'homa-ir',
  'homa-beta',
  'prednisone-equivalent-dose',
  'glucocorticoid-exposure',
];

function later(...labs: LabValue[]): string {
  return labs.reduce((a, b) => (b.effectiveMs > a.effectiveMs ? b : a)).effective;
}

function measure(
  code: MeasureCode,
  value: number | undefined,
  unit: string,
  inputs: LabValue[],
  formula: string,
  citations: string[],
  age?: number,
): Measure | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  return {
    code,
    display: MEASURE_DISPLAY[code],
    value,
    unit,
    derivedFrom: inputs.map((i) => i.reference),
    inputs,
    formula,
    citations,
    effective: later(...inputs),
    ...(age !== undefined ? { ageAtSpecimen: age } : {}),
  };
}

/**
 * Every measure the selected inputs allow. A measure that cannot be computed (missing input,
 * unknown sex, child, glucose at or below 3.5 mmol/L) is left out, never NaN.
 * The kidney equations are adult equations, and use the age on the day of the specimen.
 */
export function computeMeasures(patient: PatientFacts, sel: Selection, k: Knowledge): Measure[] {
  const out: (Measure | undefined)[] = [];
  const adult = Math.max(k.rules['low-ccr'].adultAgeYears, k.ageGate?.adultAgeYears ?? 18);
  const sex = patient.sex;
  const pair = sel.ccrPair;
  const creat = pair?.creatinine ?? sel.inWindow.creatinine[0];
  const cys = pair?.cystatin ?? sel.inWindow['cystatin-c'][0];

  if (pair) {
    const { creatinine: c, cystatin: y } = pair;
    out.push(
      measure(
        'sarcopenia-index',
        sarcopeniaIndex(c.value, y.value),
        '{index}',
        [c, y],
        RATIO_FORMULAS['sarcopenia-index'],
        ['kashani-2016'],
      ),
    );
    out.push(
      measure('ccr', ccr(c.value, y.value), '(mg/dL)/(mg/L)', [c, y], RATIO_FORMULAS.ccr, ['kashani-2016', 'he-2024']),
    );
  }
  if (sex && creat) {
    const age = ageOn(patient.birthDate, creat.effective);
    if (age !== undefined && age >= adult) {
      out.push(
        measure(
          'egfr-cr-2021',
          egfrCr2021(creat.value, age, sex),
          EGFR_UNIT,
          [creat],
          FORMULAS['egfr-cr-2021'],
          ['inker-2021'],
          age,
        ),
      );
    }
  }
  if (sex && pair) {
    const age = ageOn(patient.birthDate, later(pair.creatinine, pair.cystatin));
    if (age !== undefined && age >= adult) {
      out.push(
        measure(
          'egfr-cr-cys-2021',
          egfrCrCys2021(pair.creatinine.value, pair.cystatin.value, age, sex),
          EGFR_UNIT,
          [pair.creatinine, pair.cystatin],
          FORMULAS['egfr-cr-cys-2021'],
          ['inker-2021'],
          age,
        ),
      );
    }
  }
  if (sex && cys) {
    const age = ageOn(patient.birthDate, cys.effective);
    if (age !== undefined && age >= adult) {
      out.push(
        measure(
          'egfr-cys-2012',
          egfrCys2012(cys.value, age, sex),
          EGFR_UNIT,
          [cys],
          FORMULAS['egfr-cys-2012'],
          ['inker-2012'],
          age,
        ),
      );
    }
  }
  if (sel.homaPair) {
    const { insulin: i, glucose: g } = sel.homaPair;
    out.push(
      measure('homa-ir', homaIr(i.value, g.value), '{index}', [i, g], HOMA_FORMULAS['homa-ir'], ['matthews-1985']),
    );
    // Below the minimum fasting glucose HOMA-β's denominator nears zero and the number means nothing: not reported.
    if (g.value >= k.rules['homa-context'].minFastingGlucoseMmolL) {
      out.push(
        measure('homa-beta', homaBeta(i.value, g.value), '%', [i, g], HOMA_FORMULAS['homa-beta'], ['matthews-1985']),
      );
    }
  }
  return out.filter((m): m is Measure => !!m);
}

export function summariseMeasure(m: Measure): MeasureSummary {
  return { code: m.code, value: m.value, unit: m.unit, derivedFrom: [...m.derivedFrom] };
}

export function findMeasure(ms: Measure[], code: MeasureCode): Measure | undefined {
  return ms.find((m) => m.code === code);
}
