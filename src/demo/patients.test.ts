import type { Patient, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { evaluatePatient } from '../clinical/engine';
import { inputFromResources } from '../clinical/input';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { DEMO_PATIENTS, demoTransaction } from './patients';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');

function run(p: (typeof DEMO_PATIENTS)[number]) {
  const [patient, ...rest] = p.resources(NOW);
  return evaluatePatient(inputFromResources(patient as Patient, rest), k, NOW);
}

describe('the demo patients', () => {
  it('are at least 8, with unique ids', () => {
    expect(DEMO_PATIENTS.length).toBeGreaterThanOrEqual(8);
    expect(new Set(DEMO_PATIENTS.map((p) => p.id)).size).toBe(DEMO_PATIENTS.length);
  });

  it('have distinct names, so a clinician picking from a list cannot take one for another', () => {
    const names = DEMO_PATIENTS.map((p) => {
      const n = (p.resources(NOW)[0] as Patient).name?.[0];
      return [...(n?.given ?? []), n?.family].join(' ');
    });
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  for (const p of DEMO_PATIENTS) {
    it(`${p.id}: ${p.story}`, () => {
      const e = run(p);
      expect(e.findings.map((f) => f.ruleId)).toEqual(p.expect.cards);
      for (const [status, expected] of [
        ['suppressed', p.expect.suppressed],
        ['not-met', p.expect.notMet],
      ] as const) {
        for (const [rule, code] of Object.entries(expected ?? {})) {
          const o = e.outcomes.find((x) => x.ruleId === rule);
          expect(o?.status, rule).toBe(status);
          expect(
            o?.reasons.map((r) => r.code),
            rule,
          ).toContain(code);
        }
      }
    });
  }

  it('exercise every card, and every suppression of the CCR and bone rules', () => {
    const cards = new Set(DEMO_PATIENTS.flatMap((p) => p.expect.cards));
    const reasons = new Set(
      DEMO_PATIENTS.flatMap((p) => [
        ...Object.values(p.expect.suppressed ?? {}),
        ...Object.values(p.expect.notMet ?? {}),
      ]),
    );
    expect([...cards].sort()).toEqual([
      'endocrine-therapy-bone',
      'glucocorticoid-bone',
      'low-ccr',
      'missing-ccr-input',
      'secondary-osteoporosis',
    ]);
    for (const s of [
      'egfr-below-minimum',
      'aki-pattern',
      'age-below-adult',
      'not-same-draw',
      'glucose-diabetic-range',
      'glucocorticoid',
      'hyperthyroidism',
      'crp-high',
      'pregnancy',
      'amputation-or-paralysis',
      'dialysis-or-transplant',
      'bmi-extreme',
      'creatine-or-trimethoprim',
      'osteoporosis-therapy',
      'recent-dxa',
      'below-threshold',
      'baseline-dxa-done',
      'superseded',
    ]) {
      expect(reasons, s).toContain(s);
    }
  });

  it('give the glucocorticoid patient one warning that names the dose, the exposure and the missing DXA, with the vitamin D line', () => {
    const f = run(DEMO_PATIENTS.find((p) => p.id === 'demo-steroid')!).findings[0]!;
    expect(f.indicator).toBe('warning');
    expect(f.statements.join('\n')).toMatch(/prednisone 7\.5 mg\/day \(7\.5 mg × 1 per 1 d\)/);
    expect(f.statements.join('\n')).toMatch(
      /Observed course at ≥ 2\.5 mg\/day prednisone-equivalent: \d+ days \(2026-06-28 to /,
    );
    expect(f.statements.join('\n')).toMatch(/No DXA result on file/);
    expect(f.context.join(' ')).toMatch(/25-OH vitamin D 14\.0 ng\/mL .* below 20 ng\/mL/);
    expect(f.measures.map((m) => [m.code, m.unit])).toEqual([
      ['prednisone-equivalent-dose', 'mg/d'],
      ['glucocorticoid-exposure', 'd'],
    ]);
    expect(f.measures[0]?.value).toBe(7.5);
    // Days taken up to the evaluation, not the 180 days of supply the orders cover (part of it still ahead).
    expect(f.measures[1]?.value).toBeGreaterThan(90);
    expect(f.measures[1]?.value).toBeLessThan(180);
    expect(f.suggestions[0]?.orders[0]?.display).toMatch(/vertebral fracture assessment/);
  });

  it('carry the superseded low-CCR finding into the R3 card, measures included', () => {
    const e = run(DEMO_PATIENTS.find((p) => p.id === 'demo-ra')!);
    const f = e.findings[0]!;
    expect(f.context.join(' ')).toMatch(/The labs also suggest low muscle mass: CCR 0\.60/);
    expect(f.measures.map((m) => m.code)).toContain('ccr');
    expect(f.statements.join(' ')).toMatch(/Contributing medicines .*Omeprazole/);
  });
});

/** Every `reference` string anywhere in a resource, with the path where it sits. */
function referencesIn(x: unknown, path = ''): { path: string; reference: string }[] {
  if (Array.isArray(x)) return x.flatMap((v, i) => referencesIn(v, `${path}[${i}]`));
  if (!x || typeof x !== 'object') return [];
  return Object.entries(x).flatMap(([k, v]) =>
    k === 'reference' && typeof v === 'string' ? [{ path, reference: v }] : referencesIn(v, path ? `${path}.${k}` : k),
  );
}

describe('the demo seed transaction', () => {
  const bundle = demoTransaction(NOW);
  const entries = bundle.entry ?? [];

  it('PUTs every resource at its own fixed id, once, so seeding again changes nothing', () => {
    const urls = entries.map((e) => e.request?.url);
    for (const e of entries) {
      expect(e.request?.method).toBe('PUT');
      expect(e.request?.url).toBe(`${e.resource?.resourceType}/${e.resource?.id}`);
    }
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('holds every resource it references: no dangling reference for a FHIR server to reject', () => {
    const present = new Set(entries.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
    const dangling: string[] = [];
    for (const e of entries) {
      const r = e.resource as Resource & { contained?: Resource[] };
      const contained = new Set((r.contained ?? []).map((c) => `#${c.id}`));
      for (const { path, reference } of referencesIn(r)) {
        const ok = reference.startsWith('#') ? contained.has(reference) : present.has(reference);
        if (!ok) dangling.push(`${r.resourceType}/${r.id} ${path} → ${reference}`);
      }
    }
    expect(dangling).toEqual([]);
    // The check has something to check: orders name their requester.
    expect(
      entries.some((e) => referencesIn(e.resource).some((x) => x.reference === 'Practitioner/demo-clinician')),
    ).toBe(true);
  });
});
