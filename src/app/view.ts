/**
 * The app's page: what the engine found for the patient in context, and everything behind it. Everything here
 * presents values the engine computed; nothing here computes a clinical number.
 */
import type { Patient } from 'fhir/r4';
import type { AnalyteId, CitationRef, Knowledge } from '../clinical/knowledge';
import type { Finding, LabValue, Measure, MeasureCode, PatientEvaluation, RuleOutcome } from '../clinical/types';
import type { MeasureTrends, TrendPoint } from '../clinical/trend';
import { MEASURE_DISPLAY, MEASURE_ORDER } from '../clinical/measures';
import { ageOn, subtractMonths } from '../clinical/dates';
import { day, round, unitText } from '../clinical/format';
import { HOMA_FORMULAS } from '../clinical/homa';
import { type Child, h } from '../web/dom';
import { type ReferenceLine, drawTrend } from './charts';

export interface View {
  evaluation: PatientEvaluation;
  trends: MeasureTrends;
  knowledge: Knowledge;
  patient: Patient;
}

const RULE_TITLES: Record<string, string> = {
  'low-ccr': 'Low creatinine/cystatin C ratio (possible low muscle mass)',
  'missing-ccr-input': 'Half of the creatinine–cystatin C pair on file',
  'homa-context': 'HOMA-IR and HOMA-β context',
};
export const ruleTitle = (id: string): string => RULE_TITLES[id] ?? id;

const STATUS_TEXT: Record<RuleOutcome['status'], string> = {
  fired: 'Card shown',
  context: 'Adds a line of context to other cards; never a card on its own',
  suppressed: 'Suppressed: no card',
  'not-met': 'Not met: no card',
};

const ANALYTE_ORDER: Partial<Record<AnalyteId, keyof Knowledge['orders']>> = { creatinine: 'creatinine', 'cystatin-c': 'cystatin-c' };

const unitOf = (unit: string) => unitText(unit);
const valueText = (value: number, unit: string) => `${round(value, unit)}${unitOf(unit) ? ` ${unitOf(unit)}` : ''}`;

export function patientName(p: Patient): string {
  const n = p.name?.find((x) => x.use === 'official') ?? p.name?.[0];
  if (!n) return p.id ? `Patient/${p.id}` : 'Unnamed patient';
  return n.text ?? [n.given?.join(' '), n.family].filter(Boolean).join(' ');
}

export function renderBanner(p: Patient, asOf: Date): HTMLElement {
  const age = ageOn(p.birthDate, asOf.toISOString());
  return h(
    'div',
    { class: 'patient' },
    h('span', { class: 'patient-name' }, patientName(p)),
    h(
      'span',
      { class: 'patient-facts' },
      [p.gender ?? 'gender unknown', age !== undefined ? `${age} y` : undefined, p.birthDate ? `born ${p.birthDate}` : undefined].filter(Boolean).join(' · '),
    ),
  );
}

function labLine(l: LabValue, k: Knowledge): HTMLElement {
  return h(
    'li',
    {},
    `${k.analytes[l.analyte].display} ${valueText(l.value, l.unit)}, ${day(l.effective)} `,
    h('code', {}, l.reference),
    l.conversion ? h('span', { class: 'conversion' }, ` (reported ${l.original.value} ${l.original.unit}; ${l.conversion})`) : null,
  );
}

