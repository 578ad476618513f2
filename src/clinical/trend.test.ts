import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { daysAgo, lab, patient } from '../demo/builders';
import { DEMO_PATIENTS } from '../demo/patients';
import { evaluatePatient } from './engine';
import { measureTrends } from './trend';
import type { MeasureCode } from './types';

const k = loadKnowledgeSync();
const NOW = new Date('2026-11-25T12:00:00Z');
const woman = patient('p1', 'female', '1950-02-10');

function trendsOf(observations: Observation[], p = woman, asOf = NOW) {
  const e = evaluatePatient({ patient: p, observations }, k, asOf);
  return { e, trends: measureTrends(e.patient, e.labs, k, asOf) };
}

/** The engine on one draw alone, the day after it: what that draw's point must say. */
function engineOnDraw(observations: Observation[], code: MeasureCode, p = woman) {
  const last = Math.max(...observations.map((o) => Date.parse(o.effectiveDateTime as string)));
  return evaluatePatient({ patient: p, observations }, k, new Date(last + 86_400_000)).measures.find(
    (m) => m.code === code,
  );
}

const drawsOverTwoYears = [
  [
    lab('cr-a', 'p1', 'creatinineMass', 0.9, daysAgo(NOW, 700)),
    lab('cys-a', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 700, 30)),
  ],
  [
    lab('cr-b', 'p1', 'creatinineMolar', 62, daysAgo(NOW, 380)),
    lab('cys-b', 'p1', 'cystatinC', 1.1, daysAgo(NOW, 380, 5)),
  ],
  [
    lab('cr-c', 'p1', 'creatinineMass', 0.6, daysAgo(NOW, 20)),
    lab('cys-c', 'p1', 'cystatinC', 1.05, daysAgo(NOW, 20, 10)),
  ],
];

describe('measure trends', () => {
  it('gives one point per same-draw pair, oldest first, each equal to the engine run on that draw alone', () => {
    const { trends } = trendsOf(drawsOverTwoYears.flat());
    for (const code of ['ccr', 'sarcopenia-index', 'egfr-cr-cys-2021'] as const) {
      expect(trends[code].map((p) => p.derivedFrom)).toEqual(
        drawsOverTwoYears.map((d) => d.map((o) => `Observation/${o.id}`)),
      );
      trends[code].forEach((point, i) => {
        const expected = engineOnDraw(drawsOverTwoYears[i] as Observation[], code);
        expect(point.value).toBe(expected?.value);
        expect(point.effective).toBe(expected?.effective);
      });
    }
  });

  it('ends with the very measure the engine reports today', () => {
    const { e, trends } = trendsOf(drawsOverTwoYears.flat());
    for (const m of e.measures) {
      const newest = trends[m.code].at(-1);
      expect(newest?.value, m.code).toBe(m.value);
      expect(newest?.derivedFrom, m.code).toEqual(m.derivedFrom);
    }
  });

  it('marks points older than the look-back window as history', () => {
    const { trends } = trendsOf(drawsOverTwoYears.flat());
    expect(trends.ccr.map((p) => p.inLookback)).toEqual([false, false, true]);
  });

  it('trends the single-marker eGFRs from every result, paired or not', () => {
    const lone = lab('cr-lone', 'p1', 'creatinineMass', 1.2, daysAgo(NOW, 100));
    const { trends } = trendsOf([...drawsOverTwoYears.flat(), lone]);
    expect(trends['egfr-cr-2021']).toHaveLength(4);
    expect(trends['egfr-cys-2012']).toHaveLength(3);
    expect(trends.ccr).toHaveLength(3);
    const lonePoint = trends['egfr-cr-2021'].find((p) => p.derivedFrom[0] === 'Observation/cr-lone');
    expect(lonePoint?.value).toBe(engineOnDraw([lone], 'egfr-cr-2021')?.value);
  });

  it('uses each result in one draw only, even when two creatinines sit near one cystatin C', () => {
    const obs = [
      lab('cr-1', 'p1', 'creatinineMass', 0.7, daysAgo(NOW, 10, 0)),
      lab('cr-2', 'p1', 'creatinineMass', 0.8, daysAgo(NOW, 10, 40)),
      lab('cys-1', 'p1', 'cystatinC', 1.0, daysAgo(NOW, 10, 20)),
    ];
    const { e, trends } = trendsOf(obs);
    expect(trends.ccr).toHaveLength(1);
    expect(trends.ccr[0]?.derivedFrom).toEqual(e.measures.find((m) => m.code === 'ccr')?.derivedFrom);
  });

  it('draws HOMA only from fasting insulin and glucose taken together', () => {
    const fasting = [
      lab('ins-f', 'p1', 'insulinFasting', 12, daysAgo(NOW, 50)),
      lab('glu-f', 'p1', 'glucoseFasting', 95, daysAgo(NOW, 50, 5)),
    ];
    const random = [
      lab('ins-r', 'p1', 'insulin', 30, daysAgo(NOW, 30)),
      lab('glu-r', 'p1', 'glucoseRandom', 140, daysAgo(NOW, 30, 5)),
    ];
    const { trends } = trendsOf([...fasting, ...random]);
    expect(trends['homa-ir'].map((p) => p.derivedFrom)).toEqual([['Observation/ins-f', 'Observation/glu-f']]);
    expect(trends['homa-ir'][0]?.value).toBe(engineOnDraw(fasting, 'homa-ir')?.value);
    expect(trends['homa-beta'][0]?.value).toBe(engineOnDraw(fasting, 'homa-beta')?.value);
  });

  it('leaves out the sex-specific equations when administrative gender is unknown', () => {
    const { trends } = trendsOf(drawsOverTwoYears.flat(), patient('p1', 'unknown', '1950-02-10'));
    expect(trends.ccr).toHaveLength(3);
    expect(trends['egfr-cr-2021']).toHaveLength(0);
    expect(trends['egfr-cr-cys-2021']).toHaveLength(0);
  });

  it('holds every measure the engine reports today, for every demo patient', () => {
    for (const d of DEMO_PATIENTS) {
      const [p, ...rest] = d.resources(NOW);
      const obs = rest.filter((r): r is Observation => r.resourceType === 'Observation');
      const { e, trends } = trendsOf(obs, p);
      // Trends are of laboratory measures; medication measures have no draws.
      for (const m of e.measures.filter(
        (x) => x.code in trends && x.code !== 'prednisone-equivalent-dose' && x.code !== 'glucocorticoid-exposure',
      )) {
        const same = trends[m.code].find((t) => t.derivedFrom.join() === m.derivedFrom.join());
        expect(same?.value, `${d.id} ${m.code}`).toBe(m.value);
        expect(same?.inLookback, `${d.id} ${m.code}`).toBe(true);
      }
    }
  });

  it('ends the pair measures with the pair the engine chose', () => {
    for (const d of DEMO_PATIENTS) {
      const [p, ...rest] = d.resources(NOW);
      const obs = rest.filter((r): r is Observation => r.resourceType === 'Observation');
      const { e, trends } = trendsOf(obs, p);
      for (const code of ['ccr', 'sarcopenia-index', 'egfr-cr-cys-2021', 'homa-ir', 'homa-beta'] as const) {
        const m = e.measures.find((x) => x.code === code);
        if (m)
          expect(trends[code].filter((t) => t.inLookback).at(-1)?.derivedFrom, `${d.id} ${code}`).toEqual(
            m.derivedFrom,
          );
      }
    }
  });
});
