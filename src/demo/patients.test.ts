import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { evaluatePatient } from '../clinical/engine';
import type { Observation, Patient } from 'fhir/r4';
import { DEMO_PATIENTS } from './patients';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');

describe('the demo patients', () => {
  it('are at least 8, with unique ids', () => {
    expect(DEMO_PATIENTS.length).toBeGreaterThanOrEqual(8);
    expect(new Set(DEMO_PATIENTS.map((p) => p.id)).size).toBe(DEMO_PATIENTS.length);
  });

  for (const p of DEMO_PATIENTS) {
    it(`${p.id}: ${p.story}`, () => {
      const [patient, ...observations] = p.resources(NOW);
      const e = evaluatePatient({ patient: patient as Patient, observations: observations as Observation[] }, k, NOW);
      expect(e.findings.map((f) => f.ruleId)).toEqual(p.expect.cards);
      for (const [rule, code] of Object.entries(p.expect.suppressed ?? {})) {
        const o = e.outcomes.find((x) => x.ruleId === rule);
        expect(o?.status).toBe('suppressed');
        expect(o?.reasons.map((r) => r.code)).toContain(code);
      }
    });
  }

  it('exercise every card and every lab-based suppression', () => {
    const cards = new Set(DEMO_PATIENTS.flatMap((p) => p.expect.cards));
    const suppressions = new Set(DEMO_PATIENTS.flatMap((p) => Object.values(p.expect.suppressed ?? {})));
    expect([...cards].sort()).toEqual(['low-ccr', 'missing-ccr-input']);
    for (const s of ['egfr-below-60', 'aki-pattern', 'age-under-18', 'not-same-draw', 'glucose-diabetic-range']) expect(suppressions).toContain(s);
  });
});
