/**
 * `crosstalk demo-population`: a synthetic FHIR Bulk Data export (one NDJSON file per resource type) of N patients,
 * deterministic per seed and evaluation date, written patient by patient so no size needs more memory than one.
 *
 * The distributions are chosen so that the truth is known: in the population the low-CCR rule can judge (age ≥ 50,
 * sex known, a same-draw pair read in the window, eGFRcr-cys ≥ 60, no confounder), CCR is normal per sex with a
 * mean that falls with age, and every way a patient drops out (missing data, mess, confounders, kidney disease) is
 * drawn independently of that CCR. `trueCcrPercentile` gives the percentile those parameters imply, which a
 * calibration of the generated export must recover.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CodeableConcept, Resource } from 'fhir/r4';
import { normalQuantile } from '../calibrate/stats';
import { egfrCrCys2021, type Sex } from '../clinical';
import { concept, condition, dailyDosage, lab, medicationRequest, patient } from './builders';

export interface PopulationParams {
  /** CCR (creatinine mg/dL ÷ cystatin C mg/L) in adults with healthy kidneys, at age 50, per sex. */
  ccrMeanAt50: Record<Sex, number>;
  /** Fall in the mean CCR per year of age past 50 (muscle is lost with age). */
  ccrDeclinePerYear: number;
  ccrSd: Record<Sex, number>;
  /** Ages are whole years, uniform in each range; the second range holds the patients the CCR rule is for. */
  youngShare: number;
  youngAges: [number, number];
  olderAges: [number, number];
}

export const DEFAULT_PARAMS: PopulationParams = {
  ccrMeanAt50: { female: 0.86, male: 1.02 },
  ccrDeclinePerYear: 0.004,
  ccrSd: { female: 0.15, male: 0.17 },
  youngShare: 0.3,
  youngAges: [18, 49],
  olderAges: [50, 89],
};

function normalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 on erf: absolute error below 1.5e-7, far under a CCR bin.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function ccrMean(params: PopulationParams, sex: Sex, age: number): number {
  return params.ccrMeanAt50[sex] - params.ccrDeclinePerYear * (age - 50);
}

/**
 * The p-th percentile of CCR that the parameters imply for the eligible population of one sex: a mixture over the
 * (uniform, whole-year) ages 50–89 of normals, solved by bisection.
 */
