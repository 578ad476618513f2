import type { DiagnosticReport, Observation, Specimen } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { lab } from '../demo/builders';
import { effectiveOf, normaliseObservations } from './observations';

const k = loadKnowledgeSync();
const P = 'Patient/p1';
const DRAW = '2026-11-02T08:10:00Z';
const cr = (id: string, value: number, extra: Partial<Observation> = {}): Observation => ({
  ...lab(id, 'p1', 'creatinineMass', value, DRAW),
  ...extra,
});
const ident = (value: string) => [{ system: 'urn:oid:1.2.3.4', value }];
const read = (obs: Observation[], reports: DiagnosticReport[] = [], specimens: Specimen[] = []) =>
  normaliseObservations(obs, P, k, { reports, specimens });
const used = (r: ReturnType<typeof read>) => r.labs.map((l) => `${l.reference}=${l.value}`);
const why = (r: ReturnType<typeof read>, ref: string) => r.rejected.find((x) => x.reference === ref);

describe('a corrected or amended result', () => {
  it('replaces the result of the same identifier, and only the replacement is used', () => {
    const r = read([
      cr('old', 0.5, { identifier: ident('A1'), issued: '2026-11-02T10:00:00Z' }),
      cr('new', 0.9, { identifier: ident('A1'), status: 'corrected', issued: '2026-11-03T09:00:00Z' }),
    ]);
    expect(used(r)).toEqual(['Observation/new=0.9']);
    expect(why(r, 'Observation/old')?.reason).toBe('superseded by Observation/new (corrected)');
    expect(why(r, 'Observation/old')?.unreadable).toBeUndefined();
  });

  it('replaces the result on the same accessioned specimen, and the result of the same order that day', () => {
    const spec: Specimen = {
      resourceType: 'Specimen',
      id: 's1',
      accessionIdentifier: { system: 'urn:acc', value: 'X9' },
    };
    const bySpecimen = read(
      [
        cr('old', 0.5, { specimen: { reference: 'Specimen/s1' }, issued: '2026-11-02T10:00:00Z' }),
        cr('new', 0.9, { specimen: { reference: 'Specimen/s1' }, status: 'amended', issued: '2026-11-02T12:00:00Z' }),
      ],
      [],
      [spec],
    );
    expect(used(bySpecimen)).toEqual(['Observation/new=0.9']);
    const byOrder = read([
      cr('old', 0.5, { basedOn: [{ reference: 'ServiceRequest/o1' }], issued: '2026-11-02T10:00:00Z' }),
      cr('new', 0.9, {
        basedOn: [{ reference: 'ServiceRequest/o1' }],
        status: 'corrected',
        issued: '2026-11-02T12:00:00Z',
      }),
    ]);
    expect(used(byOrder)).toEqual(['Observation/new=0.9']);
  });

  it('does not replace a result of the same standing order drawn on another day', () => {
    const r = read([
      {
        ...lab('jan', 'p1', 'creatinineMass', 0.5, '2026-01-05T08:00:00Z'),
        basedOn: [{ reference: 'ServiceRequest/o1' }],
      },
      cr('nov', 0.9, { basedOn: [{ reference: 'ServiceRequest/o1' }], status: 'corrected' }),
    ]);
    expect(used(r).sort()).toEqual(['Observation/jan=0.5', 'Observation/nov=0.9']);
  });

  it('replaces the results of a report whose corrected version lists the new ones, though each result says final', () => {
    const report = (
      id: string,
      status: DiagnosticReport['status'],
      result: string,
      issued: string,
    ): DiagnosticReport => ({
      resourceType: 'DiagnosticReport',
      id,
      status,
      identifier: ident('REPORT-7'),
      code: { text: 'Renal panel' },
      subject: { reference: P },
      issued,
      result: [{ reference: `Observation/${result}` }],
    });
    const r = read(
      [cr('old', 0.5), cr('new', 0.9)],
      [report('r1', 'final', 'old', '2026-11-02T10:00:00Z'), report('r2', 'corrected', 'new', '2026-11-04T10:00:00Z')],
    );
    expect(used(r)).toEqual(['Observation/new=0.9']);
  });

  it('that is itself the latest version entered in error takes the versions it replaced with it', () => {
    const r = read([
      cr('old', 0.5, { identifier: ident('A1'), issued: '2026-11-02T10:00:00Z' }),
      cr('fix', 0.9, { identifier: ident('A1'), status: 'entered-in-error', issued: '2026-11-03T10:00:00Z' }),
    ]);
    expect(r.labs).toEqual([]);
    expect(why(r, 'Observation/old')?.reason).toMatch(/entered-in-error/);
  });

  it('leaves two final results of the same identifier both in use when neither corrects the other', () => {
    const r = read([cr('a', 0.5, { identifier: ident('A1') }), cr('b', 0.6, { identifier: ident('A1') })]);
    expect(r.labs).toHaveLength(2);
  });
});

describe('a result whose status says it is not one', () => {
  it('is never used when entered in error or cancelled, and is not read as unreadable either', () => {
    const r = read([cr('e', 0.5, { status: 'entered-in-error' }), cr('c', 0.5, { status: 'cancelled' })]);
    expect(r.labs).toEqual([]);
    expect(r.rejected.map((x) => [x.reference, x.unreadable])).toEqual([
      ['Observation/e', undefined],
      ['Observation/c', undefined],
    ]);
  });
});

