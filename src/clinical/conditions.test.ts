import type { Condition } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { concept, condition, daysAgo } from '../demo/builders';
import { buildContext, conditionsOf } from './context';
import { inputFromResources } from './input';
import { codes, k, lowPair, NOW, outcomeOf, run, woman } from './rules/test-records';

const VER = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const withVerification = (c: Condition, code: string | undefined): Condition => {
  const { verificationStatus: _, ...rest } = c;
  return code ? { ...rest, verificationStatus: { coding: [{ system: VER, code }] } } : rest;
};
const ra = condition('ra', 'p', concept('icd10cm', 'M06.9', 'Rheumatoid arthritis, unspecified'));
const thyroid = condition('t', 'p', concept('icd10cm', 'E05.00', 'Thyrotoxicosis with diffuse goiter'));
const status = (e: ReturnType<typeof run>, id: string) => outcomeOf(e, id).status;
const ctxOf = (resources: Condition[]) => buildContext(inputFromResources(woman(60), resources), 'Patient/p', k, NOW);

describe('Condition.verificationStatus', () => {
  it('lets only a confirmed (or unstated) diagnosis start a card', () => {
    expect(status(run(woman(60), [ra]), 'secondary-osteoporosis')).toBe('fired');
    expect(status(run(woman(60), [withVerification(ra, undefined)]), 'secondary-osteoporosis')).toBe('fired');
    for (const v of ['unconfirmed', 'provisional', 'differential', 'refuted', 'entered-in-error']) {
      expect(codes(run(woman(60), [withVerification(ra, v)]), 'secondary-osteoporosis')).toEqual(['no-condition']);
    }
  });

  it('lets an unconfirmed, provisional or differential confounder still quiet the CCR card, but never a refuted one', () => {
    expect(status(run(woman(80), lowPair()), 'low-ccr')).toBe('fired');
    for (const v of ['unconfirmed', 'provisional', 'differential']) {
      const e = run(woman(80), [...lowPair(), withVerification(thyroid, v)]);
      expect(status(e, 'low-ccr')).not.toBe('fired');
      expect(codes(e, 'low-ccr')).toContain('hyperthyroidism');
    }
    for (const v of ['refuted', 'entered-in-error'])
      expect(status(run(woman(80), [...lowPair(), withVerification(thyroid, v)]), 'low-ccr')).toBe('fired');
  });

  it('marks the facts so a rule can say which were not confirmed', () => {
    const [fact] = ctxOf([withVerification(thyroid, 'provisional')]).conditions;
    expect(fact).toMatchObject({ confirmed: false, verificationStatus: 'provisional' });
    expect(
      conditionsOf(ctxOf([withVerification(thyroid, 'provisional')]), ['hyperthyroidism'], {
        activeOnly: true,
        role: 'trigger',
      }),
    ).toEqual([]);
  });
});

describe('Condition.clinicalStatus and countsWhen, per concept in the code set', () => {
  it('counts confirmed rheumatoid arthritis in remission or inactive (FRAX takes it whatever its activity)', () => {
    for (const s of ['remission', 'inactive', 'resolved']) {
      const e = run(woman(60), [condition('ra', 'p', concept('icd10cm', 'M06.9', 'RA'), { clinicalStatus: s })]);
      expect(status(e, 'secondary-osteoporosis')).toBe('fired');
    }
  });

  it('counts hyperthyroidism as a CCR confounder only while current', () => {
    const resolved = condition('t', 'p', concept('icd10cm', 'E05.00', 'Thyrotoxicosis'), {
      clinicalStatus: 'resolved',
      abatement: daysAgo(NOW, 400),
    });
    expect(status(run(woman(80), [...lowPair(), resolved]), 'low-ccr')).toBe('fired');
    expect(status(run(woman(80), [...lowPair(), thyroid]), 'low-ccr')).not.toBe('fired');
  });

  it('keeps the "counts when" rule in the code set data, not in a rule', () => {
    const ever = k.codesets.conditions.concepts.filter((c) => c.countsWhen === 'ever').map((c) => c.id);
    expect(ever).toEqual(
      expect.arrayContaining(['rheumatoid-arthritis', 'osteoporotic-fracture', 'fracture-at-osteoporotic-site']),
    );
    expect(ever).not.toContain('hyperthyroidism');
    expect(ever).not.toContain('pregnancy');
  });

  it('reads a status it does not know as "could not be checked", never as current or resolved', () => {
    const odd: Condition = { ...thyroid, clinicalStatus: { coding: [{ system: 'urn:local', code: 'ACT' }] } };
    const ctx = ctxOf([odd]);
    expect(ctx.conditions).toEqual([]);
    expect(ctx.unavailable).toContain('conditions');
    expect(ctx.unreadable[0]).toMatchObject({ domain: 'conditions', reference: 'Condition/t' });
  });
});

