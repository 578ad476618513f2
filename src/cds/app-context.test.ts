import { describe, expect, it } from 'vitest';
import { encodeAppContext, parseAppContext } from './app-context';

describe('the appContext of a finding card', () => {
  it('round-trips the rule id through the JSON the card carries', () => {
    expect(parseAppContext(encodeAppContext({ ruleId: 'low-ccr' }))).toEqual({ ruleId: 'low-ccr' });
  });

  it('accepts a bare rule id and JSON that an EHR escaped once more', () => {
    expect(parseAppContext('missing-ccr-input')).toEqual({ ruleId: 'missing-ccr-input' });
    expect(parseAppContext(JSON.stringify(encodeAppContext({ ruleId: 'low-ccr' })))).toEqual({ ruleId: 'low-ccr' });
  });

  it('ignores what it cannot read instead of failing the app', () => {
    for (const raw of [
      undefined,
      null,
      42,
      '',
      '{',
      '{"ruleId":"<script>"}',
      '{"other":"x"}',
      'x'.repeat(3000),
      '[1,2]',
    ]) {
      expect(parseAppContext(raw), String(raw).slice(0, 20)).toBeUndefined();
    }
  });
});
