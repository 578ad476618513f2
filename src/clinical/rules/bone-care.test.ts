import { describe, expect, it } from 'vitest';
import { daysAgo, dxaOrder, dxaReport } from '../../demo/builders';
import { listOf } from './bone-care';
import { codes, k, NOW, orderCodes, prednisone, ra, run, woman } from './test-records';

describe('bone care shared by the bone cards', () => {
  it('suppresses a bone card when a DXA is already ordered', () => {
    expect(codes(run(woman(60), [ra, dxaOrder('so', 'p')]), 'secondary-osteoporosis')).toContain('dxa-ordered');
  });

  it('never suggests a DXA when one is on file within 24 months, whichever rule renders the card', () => {
    const e = run(woman(60), [prednisone(), dxaReport('dxa', 'p', daysAgo(NOW, 400))]);
    expect(orderCodes(e)).not.toContain(k.orders.dxa.code);
  });
});

describe('lists in card prose', () => {
  it('names each item once, so four doses of one product read as one medicine', () => {
    expect(listOf(k, ['Zoladex 3.6 mg', 'Zoladex 3.6 mg', 'Zoladex 3.6 mg'])).toBe('Zoladex 3.6 mg');
    expect(listOf(k, ['a', 'b', 'a', 'c'])).toBe(listOf(k, ['a', 'b', 'c']));
    expect(listOf(k, ['a', 'b', 'c'])).toMatch(/^a, b .*c$/);
  });
});
