import type { Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { concept, condition, dailyDosage, daysAgo, lab, medicationRequest, patient } from '../../demo/builders';
import { withheldMeasures } from '../withheld';
import { codes, lowPair, NOW, outcomeOf, ra, run, textUnit, woman } from './test-records';

const insulinF = (v = 10, minutes = 0, id = 'ins') => lab(id, 'p', 'insulinFasting', v, daysAgo(NOW, 20, minutes));
const glucoseF = (mgdl = 95, minutes = 0, id = 'glu') =>
  lab(id, 'p', 'glucoseFasting', mgdl, daysAgo(NOW, 20, minutes));
const glucoseRandom = (mgdl: number, minutes: number, id: string) =>
  lab(id, 'p', 'glucoseRandom', mgdl, daysAgo(NOW, 20, minutes));
const withCard = (obs: Observation[], more: Parameters<typeof run>[1] = []) => run(woman(60), [ra, ...obs, ...more]);

describe('homa-context', () => {
  it('adds the HOMA line to a finding card', () => {
    const e = withCard([insulinF(), glucoseF()]);
    expect(outcomeOf(e, 'homa-context').status).toBe('context');
    expect(e.findings[0]!.context.join(' ')).toMatch(/HOMA-IR/);
  });

  it('never pairs a fasting insulin with a post-load glucose drawn next to it', () => {
    // OGTT: fasting insulin at 0 min, a 2-h glucose (not fasting) within the pairing window of a second insulin.
    const e = withCard([insulinF(10, 0), glucoseRandom(180, 25, 'ogtt')]);
    expect(e.measures.map((m) => m.code)).not.toContain('homa-ir');
    expect(codes(e, 'homa-context')).toEqual(['not-fasting']);
  });

  it('pairs the fasting insulin with the fasting glucose closest in time', () => {
    const e = withCard([insulinF(10, 10), glucoseF(90, 0, 'g-far'), glucoseF(100, 12, 'g-near')]);
    expect(e.measures.find((m) => m.code === 'homa-ir')?.derivedFrom).toEqual([
      'Observation/ins',
      'Observation/g-near',
    ]);
  });

  it('reads insulin sent as "µIU/mL" and "mU/L" without a UCUM code', () => {
    for (const unit of ['µIU/mL', 'uIU/mL', 'mU/L', 'mIU/L', 'µU/mL']) {
      const e = withCard([textUnit(insulinF(10), unit), glucoseF()]);
      expect(
        e.measures.find((m) => m.code === 'homa-ir'),
        unit,
      ).toBeDefined();
    }
  });

  it.each([
    [
      'insulin glargine',
      medicationRequest(
        'ins-rx',
        'p',
        { text: 'Insulin glargine 100 units/mL pen' },
        { authoredOn: daysAgo(NOW, 60), supplyDays: 90 },
      ),
    ],
    [
      'glimepiride (ATC A10BB12)',
      medicationRequest('su', 'p', concept('atc', 'A10BB12', 'glimepiride'), {
        authoredOn: daysAgo(NOW, 60),
        supplyDays: 90,
      }),
    ],
    [
      'prednisone',
      medicationRequest('pred', 'p', concept('rxnorm', '8640', 'prednisone'), {
        authoredOn: daysAgo(NOW, 40),
        supplyDays: 30,
        dosage: [dailyDosage(20, 'mg', 1)],
      }),
    ],
  ])('gives no HOMA line with %s', (_n, rx) => {
    const e = withCard([insulinF(), glucoseF()], [rx]);
    expect(outcomeOf(e, 'homa-context').status).toBe('suppressed');
    expect(codes(e, 'homa-context')).toContain('interfering-medication');
  });

  it('gives no HOMA line in pregnancy', () => {
    const e = withCard([insulinF(), glucoseF()], [condition('preg', 'p', concept('sct', '77386006', 'Pregnancy'))]);
    expect(codes(e, 'homa-context')).toContain('interfering-condition');
  });

  it('leaves HOMA-β out of the measures below fasting glucose 4.0 mmol/L and says why', () => {
    const e = withCard([insulinF(), glucoseF(68)]);
    expect(e.measures.map((m) => m.code)).toContain('homa-ir');
    expect(e.measures.map((m) => m.code)).not.toContain('homa-beta');
    expect(outcomeOf(e, 'homa-context').reasons[0]).toMatchObject({
      code: 'glucose-below-minimum',
      params: { minimum: 4 },
    });
  });

  it('never rides on a missing-data card', () => {
    const e = run(woman(70), [lab('cr', 'p', 'creatinineMass', 0.8, daysAgo(NOW, 10)), insulinF(), glucoseF()]);
    const gap = e.findings.find((f) => f.ruleId === 'missing-ccr-input');
    expect(gap).toBeDefined();
    expect(gap!.context.join(' ')).not.toMatch(/HOMA/);
  });

  it('is quiet for a child', () => {
    expect(
      codes(run(patient('p', 'female', '2012-01-01'), [...lowPair(), insulinF(), glucoseF()]), 'homa-context'),
    ).toEqual(['age-below-adult']);
  });

  it('labels insulin resistance only at or above the HOMA-IR cut-off: a value below it gets no such label', () => {
    const brief = (insulin: number) =>
      withCard([insulinF(insulin), glucoseF()]).findings[0]!.briefContext?.join(' ') ?? '';
    // Glucose 95 mg/dL = 5.27 mmol/L: insulin 4 gives HOMA-IR 0.94, insulin 20 gives 4.69.
    expect(brief(4)).toMatch(/HOMA-IR 0\.94 and/);
    expect(brief(4)).not.toMatch(/insulin resistance/);
    expect(brief(20)).toMatch(/HOMA-IR 4\.69 \(insulin resistance\)/);
  });

  it('withholds HOMA-IR and HOMA-β from view, with the reason, for a patient on insulin named by its RxNorm code', () => {
    const lispro = medicationRequest('rx', 'p', concept('rxnorm', '86009', 'insulin lispro'), {
      authoredOn: daysAgo(NOW, 60),
      supplyDays: 90,
    });
    const e = withCard([insulinF(), glucoseF()], [lispro]);
    expect(codes(e, 'homa-context')).toContain('interfering-medication');
    expect(withheldMeasures(e).map((w) => w.code)).toEqual(['homa-ir', 'homa-beta']);
  });

  it('keeps HOMA-IR in view, qualified by its reason, when only the glucose is outside the model range', () => {
    const e = withCard([insulinF(), glucoseF(140)]);
    expect(codes(e, 'homa-context')).toEqual(['glucose-diabetic-range']);
    expect(withheldMeasures(e)).toEqual([]);
  });

  it('gives no HOMA line with an insulin order still active at the draw, though its supply arithmetic ended', () => {
    const glargine = medicationRequest('rx', 'p', concept('rxnorm', '274783', 'insulin glargine'), {
      authoredOn: daysAgo(NOW, 500),
      supplyDays: 30,
    });
    const e = withCard([insulinF(), glucoseF()], [glargine]);
    expect(codes(e, 'homa-context')).toContain('interfering-medication');
  });
});
