import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../cds/outcomes';
import { bearerMatches, parseReportQuery } from './admin';

const TOKEN = 'a'.repeat(24) + 'b'.repeat(24);

describe('the admin bearer token', () => {
  it('matches only the exact token, sent as a Bearer credential', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN.slice(1)}`, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerMatches(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches('Bearer ', TOKEN)).toBe(false);
  });
});

describe('a report query', () => {
  const now = new Date('2026-11-25T12:00:00Z');

  it('defaults to the 30 days up to now, as one period', () => {
    expect(parseReportQuery({}, now)).toEqual({ from: new Date('2026-10-26T12:00:00Z'), to: now, interval: 'all' });
  });

  it('reads dates as midnight UTC and takes an interval and a number of reasons', () => {
    expect(
      parseReportQuery({ from: '2026-11-01', to: '2026-11-08T00:00:00+01:00', interval: 'day', top: '5' }, now),
    ).toEqual({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-07T23:00:00Z'),
      interval: 'day',
      topReasons: 5,
    });
  });

  it('refuses what it cannot read, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ interval: 'month' }, /interval/],
      [{ from: '01/11/2026' }, /from/],
      [{ top: '0' }, /top/],
      [{ to: ['2026-11-01', '2026-11-02'] }, /to/],
      [{ sort: 'asc' }, /sort/],
      [{ from: '2026-11-10', to: '2026-11-01' }, /must end/],
    ];
    for (const [q, why] of cases) {
      let err: unknown;
      try {
        parseReportQuery(q, now);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HttpProblem);
      const p = err as HttpProblem;
      expect(p.status).toBe(400);
      expect(`${p.message} ${p.outcome.issue[0]?.diagnostics ?? ''}`).toMatch(why);
    }
  });
});
