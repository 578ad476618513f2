import type { Dosage } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { daysOf, doseMg, doseSteps, timesPerDay } from './dosage';

const mg = (value: number, unit = 'mg'): Dosage['doseAndRate'] => [
  { doseQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit } },
];

describe('times per day from a Timing', () => {
  it('reads repeat.frequency per period and unit', () => {
    expect(timesPerDay({ repeat: { frequency: 2, period: 1, periodUnit: 'd' } })).toMatchObject({ ok: true, value: 2 });
    expect(timesPerDay({ repeat: { frequency: 1, period: 8, periodUnit: 'h' } })).toMatchObject({ ok: true, value: 3 });
    expect(timesPerDay({ repeat: { frequency: 1, period: 1, periodUnit: 'wk' } })).toMatchObject({
      ok: true,
      value: 1 / 7,
    });
  });

  it('takes one per period when only the period is given, and counts repeat.when', () => {
    expect(timesPerDay({ repeat: { period: 2, periodUnit: 'd' } })).toMatchObject({ ok: true, value: 0.5 });
    expect(timesPerDay({ repeat: { when: ['MORN', 'EVE'] } })).toMatchObject({ ok: true, value: 2 });
  });

  it('reads HL7 GTS codes (BID, TID, QOD) and says when there is no frequency', () => {
    expect(timesPerDay({ code: { coding: [{ code: 'TID' }] } })).toMatchObject({ ok: true, value: 3 });
    expect(timesPerDay({ code: { coding: [{ code: 'qod' }] } })).toMatchObject({ ok: true, value: 0.5 });
    expect(timesPerDay({})).toEqual({ ok: false, why: 'no timing frequency' });
  });
});

describe('a single dose in mg', () => {
  it('converts mass units', () => {
    expect(doseMg({ doseAndRate: mg(1, 'g') })).toMatchObject({ ok: true, value: 1000 });
    expect(doseMg({ doseAndRate: mg(500, 'ug') })).toMatchObject({ ok: true, value: 0.5 });
  });

  it.each([
    ['ug', 500, 0.5],
    ['µg', 500, 0.5],
    ['μg', 500, 0.5],
    ['mcg', 500, 0.5],
    ['MCG', 500, 0.5],
    ['mg', 5, 5],
    ['MG', 5, 5],
    ['g', 0.5, 500],
    ['ng', 2000, 0.002],
  ] as const)('reads a dose in %s through UCUM (%s of it is %s mg)', (unit, value, expected) => {
    const d = doseMg({ doseAndRate: mg(value, unit) });
    expect(d.ok && d.value).toBeCloseTo(expected, 9);
  });

  it.each(['mL', '[iU]', 'U', 'u', '{tbl}', 'mmol', 'mg/kg', '1', ''])(
    'does not read "%s" as a mass: the product strength must say',
    (unit) => {
      expect(doseMg({ doseAndRate: mg(1, unit) })).toMatchObject({ ok: false });
    },
  );

  it('needs the product strength for a dose in tablets, and uses the low end of a range', () => {
    expect(doseMg({ doseAndRate: mg(2, 'TAB') })).toMatchObject({ ok: false });
    expect(doseMg({ doseAndRate: mg(2, 'TAB') }, () => ({ mgPerUnit: 5, how: '5 mg per TAB' }))).toMatchObject({
      ok: true,
      value: 10,
    });
    expect(
      doseMg({ doseAndRate: [{ doseRange: { low: { value: 5, code: 'mg' }, high: { value: 10, code: 'mg' } } }] }),
    ).toMatchObject({ ok: true, value: 5 });
  });
});

describe('daily dose steps', () => {
  const daily = (amount: number, extra: Partial<Dosage> = {}): Dosage => ({
    doseAndRate: mg(amount),
    timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
    ...extra,
  });

  it('adds up lines that run together (10 mg morning + 5 mg evening)', () => {
    const r = doseSteps([daily(10), daily(5)]);
    expect(r.ok && r.value).toEqual([{ mgPerDay: 15, how: expect.any(String) }]);
  });

  it('follows a taper: sequences one after another, each as long as its bounds', () => {
    const bounds = (d: number) => ({
      timing: {
        repeat: { frequency: 1, period: 1, periodUnit: 'd' as const, boundsDuration: { value: d, code: 'd' } },
      },
    });
    const r = doseSteps([
      { sequence: 1, doseAndRate: mg(20), ...bounds(7) },
      { sequence: 2, doseAndRate: mg(10), ...bounds(7) },
      { sequence: 3, doseAndRate: mg(5), timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } } },
    ]);
    expect(r.ok && r.value.map((s) => [s.mgPerDay, s.days])).toEqual([
      [20, 7],
      [10, 7],
      [5, undefined],
    ]);
  });

  it('gives no daily dose for as-needed use or missing instructions', () => {
    expect(doseSteps([daily(10, { asNeededBoolean: true })])).toMatchObject({
      ok: false,
      why: expect.stringMatching(/as needed/),
    });
    expect(doseSteps(undefined)).toMatchObject({ ok: false, why: 'no dosage instructions' });
  });

  it('reads durations in UCUM time units', () => {
    expect(daysOf({ value: 3, code: 'mo' })).toBeCloseTo(91.31, 1);
    expect(daysOf({ value: 2, unit: 'wk' })).toBe(14);
    expect(daysOf({ value: 2, code: 'fortnights' })).toBeUndefined();
  });
});

