import { describe, expect, it } from 'vitest';
import { loadServices } from '../cds/services';
import { cards, k, lowPair, outcomeOf, ra, run, woman } from './rules/test-records';

describe('precedence, titles and hooks as rule data', () => {
  it('gives the card of the lowest precedence number and folds the other into it', () => {
    const e = run(woman(70), [ra, ...lowPair()]);
    expect(cards(e)).toEqual(['secondary-osteoporosis']);
    expect(outcomeOf(e, 'low-ccr')).toMatchObject({
      status: 'suppressed',
      reasons: [{ code: 'superseded', text: 'covered by secondary-osteoporosis' }],
    });
  });

  it('follows a site that changes the precedence: the other card wins, with no code changed', () => {
    const site = structuredClone(k);
    site.rules['low-ccr'].precedence = 5;
    const e = run(woman(70), [ra, ...lowPair()], { knowledge: site });
    expect(cards(e)).toEqual(['low-ccr']);
    expect(outcomeOf(e, 'secondary-osteoporosis')).toMatchObject({
      status: 'suppressed',
      reasons: [{ code: 'superseded' }],
    });
  });

  it('runs in each service the rules whose data names its hook', () => {
    const services = loadServices();
    expect(services.get('bone-muscle-order-sign')!.definition.rules.sort()).toEqual([
      'endocrine-therapy-bone',
      'glucocorticoid-bone',
      'vitamin-d-context',
    ]);
    expect(services.get('bone-muscle-patient-view')!.definition.rules.sort()).toEqual(Object.keys(k.rules).sort());
    const site = structuredClone(k);
    site.rules['secondary-osteoporosis'].hooks = ['patient-view', 'order-select'];
    expect(loadServices(undefined, undefined, site).get('bone-muscle-order-select')!.definition.rules).toContain(
      'secondary-osteoporosis',
    );
  });

  it('gives every rule a title in the data', () => {
    for (const [id, r] of Object.entries(k.rules)) expect(r.title, id).toMatch(/^[A-Z].{9,}/);
  });
});
