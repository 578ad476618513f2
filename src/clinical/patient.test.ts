import type { Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { evaluatePatient } from './engine';
import { inputFromResources } from './input';
import { recordClosed } from './patient';
import { cards, k, lowPair, NOW, prednisone, ra, run, woman } from './rules/test-records';

const alive = woman(80);
const dead = (p: Patient, extra: Partial<Patient>): Patient => ({ ...p, ...extra });
// A record that makes cards today: long-term prednisone without a DXA, RA, a low CCR.
const busy = [prednisone(10), ra, ...lowPair()];

describe('a Patient whose record shows a death', () => {
  it('gets no card when deceasedDateTime is before the evaluation, and every rule says the patient died', () => {
    expect(cards(run(alive, busy)).length).toBeGreaterThan(0);
    const e = run(dead(alive, { deceasedDateTime: '1994-11-11T22:58:16-05:00' }), busy);
    expect(e.findings).toEqual([]);
    expect(e.outcomes.length).toBeGreaterThan(0);
    for (const o of e.outcomes) {
      expect(o.status).toBe('suppressed');
      expect(o.reasons.map((r) => r.code)).toEqual(['patient-deceased-on']);
      expect(o.reasons[0]?.text).toContain('1994-11-11');
    }
  });

  it('gets no card when deceasedBoolean is true, or when the death date cannot be read', () => {
    for (const extra of [{ deceasedBoolean: true }, { deceasedDateTime: 'sometime in 1994' }]) {
      const e = run(dead(alive, extra), busy);
      expect(e.findings).toEqual([]);
      expect(new Set(e.outcomes.map((o) => o.reasons[0]?.code))).toEqual(new Set(['patient-deceased']));
    }
  });

  it('still gets cards when deceasedBoolean is false', () => {
    expect(cards(run(dead(alive, { deceasedBoolean: false }), busy))).toEqual(cards(run(alive, busy)));
  });

  it('gets no card when the death date is after the evaluation time: a record that says the patient died', () => {
    const later = new Date(NOW.getTime() + 86_400_000).toISOString();
    const e = run(dead(alive, { deceasedDateTime: later }), busy);
    expect(e.findings).toEqual([]);
    expect(e.outcomes.every((o) => o.reasons[0]?.code === 'patient-deceased-on')).toBe(true);
  });

  it('gets no card at order-select or order-sign either, for the order being placed', () => {
    const order = { ...prednisone(20), id: 'new', status: 'draft' as const };
    const input = (p: Patient) => ({ ...inputFromResources(p, []), draftOrders: { resources: [order] } });
    expect(evaluatePatient(input(alive), k, NOW).findings.map((f) => f.ruleId)).toContain('glucocorticoid-bone');
    const e = evaluatePatient(input(dead(alive, { deceasedDateTime: '2020-03-01' })), k, NOW);
    expect(e.findings).toEqual([]);
    expect(e.outcomes.every((o) => o.reasons[0]?.code === 'patient-deceased-on')).toBe(true);
  });
});

describe('a Patient record replaced by another', () => {
  it('gets no card when Patient.link says replaced-by, and says the record was replaced', () => {
    const merged = dead(alive, { link: [{ type: 'replaced-by', other: { reference: 'Patient/survivor' } }] });
    const e = run(merged, busy);
    expect(e.findings).toEqual([]);
    expect(new Set(e.outcomes.map((o) => o.reasons[0]?.code))).toEqual(new Set(['patient-replaced']));
    // The other record's id is a patient id: never in a reason that reaches the audit.
    expect(JSON.stringify(e.outcomes)).not.toContain('survivor');
  });

  it('still gets cards for links that do not retire this record (replaces, refer, seealso) and for active: false', () => {
    const base = cards(run(alive, busy));
    for (const type of ['replaces', 'refer', 'seealso'] as const) {
      expect(cards(run(dead(alive, { link: [{ type, other: { reference: 'Patient/x' } }] }), busy))).toEqual(base);
    }
    expect(cards(run(dead(alive, { active: false }), busy))).toEqual(base);
    expect(recordClosed(dead(alive, { active: false }), k)).toBeUndefined();
  });
});