function citationList(cs: CitationRef[]): HTMLElement | null {
  if (!cs.length) return null;
  return h(
    'ul',
    { class: 'citations' },
    cs.map((c) => h('li', {}, h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer' }, c.label), ` (evidence: ${c.evidence})`)),
  );
}

function list(title: string, lines: string[], cls: string): Child[] {
  return lines.length ? [h('h4', {}, title), h('ul', { class: cls }, lines.map((l) => h('li', {}, l)))] : [];
}

function findingCard(f: Finding): HTMLElement {
  return h(
    'article',
    { class: `finding indicator-${f.indicator}`, id: `finding-${f.ruleId}`, 'data-rule': f.ruleId, 'aria-labelledby': `finding-${f.ruleId}-h` },
    h('p', { class: 'indicator' }, h('span', { class: 'badge' }, f.indicator === 'warning' ? 'Warning' : 'Info'), ` ${ruleTitle(f.ruleId)}`),
    h('h3', { id: `finding-${f.ruleId}-h`, tabindex: '-1' }, f.summary),
    ...list('What was found', f.statements, 'statements'),
    ...list('Context', f.context, 'context'),
    ...list('Read with care', f.caveats, 'caveats'),
    f.suggestions.length
      ? [
          h('h4', {}, 'What to order'),
          h('ul', { class: 'orders' }, f.suggestions.map((s) => h('li', {}, s.label, ': ', s.orders.map((o) => `${o.display} (LOINC ${o.code})`).join('; ')))),
        ]
      : null,
    f.citations.length ? [h('h4', {}, 'Evidence'), citationList(f.citations)] : null,
  );
}

export function renderFindings(v: View): HTMLElement {
  const { findings } = v.evaluation;
  return h(
    'section',
    { id: 'findings', 'aria-labelledby': 'findings-h' },
    h('h2', { id: 'findings-h' }, 'Findings'),
    findings.length
      ? findings.map((f) => findingCard(f))
      : h('p', { class: 'empty' }, 'No finding makes a card for this patient today. "Why no card" below says why for each rule.'),
  );
}

/** What a measure needs, in words, from the knowledge's own numbers: shown when it could not be computed. */
function needs(code: MeasureCode, k: Knowledge): string {
  const pair = `creatinine and cystatin C from one draw (at most ${k.pairing.creatinineCystatinMaxHours} h apart) in the last ${k.lookbackMonths} months`;
  const adult = `an adult age (${k.rules['low-ccr'].adultAgeYears}+) at the specimen and administrative gender female or male`;
  const fasting = `fasting insulin and glucose from one draw (at most ${k.pairing.insulinGlucoseMaxMinutes} min apart) in the last ${k.lookbackMonths} months`;
  switch (code) {
    case 'sarcopenia-index':
    case 'ccr':
      return `Needs ${pair}.`;
    case 'egfr-cr-cys-2021':
      return `Needs ${pair}, and ${adult}.`;
    case 'egfr-cr-2021':
      return `Needs a creatinine in the last ${k.lookbackMonths} months, and ${adult}.`;
    case 'egfr-cys-2012':
      return `Needs a cystatin C in the last ${k.lookbackMonths} months, and ${adult}.`;
    case 'homa-ir':
      return `Needs ${fasting}.`;
    case 'homa-beta':
      return `Needs ${fasting}, and glucose above 3.5 mmol/L, where its formula is defined (${HOMA_FORMULAS['homa-beta']}).`;
    case 'prednisone-equivalent-dose':
    case 'glucocorticoid-exposure':
      return 'Needs a systemic glucocorticoid order or statement with dose and timing.';
  }
}

export function renderMeasures(v: View): HTMLElement {
  const k = v.knowledge;
  const rows = MEASURE_ORDER.map((code) => {
    const m = v.evaluation.measures.find((x) => x.code === code);
    if (!m) {
      return h(
        'tr',
        { id: `measure-${code}`, 'data-code': code, 'data-computed': 'false' },
        h('th', { scope: 'row' }, MEASURE_DISPLAY[code]),
        h('td', { class: 'value not-computed', colspan: '4' }, 'Not computed. ', needs(code, k)),
      );
    }
    return h(
      'tr',
      { id: `measure-${code}`, 'data-code': code, 'data-computed': 'true', 'data-value': String(m.value) },
      h('th', { scope: 'row' }, m.display),
      h('td', { class: 'value' }, round(m.value, m.unit)),
      h('td', { class: 'unit' }, unitOf(m.unit) || '(ratio)'),
      h('td', { class: 'date' }, day(m.effective)),
      h(
        'td',
        { class: 'sources' },
        h('ul', {}, m.inputs.map((l) => labLine(l, k))),
        h('details', {}, h('summary', {}, 'Formula and evidence'), h('p', { class: 'formula' }, m.formula), citationList(m.citations.flatMap((id) => k.citations[id] ?? []))),
      ),
    );
  });
  return h(
    'section',
    { id: 'measures', 'aria-labelledby': 'measures-h' },
    h('h2', { id: 'measures-h' }, 'Measures'),
    h('p', { class: 'hint' }, `From the newest valid results of the last ${k.lookbackMonths} months, as the CDS cards use them. Values are rounded for display.`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'measures' },
        h('caption', { class: 'visually-hidden' }, 'Measures with value, unit, specimen date and the results they come from'),
        h('thead', {}, h('tr', {}, ['Measure', 'Value', 'Unit', 'Specimen date', 'From'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows),
      ),
    ),
  );
}

function referenceLine(code: MeasureCode, v: View): ReferenceLine | undefined {
  const r = v.knowledge.rules['low-ccr'];
  const sex = v.evaluation.patient.sex;
  if (code === 'ccr' && sex) {
    return { label: `Threshold ${r.threshold.below[sex].toFixed(2)}${r.threshold.provisional ? ' (provisional)' : ''}`, value: r.threshold.below[sex] };
  }
  if (code === 'egfr-cr-cys-2021') return { label: `${r.minEgfrCrCys} (CCR not read below)`, value: r.minEgfrCrCys };
  if (code === 'homa-ir') return { label: `HOMA-IR ${v.knowledge.rules['homa-context'].irCutoff}`, value: v.knowledge.rules['homa-context'].irCutoff };
  return undefined;
}

function describeTrend(display: string, points: TrendPoint[], unit: string): string {
  const first = points[0] as TrendPoint;
  const last = points.at(-1) as TrendPoint;
  return points.length === 1
    ? `${display}: one result, ${valueText(last.value, unit)} on ${day(last.effective)}.`
    : `${display}: ${points.length} results from ${day(first.effective)} to ${day(last.effective)}, from ${valueText(first.value, unit)} to ${valueText(last.value, unit)}.`;
}

export interface DrawnCharts {
  section: HTMLElement;
  /** Charts need their canvas in the document to size themselves: call once the section is attached. */
  draw(): void;
}

export function renderTrends(v: View): DrawnCharts {
  const pending: (() => void)[] = [];
  const figures = MEASURE_ORDER.filter((code) => v.trends[code].length > 0).map((code) => {
    const points = v.trends[code];
    const unit = (points[0] as Measure).unit;
    const summary = describeTrend(MEASURE_DISPLAY[code], points, unit);
    const canvas = h('canvas', { role: 'img', 'aria-label': summary });
    pending.push(() => drawTrend(canvas, points, unit, referenceLine(code, v)));
    return h(
      'figure',
      { class: 'trend', id: `trend-${code}`, 'data-points': String(points.length) },
      h('figcaption', {}, h('strong', {}, MEASURE_DISPLAY[code]), unitOf(unit) ? ` (${unitOf(unit)})` : null),
      h('div', { class: 'chart' }, canvas),
      h(
        'details',
        {},
        h('summary', {}, `Values (${points.length})`),
        h(
          'table',
          { class: 'trend-table' },
          h('thead', {}, h('tr', {}, ['Date', 'Value', 'From'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            {},
            points.map((p) =>
              h(
                'tr',
                { 'data-value': String(p.value) },
                h('td', {}, day(p.effective)),
                h('td', {}, round(p.value, p.unit), p.inLookback ? null : ' (older than the look-back window)'),
                h('td', {}, p.derivedFrom.join(', ')),
              ),
            ),
          ),
        ),
      ),
    );
  });
  const section = h(
    'section',
    { id: 'trends', 'aria-labelledby': 'trends-h' },
    h('h2', { id: 'trends-h' }, 'Trends'),
    figures.length
      ? [h('p', { class: 'hint' }, `Every valid draw on file. Filled points are inside the ${v.knowledge.lookbackMonths}-month look-back window; hollow points are older.`), h('div', { class: 'trend-grid' }, figures)]
      : h('p', { class: 'empty' }, 'No measure could be computed from any draw on file, so there is nothing to trend.'),
  );
  return { section, draw: () => pending.forEach((f) => f()) };
}

export function renderWhy(v: View): HTMLElement {
  const items = v.evaluation.outcomes.map((o) =>
    h(
      'li',
      { id: `outcome-${o.ruleId}`, class: `outcome status-${o.status}`, 'data-status': o.status, tabindex: '-1' },
      h('strong', {}, ruleTitle(o.ruleId)),
      ' ',
      h('code', {}, o.ruleId),
      h('p', { class: 'outcome-status' }, STATUS_TEXT[o.status]),
      o.reasons.length ? h('ul', { class: 'reasons' }, o.reasons.map((r) => h('li', { 'data-code': r.code }, r.text))) : null,
      o.status === 'context' && o.context?.length ? h('ul', { class: 'reasons' }, o.context.map((c) => h('li', {}, c))) : null,
    ),
  );
  return h(
    'section',
    { id: 'why', 'aria-labelledby': 'why-h' },
    h('h2', { id: 'why-h' }, 'Why a card, or why no card'),
    h('p', { class: 'hint' }, 'Each rule of the CDS service, with what it concluded for this patient and why.'),
    h('ul', { class: 'outcomes' }, items),
  );
}

export function renderMissing(v: View, asOf: Date): HTMLElement {
  const k = v.knowledge;
  const since = subtractMonths(asOf, k.lookbackMonths).getTime();
  const missing = (Object.keys(k.analytes) as AnalyteId[]).filter((a) => !v.evaluation.labs.some((l) => l.analyte === a && l.effectiveMs >= since));
  const suggested = v.evaluation.findings.flatMap((f) => f.suggestions.map((s) => ({ s, f })));
  return h(
    'section',
    { id: 'missing', 'aria-labelledby': 'missing-h' },
    h('h2', { id: 'missing-h' }, 'Missing data and what to order'),
    missing.length
      ? h(
          'ul',
          { class: 'missing' },
          missing.map((a) => {
            const order = ANALYTE_ORDER[a] ? k.orders[ANALYTE_ORDER[a] as keyof Knowledge['orders']] : undefined;
            return h(
              'li',
              { 'data-analyte': a },
              `No valid result for ${k.analytes[a].display} in the last ${k.lookbackMonths} months.`,
              order ? ` To add it: ${order.display} (LOINC ${order.code}).` : null,
            );
          }),
        )
      : h('p', {}, `Creatinine, cystatin C, insulin and glucose all have valid results in the last ${k.lookbackMonths} months.`),
    suggested.length
      ? [
          h('h3', {}, 'Suggested by the findings'),
          h(
            'ul',
            { class: 'orders' },
            suggested.map(({ s, f }) => h('li', {}, s.label, ': ', s.orders.map((o) => `${o.display} (LOINC ${o.code})`).join('; '), ` (from "${f.summary}")`)),
          ),
        ]
      : null,
  );
}

export function renderExcluded(v: View): HTMLElement | null {
  const { rejected } = v.evaluation;
  if (!rejected.length) return null;
  return h(
    'section',
    { id: 'excluded', 'aria-labelledby': 'excluded-h' },
    h('h2', { id: 'excluded-h' }, 'Results not used'),
    h('ul', { class: 'rejected' }, rejected.map((r) => h('li', {}, h('code', {}, r.reference), r.analyte ? ` (${v.knowledge.analytes[r.analyte].display})` : null, `: ${r.reason}.`))),
  );
}
