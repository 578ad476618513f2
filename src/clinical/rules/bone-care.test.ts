import { describe, expect, it } from 'vitest';
import { daysAgo, dxaOrder, dxaReport } from '../../demo/builders';
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