export function trueCcrPercentile(params: PopulationParams, sex: Sex, p: number): number {
  const [a0, a1] = params.olderAges;
  const ages = Array.from({ length: a1 - a0 + 1 }, (_, i) => a0 + i);
  const cdf = (x: number) =>
    ages.reduce((s, a) => s + normalCdf((x - ccrMean(params, sex, a)) / params.ccrSd[sex]), 0) / ages.length;
  let lo = 0;
  let hi = 3;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < p / 100) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** mulberry32: small, fast and good enough for synthetic data; one stream per patient keeps patients independent. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fmix(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The stream of patient i under a seed: the seed is hashed before i is added, so seeds never share patients. */
function mix(seed: number, i: number): number {
  return fmix((fmix(seed ^ 0x9e3779b9) + Math.imul(i, 0x9e3779b1)) >>> 0);
}

class Draw {
  constructor(readonly next: () => number) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  uniform(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }
  normal(mean: number, sd: number): number {
    // Inverse-CDF rather than Box–Muller: one uniform per value keeps the stream's use simple to follow.
    const u = Math.min(Math.max(this.next(), 1e-12), 1 - 1e-12);
    return mean + sd * normalQuantile(u);
  }
  pick<T>(items: readonly (readonly [T, number])[]): T {
    let u = this.next() * items.reduce((s, [, w]) => s + w, 0);
    for (const [item, w] of items) if ((u -= w) < 0) return item;
    return (items[items.length - 1] as readonly [T, number])[0];
  }
}

const DAY = 86_400_000;

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function at(nowMs: number, daysBefore: number, minutes = 0): string {
  const d = new Date(nowMs - daysBefore * DAY);
  d.setUTCHours(8, minutes, 0, 0);
  return d.toISOString();
}

/** A birth date that makes the patient exactly `age` whole years old on `now`. */
function birthDateFor(nowMs: number, age: number, d: Draw): string {
  const day = new Date(nowMs - d.int(1, 360) * DAY);
  const y = day.getUTCFullYear() - age;
  const md = day.toISOString().slice(5, 10);
  return `${String(y).padStart(4, '0')}-${md === '02-29' ? '02-28' : md}`;
}

const CREATININE_UNITS: readonly (readonly [{ unit: string; molar: boolean }, number])[] = [
  [{ unit: 'mg/dL', molar: false }, 50],
  [{ unit: 'mg/dl', molar: false }, 8],
  [{ unit: 'umol/L', molar: true }, 25],
  [{ unit: 'µmol/L', molar: true }, 10],
  [{ unit: 'µmol/l', molar: true }, 5],
  // Not a unit anyone's code knows: the report must show it as not recognised.
  [{ unit: 'umol/litre', molar: true }, 2],
];

const CYSTATIN_UNITS = [
  ['mg/L', 90],
  ['mg/l', 9],
  ['mg/dl', 1],
] as const;

const PREDNISONE: CodeableConcept = concept('rxnorm', '8640', 'prednisone', 'Prednisone 10 mg oral tablet');
const LETROZOLE: CodeableConcept = concept('rxnorm', '72965', 'letrozole', 'Letrozole 2.5 mg oral tablet');
const LEUPROLIDE: CodeableConcept = concept('rxnorm', '42375', 'leuprolide', 'Leuprolide 22.5 mg depot injection');
const CONDITIONS = {
  hyperthyroidism: concept('icd10cm', 'E05.90', 'Thyrotoxicosis, unspecified'),
  rheumatoidArthritis: concept('sct', '69896004', 'Rheumatoid arthritis'),
  type2Diabetes: concept('icd10cm', 'E11.9', 'Type 2 diabetes mellitus without complications'),
  ckd4: concept('icd10cm', 'N18.4', 'Chronic kidney disease, stage 4 (severe)'),
  hypertension: concept('icd10cm', 'I10', 'Essential (primary) hypertension'),
  malignancy: concept('sct', '363346000', 'Malignant neoplastic disease'),
};

/**
 * One synthetic patient and everything recorded about them. Every random choice comes from the patient's own stream,
 * so patient i is the same whatever N is, and a subset of a run is the same as a run of the subset.
 */
export function syntheticPatient(
  index: number,
  seed: number,
  nowMs: number,
  params: PopulationParams = DEFAULT_PARAMS,
): Resource[] {
  const d = new Draw(rng(mix(seed, index)));
  const id = `syn-${seed}-${index}`;
  const out: Resource[] = [];
  const sexDraw = d.pick<Sex | 'unknown' | 'absent'>([
    ['female', 52],
    ['male', 46],
    ['unknown', 1],
    ['absent', 1],
  ]);
  const sex: Sex | undefined = sexDraw === 'female' || sexDraw === 'male' ? sexDraw : undefined;
  const young = d.chance(params.youngShare);
  const [lo, hi] = young ? params.youngAges : params.olderAges;
  const age = d.int(lo, hi);
  const birth = d.chance(0.01) ? undefined : birthDateFor(nowMs, age, d);
  const p = patient(id, sexDraw === 'absent' ? undefined : sexDraw, birth, `Synthetic${index}`);
  p.identifier = [{ system: 'urn:example:mrn', value: `MRN${seed}${String(index).padStart(8, '0')}` }];
  out.push(p);
  const eqSex: Sex = sex ?? 'female';

  // Kidney disease (about 12 %): both markers high, eGFRcr-cys below 60, often with a CKD diagnosis on record.
  const ckd = d.chance(0.12);
  const glucocorticoid = d.chance(0.06);
  let ccr = d.normal(ccrMean(params, eqSex, age), params.ccrSd[eqSex]);
  // Glucocorticoids raise cystatin C: a lower ratio in patients the rule suppresses anyway.
  if (glucocorticoid) ccr -= 0.1;
  ccr = Math.min(Math.max(ccr, 0.3), 2.2);
  let cys = 0;
  for (let tries = 0; tries < 20; tries++) {
    cys = ckd ? d.uniform(1.7, 3.6) : d.uniform(0.7, 1.25);
    const e = egfrCrCys2021(ccr * cys, cys, age + 1, eqSex);
    if (ckd ? e < 55 : e >= 65) break;
    cys = ckd ? 3.6 : 0.7;
  }
  const creatinine = ccr * cys;

  // Labs: most have a same-draw pair in the 12-month window; the rest are the usual gaps.
  const labs = d.pick([
    ['pair', 74],
    ['apart', 3],
    ['old-pair', 8],
    ['creatinine-only', 8],
    ['none', 7],
  ] as const);
  const daysBefore = labs === 'old-pair' ? d.int(400, 700) : d.int(2, 330);
  const crUnit = d.pick(CREATININE_UNITS);
  const cysUnit = d.pick(CYSTATIN_UNITS);
  const crValue = crUnit.molar ? Math.round(creatinine * 88.42) : Number(creatinine.toFixed(2));
  const cysValue = cysUnit === 'mg/dl' ? Number((cys / 10).toFixed(3)) : Number(cys.toFixed(2));
  const crStatus = d.pick([
    ['final', 95],
    ['amended', 2],
    ['preliminary', 2],
    ['entered-in-error', 1],
  ] as const);
  const cysComparator = d.chance(0.01) ? ('<' as const) : undefined;
  if (labs !== 'none') {
    out.push(
      lab(`${id}-cr`, id, crUnit.molar ? 'creatinineMolar' : 'creatinineMass', crValue, at(nowMs, daysBefore), {
        unit: crUnit.unit,
        status: crStatus,
      }),
    );
  }
  if (labs === 'pair' || labs === 'old-pair' || labs === 'apart') {
    const cysDays = labs === 'apart' ? daysBefore - 5 : daysBefore;
    out.push(
      lab(`${id}-cys`, id, 'cystatinC', cysValue, at(nowMs, cysDays, 20), {
        unit: cysUnit,
        ...(cysComparator ? { comparator: cysComparator } : {}),
      }),
    );
  }
  if (d.chance(0.3)) {
    const crp = d.chance(0.1) ? d.uniform(12, 80) : d.uniform(0.3, 8);
    out.push(lab(`${id}-crp`, id, 'crp', Number(crp.toFixed(1)), at(nowMs, Math.max(0, daysBefore - d.int(0, 5)), 40)));
  }
  if (d.chance(0.5)) {
    const bmi = d.chance(0.05)
      ? d.pick([
          [d.uniform(15, 18.4), 1],
          [d.uniform(40, 48), 1],
        ] as const)
      : d.uniform(19, 39);
    out.push(lab(`${id}-bmi`, id, 'bmi', Number(bmi.toFixed(1)), at(nowMs, d.int(1, 300), 50)));
  }
  // A local code no terminology maps: seen in real exports, counted in the report as not recognised.
  if (d.chance(0.05)) {
    const local = lab(`${id}-local`, id, 'creatinineMass', Number(creatinine.toFixed(2)), at(nowMs, daysBefore, 5));
    local.code = { coding: [{ system: 'http://example.org/local-lab-codes', code: 'CREA-S' }], text: 'Creat serum' };
    out.push(local);
  }

  if (glucocorticoid) {
    // Started before the draw and still taken at it: the confounder the low-CCR rule suppresses for.
    out.push(
      medicationRequest(`${id}-gc`, id, PREDNISONE, {
        authoredOn: at(nowMs, daysBefore + d.int(20, 60)),
        supplyDays: 90,
        repeats: 3,
        dosage: [
          dailyDosage(
            d.pick([
              [5, 2],
              [10, 2],
              [20, 1],
            ] as const),
            'mg',
            1,
          ),
        ],
      }),
    );
  }
  if (d.chance(0.04)) {
    const product = sex === 'male' ? LEUPROLIDE : LETROZOLE;
    out.push(
      medicationRequest(`${id}-endo`, id, product, {
        authoredOn: at(nowMs, d.int(30, 400)),
        supplyDays: 90,
        repeats: 3,
      }),
    );
  }
  const onset = () => isoDay(nowMs - d.int(200, 4000) * DAY);
  if (ckd && d.chance(0.5)) out.push(condition(`${id}-ckd`, id, CONDITIONS.ckd4, { onset: onset() }));
  if (d.chance(0.02)) out.push(condition(`${id}-thy`, id, CONDITIONS.hyperthyroidism, { onset: onset() }));
  if (d.chance(0.03)) out.push(condition(`${id}-ra`, id, CONDITIONS.rheumatoidArthritis, { onset: onset() }));
  if (d.chance(0.02)) out.push(condition(`${id}-ca`, id, CONDITIONS.malignancy, { onset: onset() }));
  if (d.chance(0.12)) out.push(condition(`${id}-t2d`, id, CONDITIONS.type2Diabetes, { onset: onset() }));
  if (d.chance(0.3)) out.push(condition(`${id}-htn`, id, CONDITIONS.hypertension, { onset: onset() }));
  return out;
}

/** Files one write at a time with backpressure, buffered so a million small lines are a few hundred writes. */
class NdjsonFiles {
  private readonly streams = new Map<string, { stream: fs.WriteStream; buffer: string[]; size: number }>();
  constructor(private readonly dir: string) {}
  async add(resource: Resource): Promise<void> {
    let f = this.streams.get(resource.resourceType);
    if (!f) {
      f = { stream: fs.createWriteStream(path.join(this.dir, `${resource.resourceType}.ndjson`)), buffer: [], size: 0 };
      this.streams.set(resource.resourceType, f);
    }
    const line = JSON.stringify(resource);
    f.buffer.push(line);
    f.size += line.length + 1;
    if (f.size > 1 << 20) await this.flush(f);
  }
  private async flush(f: { stream: fs.WriteStream; buffer: string[]; size: number }): Promise<void> {
    const text = `${f.buffer.join('\n')}\n`;
    f.buffer = [];
    f.size = 0;
    if (!f.stream.write(text)) await new Promise<void>((resolve) => f.stream.once('drain', resolve));
  }
  async close(): Promise<string[]> {
    for (const f of this.streams.values()) {
      if (f.buffer.length) await this.flush(f);
      await new Promise<void>((resolve, reject) => f.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    }
    return [...this.streams.keys()].sort();
  }
}

export interface PopulationOptions {
  patients: number;
  seed: number;
  now: Date;
  out: string;
  params?: PopulationParams;
}

/** Writes the export and a Bulk Data style manifest; returns the resource types written. */
export async function writePopulation(o: PopulationOptions): Promise<string[]> {
  fs.mkdirSync(o.out, { recursive: true });
  const files = new NdjsonFiles(o.out);
  const nowMs = o.now.getTime();
  for (let i = 0; i < o.patients; i++) {
    for (const r of syntheticPatient(i, o.seed, nowMs, o.params)) await files.add(r);
  }
  const types = await files.close();
  const manifest = {
    transactionTime: o.now.toISOString(),
    request: `crosstalk demo-population --patients ${o.patients} --seed ${o.seed}`,
    requiresAccessToken: false,
    output: types.map((type) => ({ type, url: `${type}.ndjson` })),
    error: [],
  };
  fs.writeFileSync(path.join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return types;
}
