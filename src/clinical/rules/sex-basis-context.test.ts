import { describe, expect, it } from 'vitest';
import { patient } from '../../demo/builders';
import { codes, creatinineOnly, lowPair, man, outcomeOf, prednisone, run, woman } from './test-records';

describe('sex-basis-context', () => {
  it('says on the low-CCR card that the sex-specific numbers used the administrative gender on the record', () => {
    const e = run(man(80), lowPair());
    expect(outcomeOf(e, 'sex-basis-context').status).toBe('context');
    const card = e.findings.find((f) => f.ruleId === 'low-ccr')!;
    expect(card.context.join(' ')).toMatch(/administrative gender \(male\)/);
  });

  it('says it on the card that asks for the other half of the pair, whose eGFR is sex-specific', () => {
    const e = run(woman(80), creatinineOnly());
    expect(e.findings.find((f) => f.ruleId === 'missing-ccr-input')!.context.join(' ')).toMatch(
      /administrative gender \(female\)/,
    );
  });

  it('adds nothing to a glucocorticoid card, which shows no sex-specific number', () => {
    const e = run(woman(70), [prednisone()]);
    expect(e.findings.map((f) => f.ruleId)).toEqual(['glucocorticoid-bone']);
    expect(e.findings[0]!.context.join(' ')).not.toMatch(/administrative gender/);
    expect(codes(e, 'sex-basis-context')).toEqual(['no-sex-specific-measure']);
  });

  it('is quiet, and says why, when the Patient has no administrative gender', () => {
    expect(codes(run(patient('p', 'unknown', '1940-01-01'), lowPair()), 'sex-basis-context')).toEqual(['sex-unknown']);
  });
});