describe('Timing in full, as EHRs send it', () => {
  const line = (amount: number, timing: Dosage['timing'], extra: Partial<Dosage> = {}): Dosage => ({
    doseAndRate: mg(amount),
    timing,
    ...extra,
  });

  it('spreads a dose on named weekdays over the week: 5 mg Mon/Wed/Fri is 2.14 mg/day', () => {
    const daily = doseSteps([
      line(5, { repeat: { frequency: 1, period: 1, periodUnit: 'd', dayOfWeek: ['mon', 'wed', 'fri'] } }),
    ]);
    expect(daily.ok && daily.value[0]?.mgPerDay).toBeCloseTo(15 / 7, 3);
    const weekly = doseSteps([
      line(5, { repeat: { frequency: 3, period: 1, periodUnit: 'wk', dayOfWeek: ['mon', 'wed', 'fri'] } }),
    ]);
    expect(weekly.ok && weekly.value[0]?.mgPerDay).toBeCloseTo(15 / 7, 3);
  });

  it('counts a single injection (count 1) as one dose on one day', () => {
    const r = doseSteps([line(40, { repeat: { count: 1 } })]);
    expect(r.ok && r.value).toEqual([expect.objectContaining({ mgPerDay: 40, days: 1 })]);
  });

  it('limits a course to the doses count or countMax allows', () => {
    const r = doseSteps([line(10, { repeat: { frequency: 2, period: 1, periodUnit: 'd', count: 10, countMax: 14 } })]);
    expect(r.ok && r.value[0]?.days).toBe(7);
  });

  it('counts when and timeOfDay entries only when no frequency is given', () => {
    expect(timesPerDay({ repeat: { timeOfDay: ['08:00:00', '20:00:00'] } })).toMatchObject({ ok: true, value: 2 });
    expect(timesPerDay({ repeat: { frequency: 1, period: 1, periodUnit: 'd', when: ['MORN', 'EVE'] } })).toMatchObject({
      ok: true,
      value: 1,
    });
  });

  it('ignores duration (how long one administration takes) for the daily amount', () => {
    const r = doseSteps([
      line(500, {
        repeat: {
          frequency: 1,
          period: 1,
          periodUnit: 'd',
          duration: 30,
          durationUnit: 'min',
          boundsDuration: { value: 3, code: 'd' },
        },
      }),
    ]);
    expect(r.ok && r.value[0]).toMatchObject({ mgPerDay: 500, days: 3 });
  });

  it('takes a boundsPeriod as the step length and its start date', () => {
    const r = doseSteps([
      line(20, {
        repeat: { frequency: 1, period: 1, periodUnit: 'd', boundsPeriod: { start: '2026-01-01', end: '2026-01-15' } },
      }),
    ]);
    expect(r.ok && r.value[0]).toMatchObject({ mgPerDay: 20, days: 14, startMs: Date.parse('2026-01-01T00:00:00Z') });
  });

  it('reads a taper sent without sequence numbers, line after line, instead of adding the lines up', () => {
    const step = (amount: number, days: number) =>
      line(amount, {
        repeat: { frequency: 1, period: 1, periodUnit: 'd', boundsDuration: { value: days, code: 'd' } },
      });
    const r = doseSteps([step(20, 7), step(10, 7), step(5, 7)]);
    expect(r.ok && r.value.map((s) => [s.mgPerDay, s.days])).toEqual([
      [20, 7],
      [10, 7],
      [5, 7],
    ]);
  });

  it('adds up morning and evening lines without sequence that run together', () => {
    const r = doseSteps([line(10, { repeat: { when: ['MORN'] } }), line(5, { repeat: { when: ['EVE'] } })]);
    expect(r.ok && r.value.map((s) => s.mgPerDay)).toEqual([15]);
  });

  it('leaves as-needed lines out of a regular dose, and takes the low end of a dose range', () => {
    const r = doseSteps([
      line(5, { repeat: { frequency: 1, period: 1, periodUnit: 'd' } }),
      line(
        20,
        { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
        { asNeededCodeableConcept: { text: 'flare' } },
      ),
    ]);
    expect(r.ok && r.value.map((s) => s.mgPerDay)).toEqual([5]);
    expect(r.ok && r.how).toMatch(/as-needed doses not counted/);
    const range = doseSteps([
      {
        doseAndRate: [{ doseRange: { low: { value: 5, code: 'mg' }, high: { value: 10, code: 'mg' } } }],
        timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } },
      },
    ]);
    expect(range.ok && range.value[0]?.mgPerDay).toBe(5);
  });
});