describe('Condition onset[x] and abatement[x], every type', () => {
  const base = (extra: Partial<Condition>): Condition => {
    const { clinicalStatus: _, ...rest } = thyroid;
    return { ...rest, ...extra };
  };

  it('ends a condition without a clinicalStatus at any abatement type, a string included', () => {
    expect(ctxOf([base({})]).conditions[0]?.active).toBe(true);
    expect(ctxOf([base({ abatementString: 'after surgery' })]).conditions[0]).toMatchObject({
      active: false,
      abated: true,
    });
    expect(ctxOf([base({ abatementPeriod: { start: '2020-01-01', end: '2020-03-01' } })]).conditions[0]).toMatchObject({
      active: false,
      abatementMs: Date.parse('2020-03-01'),
    });
  });

  it('dates an onset or abatement given as an Age from the birth date', () => {
    const [fact] = ctxOf([
      base({
        onsetAge: { value: 40, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' },
        abatementAge: { value: 50, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' },
      }),
    ]).conditions;
    const born = Date.parse(woman(60).birthDate as string);
    expect(fact?.onsetMs).toBeGreaterThan(born + 39.9 * 365.25 * 86_400_000);
    expect(fact?.onsetMs).toBeLessThan(born + 40.1 * 365.25 * 86_400_000);
    expect(fact?.active).toBe(false);
    expect(fact?.abatementMs).toBeGreaterThan(fact?.onsetMs as number);
  });

  it('keeps a condition whose abatement is still in the future current', () => {
    expect(ctxOf([base({ abatementDateTime: '2027-06-01' })]).conditions[0]?.active).toBe(true);
  });
});

describe('terminology for condition concepts', () => {
  const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
  const SCT = 'http://snomed.info/sct';

  it('gives every condition concept codes in both ICD-10-CM and SNOMED CT, or says in the data why not', () => {
    const lacking = k.codesets.conditions.concepts
      .filter((c) => !(c.codes.some((x) => x.system === ICD) && c.codes.some((x) => x.system === SCT)))
      .filter((c) => !c.oneSystemReason)
      .map((c) => c.id);
    expect(lacking).toEqual([]);
  });

  it('records, for every published value set a concept names, codes whose verification cites its OID', () => {
    for (const c of k.codesets.conditions.concepts) {
      for (const vs of c.valueSets ?? []) {
        expect(
          c.codes.some((x) => `${x.verification.method} ${x.verification.note ?? ''}`.includes(vs.oid)),
          `${c.id}: ${vs.oid}`,
        ).toBe(true);
      }
    }
  });

  it('recognises a condition coded only in SNOMED CT, by a descendant listed in the value set', () => {
    const member = k.codesets.conditions.concepts
      .find((c) => c.id === 'rheumatoid-arthritis')
      ?.codes.find((x) => x.system === SCT && x.code !== '69896004');
    expect(member).toBeDefined();
    const e = run(woman(60), [condition('r', 'p', concept('sct', member?.code as string, member?.display as string))]);
    expect(status(e, 'secondary-osteoporosis')).toBe('fired');
  });

  it('counts a fracture coded by its site (ICD-10-CM S72.0, a femoral neck) as a prior fracture for life', () => {
    const hip = condition('hip', 'p', concept('icd10cm', 'S72.001S', 'Fracture of right femoral neck, sequela'), {
      clinicalStatus: 'resolved',
    });
    const e = run(woman(45), [ra, hip]);
    expect(status(e, 'secondary-osteoporosis')).toBe('fired');
    expect(codes(run(woman(45), [ra]), 'secondary-osteoporosis')).toEqual(['age-below-minimum']);
  });
});
