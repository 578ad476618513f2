import fs from 'node:fs';
import path from 'node:path';
import type { Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { compileSchema } from '../config/schemas';
import { DEMO_PATIENTS } from '../demo/patients';
import { evaluatePatient, patientFacts } from './engine';
import { inputFromResources } from './input';
import { RULE_READS } from './rules/registry';
import { k, lowPair, NOW, woman } from './rules/test-records';
import { allSourceAttributes, MEASURE_DEMOGRAPHICS, SECTIONS } from './source-attributes';

const ROOT = path.join(__dirname, '..', '..');
const all = allSourceAttributes(k);
const INPUTS = [
  'race',
  'ethnicity',
  'language',
  'sexualOrientation',
  'genderIdentity',
  'sex',
  'dateOfBirth',
  'socialDeterminantsOfHealth',
  'healthStatusAssessments',
] as const;

describe('source attributes (45 CFR 170.315(b)(11)(iv)(A))', () => {
  it('answers each of the thirteen attributes the regulation lists, for every rule the engine has', () => {
    expect(Object.values(SECTIONS)).toEqual(Array.from({ length: 13 }, (_, i) => `(b)(11)(iv)(A)(${i + 1})`));
    expect(all.map((a) => a.rule).sort()).toEqual(Object.keys(RULE_READS).sort());
    for (const a of all) {
      expect(a.bibliographicCitation.length, a.rule).toBeGreaterThan(0);
      for (const c of a.bibliographicCitation) expect(c.url, `${a.rule} ${c.id}`).toMatch(/^https:\/\//);
      expect(a.developer.name.length).toBeGreaterThan(0);
      expect(a.fundingSource.length).toBeGreaterThan(0);
      expect(a.releaseAndRevisionDates.released).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      for (const i of INPUTS) expect(a.inputs[i].how.length, `${a.rule} ${i}`).toBeGreaterThan(10);
    }
  });

  it('refuses a knowledge file whose rule has no source attributes', () => {
    const validate = compileSchema('knowledge.schema.json');
    const data = JSON.parse(fs.readFileSync(path.join(ROOT, 'cds-hooks/knowledge/clinical.json'), 'utf8'));
    expect(validate(data)).toBe(true);
    delete data.rules['low-ccr'].sourceAttributes;
    expect(validate(data)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('sourceAttributes');
  });

  it('names as validation only test files that exist', () => {
    for (const a of all)
      for (const t of a.validation.tests) expect(fs.existsSync(path.join(ROOT, t)), `${a.rule}: ${t}`).toBe(true);
  });

  it('keeps nothing of race, ethnicity, language or gender identity from a Patient that carries them', () => {
    const p: Patient = {
      resourceType: 'Patient',
      id: 'p',
      gender: 'female',
      birthDate: '1950-01-01',
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] } }],
      extension: [
        { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race', extension: [] },
        { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity', extension: [] },
        { url: 'http://hl7.org/fhir/StructureDefinition/individual-genderIdentity', extension: [] },
      ],
    };
    expect(Object.keys(patientFacts(p)).sort()).toEqual(['birthDate', 'reference', 'sex']);
  });

  it('lists as sex- and age-dependent exactly the measures that are left out without a sex or a birth date', () => {
    const measured = (p: Patient) =>
      evaluatePatient({ ...inputFromResources(p, lowPair()), unavailable: [] }, k, NOW).measures.map((m) => m.code);
    const full = measured(woman(70));
    expect(full).toContain('egfr-cr-cys-2021');
    const { gender: _g, ...sexless } = woman(70);
    const { birthDate: _b, ...ageless } = woman(70);
    for (const [d, p] of [
      ['sex', sexless],
      ['birthDate', ageless],
    ] as const) {
      const without = measured(p as Patient);
      const dropped = full.filter((m) => !without.includes(m));
      const listed = full.filter((m) => MEASURE_DEMOGRAPHICS[m]?.includes(d));
      expect(dropped.sort(), d).toEqual(listed.sort());
    }
  });

  it('says sex is not used only by rules whose outcome on every demo patient stays the same with the sex changed', () => {
    const flip = (p: Patient): Patient => ({ ...p, gender: p.gender === 'female' ? 'male' : 'female' });
    const notUsingSex = all.filter((a) => !a.inputs.sex.used).map((a) => a.rule);
    expect(notUsingSex.length).toBeGreaterThan(0);
    const said = (p: Patient, rest: Parameters<typeof inputFromResources>[1]) =>
      evaluatePatient({ ...inputFromResources(p, rest), unavailable: [] }, k, NOW).outcomes.filter((o) =>
        notUsingSex.includes(o.ruleId),
      );
    for (const d of DEMO_PATIENTS) {
      const [p, ...rest] = d.resources(NOW);
      const shape = (os: ReturnType<typeof said>) =>
        os.map((o) => ({ rule: o.ruleId, status: o.status, reasons: o.reasons.map((r) => r.code) }));
      expect(shape(said(flip(p), rest)), d.id).toEqual(shape(said(p, rest)));
    }
  });

  it('says a rule uses health status assessments when its code reads pregnancy status', () => {
    for (const a of all)
      expect(a.inputs.healthStatusAssessments.used, a.rule).toBe(a.inputs.reads.domains.includes('pregnancy-tests'));
    expect(all.find((a) => a.rule === 'low-ccr')?.inputs.healthStatusAssessments.used).toBe(true);
  });
});
