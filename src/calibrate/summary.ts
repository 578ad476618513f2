/**
 * From aggregates to what people read: calibration.json and the site knowledge file. Every count shown is a cell
 * of at least 10 patients or the words "< 10"; labels seen fewer than 10 times (a unit spelling, a local code) are
 * not named at all, since a rare string can itself point at someone. No percentile is proposed from fewer than 10.
 */
import type { Knowledge, Sex } from '../clinical';
import { AGE_BANDS, type Aggregates, type Counts, LOW_CCR } from './aggregate';
import { bootstrapInterval, countBelow, type Histogram, mergeHistograms, percentile, total } from './stats';

export const SMALL_CELL = 10;
export type Cell = number | '< 10';

export function cell(n: number): Cell {
  return n < SMALL_CELL ? '< 10' : n;
}

const SEXES: Sex[] = ['female', 'male'];
/** Display bins for the CCR pictures: 0.05 wide from 0.30 to 1.60, with one bin for each tail. */
export const DISPLAY_EDGES = Array.from({ length: 27 }, (_, i) => Number((0.3 + i * 0.05).toFixed(2)));

export interface CalibrationOptions {
  percentile: number;
  minPerSex: number;
  source: string;
  asOf: string;
}

export interface Proposal {
  sex: Sex;
  eligible: Cell;
  /** Absent when fewer than 10 patients were judged: no percentile of a handful of people is shown or used. */
  threshold?: number;
  ci95?: [number, number];
  current: number;
}

export interface Calibration {
  format: 'crosstalk-calibration/1';
  knowledgeVersion: string;
  asOf: string;
  source: string;
  percentile: number;
  minPerSex: number;
  drawMonths: { from?: string; to?: string };
  population: {
    patients: Cell;
    bySexAndAge: { sex: string; ageBand: string; patients: Cell }[];
    withoutSex: Cell;
    withoutBirthDate: Cell;
  };
  thresholds: { provisional: boolean; proposals: Proposal[] };
  ccrDistribution: { sex: Sex; ageBand: string; bins: { from?: number; to?: number; patients: Cell }[] }[];
  cards: {
    byRule: { ruleId: string; current: Cell; proposed: Cell }[];
    patientsWithCards: { current: Cell; proposed: Cell };
  };
  outcomes: { ruleId: string; status: string; reason: string; patients: Cell }[];
  dataQuality: {
    units: { analyte: string; unit: string; recognised: boolean; results: Cell }[];
    rareUnitSpellings: Cell;
    rejected: { analyte: string; reason: string; results: Cell }[];
    unknownCodes: { system: string; code: string; results: Cell }[];
    rareUnknownCodes: Cell;
    orphanResources: Cell;
  };
}

function split(key: string): string[] {
  return key.split('|');
}

function histogramOf(agg: Aggregates, keep: (sex: string, band: string, company: string) => boolean): Histogram {
  let h: Histogram = {};
  for (const [key, hist] of Object.entries(agg.ccr)) {
    const [sex = '', band = '', company = ''] = split(key);
    if (keep(sex, band, company)) h = mergeHistograms(h, hist);
  }
  return h;
}

