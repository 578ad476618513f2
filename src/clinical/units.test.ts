import { UcumLhcUtils } from '@lhncbc/ucum-lhc';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { spelledUnit, toCanonical } from './units';

const k = loadKnowledgeSync();

describe('unit normalisation', () => {
  it('converts creatinine from µmol/L to mg/dL with the molecular weight 113.12', () => {
    const r = toCanonical('creatinine', k.analytes.creatinine, { value: 88.42, unit: 'µmol/L' });
    expect(r.ok && r.value).toBeCloseTo(1.0002, 3);
    expect(r.ok && r.conversion).toContain('113.12');
  });

  it('converts glucose from mg/dL to mmol/L', () => {
    const r = toCanonical('glucose', k.analytes.glucose, {
      value: 90,
      system: 'http://unitsofmeasure.org',
      code: 'mg/dL',
    });
    expect(r.ok && r.value).toBeCloseTo(4.9956, 3);
  });

  it('converts insulin from pmol/L to µIU/mL with the standard factor 6.00, not 6.945', () => {
    const r = toCanonical('insulin', k.analytes.insulin, {
      value: 60,
      code: 'pmol/L',
      system: 'http://unitsofmeasure.org',
    });
    expect(r.ok && r.value).toBeCloseTo(10, 6);
  });

  it('treats mIU/L insulin as numerically equal to µIU/mL', () => {
    const r = toCanonical('insulin', k.analytes.insulin, {
      value: 12,
      code: 'm[IU]/L',
      system: 'http://unitsofmeasure.org',
    });
    expect(r.ok && r.value).toBeCloseTo(12, 9);
  });

  it('converts cystatin C reported in mg/dL to mg/L', () => {
    const r = toCanonical('cystatin-c', k.analytes['cystatin-c'], {
      value: 0.1,
      code: 'mg/dL',
      system: 'http://unitsofmeasure.org',
    });
    expect(r.ok && r.value).toBeCloseTo(1, 9);
  });

  // Units are parsed once per pair and reused: every later value must come out bit for bit as the library's
  // own whole conversion gives it, for plain (mg/dL to mg/L) and molecular-weight (µmol/L to mg/dL) pairs.
  it('converts every value of a repeated unit pair exactly as UCUM does on its own', () => {
    const ucum = UcumLhcUtils.getInstance();
    const mw = k.analytes.creatinine.molecularWeight as number;
    for (const value of [88.42, 0.1, 53, 1e-3, 707.2, 123456.789, 61.9, 88.42]) {
      const cr = toCanonical('creatinine', k.analytes.creatinine, {
        value,
        code: 'umol/L',
        system: 'http://unitsofmeasure.org',
      });
      expect(cr.ok && cr.value, `creatinine ${value}`).toBe(
        ucum.convertUnitTo('umol/L', value, 'mg/dL', { molecularWeight: mw }).toVal,
      );
      const cys = toCanonical('cystatin-c', k.analytes['cystatin-c'], {
        value,
        code: 'mg/dL',
        system: 'http://unitsofmeasure.org',
      });
      expect(cys.ok && cys.value, `cystatin C ${value}`).toBe(ucum.convertUnitTo('mg/dL', value, 'mg/L').toVal);
    }
  });

  it('refuses a unit of the wrong kind rather than guessing', () => {
    const r = toCanonical('creatinine', k.analytes.creatinine, {
      value: 1,
      code: 'mm[Hg]',
      system: 'http://unitsofmeasure.org',
    });
    expect(r.ok).toBe(false);
  });

  it('refuses values with a comparator and quantities without a unit', () => {
    expect(toCanonical('creatinine', k.analytes.creatinine, { value: 0.2, comparator: '<', code: 'mg/dL' }).ok).toBe(
      false,
    );
    expect(toCanonical('creatinine', k.analytes.creatinine, { value: 1 }).ok).toBe(false);
  });
});

describe('unit spellings laboratories send', () => {
  const sp = k.unitSpellings.spellings;
  it.each([
    ['insulin', 'µIU/mL', 10, 10],
    ['insulin', 'uIU/mL', 10, 10],
    ['insulin', 'mIU/L', 10, 10],
    ['insulin', 'mU/L', 10, 10],
    ['insulin', 'µU/mL', 10, 10],
    ['bmi', 'kg/m^2', 24, 24],
    ['glucose', 'MG/DL', 90.08, 5],
    ['creatinine', 'umol / L', 88.42, 1],
  ] as const)('maps %s in "%s" through the knowledge file', (analyte, unit, value, expected) => {
    const r = toCanonical(analyte, k.analytes[analyte], { value, unit }, sp);
    expect(r.ok && r.value).toBeCloseTo(expected, 2);
  });

  it('never guesses an unknown spelling, and keeps "mU/L" an enzyme unit outside insulin', () => {
    expect(toCanonical('insulin', k.analytes.insulin, { value: 10, unit: 'micro-units per ml' }, sp).ok).toBe(false);
    expect(spelledUnit('mU/L', 'creatinine', sp)).toBeUndefined();
  });
});