describe('results reached through a DiagnosticReport or a panel', () => {
  const contained = (id: string, value: number): Observation => {
    const { subject: _s, effectiveDateTime: _e, ...o } = lab(id, 'p1', 'cystatinC', value, DRAW);
    return o as Observation;
  };
  const report = (status: DiagnosticReport['status']): DiagnosticReport => ({
    resourceType: 'DiagnosticReport',
    id: 'rep',
    status,
    code: { text: 'Cystatin C' },
    subject: { reference: P },
    effectiveDateTime: DRAW,
    contained: [contained('c1', 1.1)],
    result: [{ reference: '#c1' }],
  });

  it('reads a contained result, which takes the report subject and time', () => {
    const r = read([], [report('final')]);
    expect(r.labs.map((l) => [l.reference, l.value, l.effective])).toEqual([['DiagnosticReport/rep#c1', 1.1, DRAW]]);
  });

  it('sets aside every result of an entered-in-error report, contained or referenced', () => {
    const rep = { ...report('entered-in-error'), result: [{ reference: '#c1' }, { reference: 'Observation/cr1' }] };
    const r = read([cr('cr1', 0.6)], [rep]);
    expect(r.labs).toEqual([]);
    expect(why(r, 'Observation/cr1')?.reason).toBe('listed by DiagnosticReport/rep, which is entered-in-error');
  });

  it('reads a panel member and a component, and a panel entered in error takes its members with it', () => {
    const panel = (status: Observation['status']): Observation => ({
      resourceType: 'Observation',
      id: 'panel',
      status,
      code: { text: 'Renal panel' },
      subject: { reference: P },
      effectiveDateTime: DRAW,
      contained: [contained('m1', 1.2)],
      hasMember: [{ reference: '#m1' }],
      component: [
        {
          code: { coding: [{ system: 'http://loinc.org', code: '2160-0' }] },
          valueQuantity: { value: 0.7, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
        },
      ],
    });
    expect(used(read([panel('final')])).sort()).toEqual(['Observation/panel#m1=1.2', 'Observation/panel=0.7']);
    expect(used(read([panel('final'), { ...cr('x', 1), status: 'final' }]))).toContain('Observation/x=1');
    const gone = read([{ ...panel('entered-in-error'), component: [] }]);
    expect(gone.labs).toEqual([]);
  });
});

describe('dataAbsentReason', () => {
  const absent = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'error' }] };
  it('on a value makes the result unreadable ("could not be checked"), never absent', () => {
    const { valueQuantity: _v, ...o } = cr('x', 1);
    const r = read([{ ...o, dataAbsentReason: absent }]);
    expect(r.labs).toEqual([]);
    expect(why(r, 'Observation/x')).toMatchObject({ unreadable: true, reason: 'no value: data absent (error)' });
  });

  it('on a component makes that component unreadable, and a value beside it leaves the value in doubt', () => {
    const panel: Observation = {
      resourceType: 'Observation',
      id: 'p',
      status: 'final',
      code: { text: 'panel' },
      subject: { reference: P },
      effectiveDateTime: DRAW,
      component: [{ code: { coding: [{ system: 'http://loinc.org', code: '33863-2' }] }, dataAbsentReason: absent }],
    };
    expect(why(read([panel]), 'Observation/p')).toMatchObject({ unreadable: true, analyte: 'cystatin-c' });
    expect(why(read([{ ...cr('both', 1), dataAbsentReason: absent }]), 'Observation/both')?.unreadable).toBe(true);
  });
});

describe('effective[x]', () => {
  it('dates a period by its end (or its start while it has none), and an instant as itself', () => {
    expect(effectiveOf({ effectivePeriod: { start: '2026-11-01T08:00:00Z', end: '2026-11-02T08:00:00Z' } })).toBe(
      '2026-11-02T08:00:00Z',
    );
    expect(effectiveOf({ effectivePeriod: { start: '2026-11-01T08:00:00Z' } })).toBe('2026-11-01T08:00:00Z');
    const { effectiveDateTime: _e, ...o } = cr('i', 0.8);
    const r = read([{ ...o, effectiveInstant: '2026-11-02T08:10:00.000Z' }]);
    expect(r.labs[0]?.effective).toBe('2026-11-02T08:10:00.000Z');
  });
});

describe('CRP and creatinine variants, by their published LOINC codes', () => {
  const recoded = (o: Observation, code: string): Observation => ({
    ...o,
    code: { coding: [{ system: 'http://loinc.org', code }] },
  });
  const crpAs = (code: string, unit = 'mg/L') => recoded(lab(`crp-${code}`, 'p1', 'crp', 12, DRAW, { unit }), code);

  it('reads hs-CRP (30522-7) as CRP, and a molar CRP (76485-2, 76486-0) as a CRP that could not be checked', () => {
    const r = read([crpAs('30522-7'), crpAs('76485-2', 'nmol/L'), crpAs('76486-0', 'nmol/L')]);
    expect(r.labs.map((l) => [l.analyte, l.code, l.value])).toEqual([['crp', '30522-7', 12]]);
    expect(r.rejected.map((x) => [x.analyte, x.code, x.unreadable])).toEqual([
      ['crp', '76485-2', true],
      ['crp', '76486-0', true],
    ]);
  });

  it('does not read whole-blood (38483-4) or urine (2161-8) creatinine as the serum creatinine the CCR needs', () => {
    const r = read([recoded(cr('wb', 0.6), '38483-4'), recoded(cr('urine', 80), '2161-8')]);
    expect(r.labs).toEqual([]);
    expect(r.rejected).toEqual([]);
  });
});