function sortedEntries(c: Counts): [string, number][] {
  return Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function displayBins(h: Histogram): { from?: number; to?: number; patients: Cell }[] {
  const edges = DISPLAY_EDGES;
  const out: { from?: number; to?: number; patients: Cell }[] = [];
  const below = (x: number) => countBelow(h, x);
  out.push({ to: edges[0] as number, patients: cell(below(edges[0] as number)) });
  for (let i = 0; i + 1 < edges.length; i++) {
    const from = edges[i] as number;
    const to = edges[i + 1] as number;
    out.push({ from, to, patients: cell(below(to) - below(from)) });
  }
  const last = edges[edges.length - 1] as number;
  out.push({ from: last, patients: cell(total(h) - below(last)) });
  return out;
}

export function thresholdsOf(k: Knowledge): Record<Sex, number> {
  return { ...k.rules[LOW_CCR].threshold.below };
}

export function summarise(agg: Aggregates, k: Knowledge, o: CalibrationOptions): Calibration {
  const current = thresholdsOf(k);
  const proposals: Proposal[] = SEXES.map((sex) => {
    const h = histogramOf(agg, (s) => s === sex);
    const n = total(h);
    const base: Proposal = { sex, eligible: cell(n), current: current[sex] };
    if (n < SMALL_CELL) return base;
    const threshold = percentile(h, o.percentile);
    const ci95 = bootstrapInterval(h, o.percentile);
    return { ...base, ...(threshold !== undefined ? { threshold } : {}), ...(ci95 ? { ci95 } : {}) };
  });
  const enough = SEXES.every((sex) => total(histogramOf(agg, (s) => s === sex)) >= o.minPerSex);
  const proposed: Record<Sex, number> = {
    female: proposals[0]?.threshold ?? current.female,
    male: proposals[1]?.threshold ?? current.male,
  };

  // One card per patient. Low-CCR holds it where nothing else fired (`alone`) or where it is ahead of what else fired
  // (`ahead:<rule>`, which holds the card instead when low-CCR does not fire); behind a rule that fired (`folded`)
  // it never does. Counted per sex below each threshold, from the same histograms.
  const below = (cut: Record<Sex, number>, keep: (company: string) => boolean) =>
    SEXES.reduce(
      (s, sex) =>
        s +
        countBelow(
          histogramOf(agg, (x, _b, c) => x === sex && keep(c)),
          cut[sex],
        ),
      0,
    );
  const own = (cut: Record<Sex, number>) => below(cut, (c) => c !== 'folded');
  const alone = (cut: Record<Sex, number>) => below(cut, (c) => c === 'alone');
  const rules = [...new Set([...Object.keys(agg.cards), ...Object.keys(agg.outcomes).map((k) => split(k)[0] ?? '')])]
    .filter((r) => r)
    .sort();
  const byRule = rules.map((ruleId) => {
    const now = agg.cards[ruleId] ?? 0;
    const later =
      ruleId === LOW_CCR
        ? now - own(current) + own(proposed)
        : now + below(current, (c) => c === `ahead:${ruleId}`) - below(proposed, (c) => c === `ahead:${ruleId}`);
    return { ruleId, current: cell(now), proposed: cell(later) };
  });

  const bands = AGE_BANDS.filter((b) => b !== '18-49');
  const ccrDistribution = SEXES.flatMap((sex) =>
    bands.map((ageBand) => ({
      sex,
      ageBand,
      bins: displayBins(histogramOf(agg, (s, b) => s === sex && b === ageBand)),
    })),
  );

  const withoutSex = sortedEntries(agg.bySexAge)
    .filter(([k]) => split(k)[0] === 'unknown')
    .reduce((s, [, v]) => s + v, 0);
  const withoutBirth = sortedEntries(agg.bySexAge)
    .filter(([k]) => split(k)[1] === 'unknown')
    .reduce((s, [, v]) => s + v, 0);

  const units = sortedEntries(agg.units).map(([k, v]) => {
    const [analyte = '', unit = '', recognised = ''] = split(k);
    return { analyte, unit, recognised: recognised === 'yes', results: v };
  });
  const unknown = sortedEntries(agg.unknownCodes).map(([k, v]) => {
    const [system = '', code = ''] = split(k);
    return { system, code, results: v };
  });

  return {
    format: 'crosstalk-calibration/1',
    knowledgeVersion: k.version,
    asOf: o.asOf,
    source: o.source,
    percentile: o.percentile,
    minPerSex: o.minPerSex,
    drawMonths: agg.drawMonths,
    population: {
      patients: cell(agg.patients),
      bySexAndAge: sortedEntries(agg.bySexAge).map(([k, v]) => {
        const [sex = '', ageBand = ''] = split(k);
        return { sex, ageBand, patients: cell(v) };
      }),
      withoutSex: cell(withoutSex),
      withoutBirthDate: cell(withoutBirth),
    },
    thresholds: { provisional: !enough, proposals },
    ccrDistribution,
    cards: {
      byRule,
      patientsWithCards: {
        current: cell(agg.patientsWithCards),
        proposed: cell(agg.patientsWithCards - alone(current) + alone(proposed)),
      },
    },
    outcomes: sortedEntries(agg.outcomes).map(([k, v]) => {
      const [ruleId = '', status = '', reason = ''] = split(k);
      return { ruleId, status, reason, patients: cell(v) };
    }),
    dataQuality: {
      units: units.filter((u) => u.results >= SMALL_CELL).map((u) => ({ ...u, results: cell(u.results) })),
      rareUnitSpellings: cell(units.filter((u) => u.results < SMALL_CELL).length),
      rejected: sortedEntries(agg.rejected).map(([k, v]) => {
        const [analyte = '', reason = ''] = split(k);
        return { analyte, reason, results: cell(v) };
      }),
      unknownCodes: unknown.filter((u) => u.results >= SMALL_CELL).map((u) => ({ ...u, results: cell(u.results) })),
      rareUnknownCodes: cell(unknown.filter((u) => u.results < SMALL_CELL).length),
      orphanResources: cell(agg.orphanResources),
    },
  };
}

/**
 * The site knowledge file: only the threshold, merged over the shipped knowledge by the service as any site file
 * is. Provisional stays true unless both sexes had at least `minPerSex` patients judged.
 */
export function siteKnowledge(c: Calibration): unknown {
  const female = c.thresholds.proposals.find((p) => p.sex === 'female');
  const male = c.thresholds.proposals.find((p) => p.sex === 'male');
  const value = (p?: Proposal) => p?.threshold ?? p?.current ?? 0.7;
  const ci = (p?: Proposal) =>
    p?.ci95 ? `${p.ci95[0].toFixed(3)}–${p.ci95[1].toFixed(3)}` : 'not computed (fewer than 10 patients)';
  const months = c.drawMonths.from ? `${c.drawMonths.from} to ${c.drawMonths.to}` : 'no draws';
  const provenance =
    `Sex-specific ${ordinal(c.percentile)} percentile of the creatinine/cystatin C ratio in this site's patients the ` +
    `low-CCR rule judges (age ≥ 50, same-draw pair, eGFRcr-cys ≥ 60, no suppression), computed by crosstalk calibrate ` +
    `from ${c.source}, draws ${months}, evaluated as of ${c.asOf.slice(0, 10)}: women ${value(female)} ` +
    `(n ${female?.eligible ?? 0}, bootstrap 95% CI ${ci(female)}), men ${value(male)} (n ${male?.eligible ?? 0}, ` +
    `bootstrap 95% CI ${ci(male)}).` +
    (c.thresholds.provisional
      ? ` PROVISIONAL: fewer than ${c.minPerSex} patients of at least one sex were judged.`
      : '') +
    ' A population percentile, not a validated cut-off for low muscle mass [evidence: ccr-threshold-provisional]';
  const calibration = {
    method: 'percentile',
    percentile: c.percentile,
    n: { female: female?.eligible ?? '< 10', male: male?.eligible ?? '< 10' },
    ...(female?.ci95 || male?.ci95
      ? { ci95: { ...(female?.ci95 ? { female: female.ci95 } : {}), ...(male?.ci95 ? { male: male.ci95 } : {}) } }
      : {}),
    minPerSex: c.minPerSex,
    source: c.source,
    drawMonths: c.drawMonths,
    asOf: c.asOf,
    knowledgeVersion: c.knowledgeVersion,
  };
  return {
    description: `Site threshold for the low-CCR rule from crosstalk calibrate (${c.source}). Install with CROSSTALK_SITE_KNOWLEDGE.`,
    rules: {
      [LOW_CCR]: {
        threshold: {
          measure: 'ccr',
          below: { female: value(female), male: value(male) },
          provisional: c.thresholds.provisional,
          provenance,
          calibration,
        },
      },
    },
  };
}

function ordinal(n: number): string {
  const s =
    n % 100 >= 11 && n % 100 <= 13 ? 'th' : (({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th');
  return `${n}${s}`;
}
