import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ageOn } from './dates';

describe('age at the specimen date', () => {
  it('is taken from the calendar day written on the specimen, not the UTC day of an offset time', () => {
    // 00:30 on the 18th birthday in Sydney is still the 17th in UTC.
    expect(ageOn('2008-03-18', '2026-03-18T00:30:00+11:00')).toBe(18);
    expect(ageOn('2008-03-18', '2026-03-17T23:30:00-05:00')).toBe(17);
  });

  it('does not depend on the server time zone for a date-time without an offset', () => {
    const code =
      "import('./src/clinical/dates.ts').then(m => process.stdout.write(String(m.ageOn('2008-03-18', '2026-03-18T00:30:00'))))";
    const ages = ['Pacific/Kiritimati', 'America/Los_Angeles', 'UTC'].map((tz) =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', code], {
        env: { ...process.env, TZ: tz },
        cwd: process.cwd(),
      }).toString(),
    );
    expect(ages).toEqual(['18', '18', '18']);
  });
});
