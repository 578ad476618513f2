/**
 * The app's page: what the engine found for the patient in context, and everything behind it. Everything here
 * presents values the engine computed; nothing here computes a clinical number.
 */
import type { Patient } from 'fhir/r4';
import {
  type AnalyteId,
  ageOn,
  type CitationRef,
  clinicianText,
  day,
  egfrStageText,
  type Finding,
  HOMA_FORMULAS,
  type Knowledge,
  type LabValue,
  MEASURE_DISPLAY,
  MEASURE_ORDER,
  type Measure,
  type MeasureCode,
  type MeasureTrends,
  type PatientEvaluation,
  type RuleOutcome,
  round,
  subtractMonths,
  type TrendPoint,
  unitText,
  type WithheldMeasure,
  withheldMeasures,
} from '../clinical';
import { type Child, h } from '../web/dom';
import { axisRange, drawTrend, type ReferenceLine } from './charts';
import { shownCitation } from './evidence';
import { leadOrder } from './lead';
import { APP_TEXT, fill } from './strings';

export interface View {
  evaluation: PatientEvaluation;
  trends: MeasureTrends;
  knowledge: Knowledge;
  patient: Patient;
  /** The FHIR server the record came from: inputs link to their resources there. */
  fhirBase?: string;
  /** Domains of the record that could not be read (failed reads, resources set aside): said, never read as absent. */
  unchecked?: string[];
}

/** A rule's title from the knowledge data (rules.<id>.title); an unknown id still reads as words, not as its id. */
export const ruleTitle = (id: string, k: Knowledge): string =>
  (k.rules as Record<string, { title: string } | undefined>)[id]?.title ??
  `${id.charAt(0).toUpperCase()}${id.slice(1).replace(/-/g, ' ')}`;

/** The measures the cards carry for this patient (the findings' own, medication measures included) and the rest computed. */
export function shownMeasures(e: PatientEvaluation): Measure[] {
  const all = [...e.findings.flatMap((f) => f.measures), ...e.measures];
  return MEASURE_ORDER.map((code) => all.find((m) => m.code === code)).filter((m): m is Measure => !!m);
}

function withheldOf(v: View): WithheldMeasure[] {
  return withheldMeasures(v.evaluation);
}

/** Reasons in the app's words: working notes out, units human, references kept (they are links here). */
const said = (text: string) => clinicianText(text);
const sentence = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;

/** A reference to a FHIR resource as a link to it on the record's FHIR server, or as code when there is none. */
function refLink(ref: string, v: View): HTMLElement {
  if (!v.fhirBase || !/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) return h('code', {}, ref);
  return h(
    'a',
    { href: `${v.fhirBase.replace(/\/$/, '')}/${ref}`, target: '_blank', rel: 'noopener noreferrer' },
    h('code', {}, ref),
  );
}

const STATUS_TEXT: Record<RuleOutcome['status'], string> = {
  fired: 'Card shown',
  context: 'Adds a line of context to other cards; never a card on its own',
  suppressed: 'Suppressed: no card',
  'not-met': 'Not met: no card',
};

const ANALYTE_ORDER: Partial<Record<AnalyteId, keyof Knowledge['orders']>> = {
  creatinine: 'creatinine',
  'cystatin-c': 'cystatin-c',
};

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
      [
        p.gender ?? 'gender unknown',
        age !== undefined ? `${age} y` : undefined,
        p.birthDate ? `born ${p.birthDate}` : undefined,
      ]
        .filter(Boolean)
        .join(' · '),
    ),
  );
}

function labLine(l: LabValue, v: View): HTMLElement {
  const k = v.knowledge;
  return h(
    'li',
    {},
    `${k.analytes[l.analyte].display} ${valueText(l.value, l.unit)}, ${day(l.effective)} `,
    refLink(l.reference, v),
    l.conversion
      ? h(
          'span',
          { class: 'conversion' },
          ` (reported ${l.original.value} ${said(l.original.unit)}; ${said(l.conversion)})`,
        )
      : null,
  );
}

function citationList(cs: CitationRef[], k: Knowledge): HTMLElement | null {
  if (!cs.length) return null;
  return h(
    'ul',
    { class: 'citations' },
    cs.map((c) => {
      const s = shownCitation(c, k);
      return h(
        'li',
        { 'data-strength': s.strength },
        h('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer' }, s.label),
        ' ',
        h('span', { class: 'strength' }, `(${s.strength})`),
      );
    }),
  );
}

function list(title: string, lines: string[], cls: string): Child[] {
  return lines.length
    ? [
        h('h4', {}, title),
        h(
          'ul',
          { class: cls },
          lines.map((l) => h('li', {}, said(l))),
        ),
      ]
    : [];
}

/** The provisional-threshold explanation, said once, where the threshold is used. */
function thresholdNote(k: Knowledge): HTMLElement {
  const t = k.rules['low-ccr'].threshold;
  return h(
    'p',
    { class: 'threshold-note' },
    h(
      'strong',
      {},
      `Threshold: below ${t.below.female.toFixed(2)} for women, ${t.below.male.toFixed(2)} for men${t.provisional ? ' (provisional)' : ''}. `,
    ),
    said(t.provenance),
  );
}

/** The reference a number is read against, and which side of it the number lies, in words. */
function referenceText(m: Measure, v: View): string {
  const k = v.knowledge;
  const t = APP_TEXT.answer;
  const stage = egfrStageText(k, m);
  if (stage) return stage;
  const ref = referenceLine(m.code, v);
  if (!ref || m.code === 'egfr-cr-cys-2021') return t.noReference;
  const shown = round(ref.value, m.unit);
  const side = m.value < ref.value ? t.below : t.atOrAbove;
  const provisional = m.code === 'ccr' && k.rules['low-ccr'].threshold.provisional ? t.provisional : '';
  return `${fill(side, { value: shown })}${provisional}`;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A small line of every draw on the chart's own honest axis: decoration beside the words that say the trend. */
function sparkline(code: MeasureCode, points: TrendPoint[], v: View): SVGSVGElement | null {
  if (points.length < 2) return null;
  const w = 84;
  const ht = 22;
  const xs = points.map((p) => Date.parse(p.effective));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const ref = referenceLine(code, v);
  const { min, max } = axisRange(code, points, v.knowledge, ref);
  const px = (x: number) => 2 + ((x - x0) / (x1 - x0 || 1)) * (w - 4);
  const py = (y: number) => ht - 2 - ((y - min) / (max - min || 1)) * (ht - 4);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${ht}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(ht));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'spark');
  if (ref && code === 'ccr') {
    const line = document.createElementNS(SVG, 'line');
    for (const [a, val] of [
      ['x1', 0],
      ['x2', w],
      ['y1', py(ref.value)],
      ['y2', py(ref.value)],
    ] as const)
      line.setAttribute(a, String(val));
    line.setAttribute('class', 'spark-ref');
    svg.append(line);
  }
  const poly = document.createElementNS(SVG, 'polyline');
  poly.setAttribute('points', points.map((p, i) => `${px(xs[i] as number)},${py(p.value)}`).join(' '));
  poly.setAttribute('class', 'spark-line');
  svg.append(poly);
  const last = points.at(-1) as TrendPoint;
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('cx', String(px(xs.at(-1) as number)));
  dot.setAttribute('cy', String(py(last.value)));
  dot.setAttribute('r', '2.5');
  dot.setAttribute('class', 'spark-dot');
  svg.append(dot);
  return svg;
}

/** The trend in words: the direction since the draw before, as displayed (a change the rounding hides is none). */
function trendWords(points: TrendPoint[]): string {
  const t = APP_TEXT.answer;
  const last = points.at(-1);
  const prev = points.at(-2);
  if (!last || !prev) return t.trendOne;
  const [a, b] = [round(prev.value, prev.unit), round(last.value, last.unit)];
  if (a === b) return fill(t.trendSame, { date: day(prev.effective) });
  return fill(Number(b) > Number(a) ? t.trendUp : t.trendDown, { value: a, date: day(prev.effective) });
}

/** The 3–4 numbers that decide a finding: value with unit, date, reference with direction, and a small trend. */
function keyNumbers(f: Finding, v: View): HTMLElement | null {
  // In the card's own order, decisive value first.
  const measures = f.measures.slice(0, 4);
  if (!measures.length) return null;
  const t = APP_TEXT.answer;
  return h(
    'table',
    { class: 'key-numbers' },
    h('caption', { class: 'visually-hidden' }, t.numbersCaption),
    h(
      'thead',
      { class: 'visually-hidden' },
      h(
        'tr',
        {},
        t.numberHeads.map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      measures.map((m) => {
        const points = v.trends[m.code] ?? [];
        return h(
          'tr',
          { 'data-code': m.code, class: 'key-number' },
          h('th', { scope: 'row' }, m.display),
          h(
            'td',
            { class: 'key-value' },
            // The number links to the detail that explains it (inputs, conversions, formula, evidence).
            h(
              'a',
              { href: `#measure-${m.code}`, 'data-explains': m.code },
              h('strong', {}, round(m.value, m.unit)),
              unitOf(m.unit) ? ` ${unitOf(m.unit)}` : '',
            ),
          ),
          h('td', { class: 'key-date' }, day(m.effective)),
          h('td', { class: 'key-reference' }, referenceText(m, v)),
          h('td', { class: 'key-trend' }, sparkline(m.code, points, v), ' ', h('span', {}, trendWords(points))),
        );
      }),
    ),
  );
}

/** What to do: the rule's lead action from its knowledge text, then the orders its suggestions carry. */
function actions(f: Finding): HTMLElement | null {
  const lines: string[] = [
    ...(f.brief?.action ? [f.brief.action] : []),
    ...(f.brief?.then ?? []),
    ...f.suggestions.map((s) => `${s.label}: ${s.orders.map((o) => o.display).join('; ')}`),
  ].map(said);
  const unique = [...new Set(lines)];
  if (!unique.length) return null;
  return h(
    'div',
    { class: 'actions' },
    h('h4', {}, APP_TEXT.answer.actions),
    h(
      'ul',
      { class: 'actions' },
      unique.map((l) =>
        h(
          'li',
          {},
          l.replace(/\*\*/g, '').replace(/^\p{Ll}/u, (c) => c.toUpperCase()),
        ),
      ),
    ),
  );
}

/** What could not be checked, said on the first screen: an unread domain is never read as absent. */
function unchecked(v: View): HTMLElement {
  const t = APP_TEXT.answer;
  const domains = v.unchecked ?? [];
  const rejected = v.evaluation.rejected.length;
  return h(
    'p',
    { class: `unchecked${domains.length ? ' has-unchecked' : ''}`, 'data-unchecked': String(domains.length) },
    h('strong', {}, `${t.unchecked}: `),
    domains.length ? `${domains.join('; ')}.` : t.allChecked,
    rejected ? ` ${fill(t.rejected, { count: rejected })}` : '',
  );
}

function findingCard(f: Finding, v: View): HTMLElement {
  const k = v.knowledge;
  return h(
    'article',
    {
      class: `finding indicator-${f.indicator}`,
      id: `finding-${f.ruleId}`,
      'data-rule': f.ruleId,
      'data-measures': String(f.measures.length),
      'aria-labelledby': `finding-${f.ruleId}-h`,
    },
    h(
      'p',
      { class: 'indicator' },
      h('span', { class: 'badge' }, f.indicator === 'warning' ? 'Warning' : 'Info'),
      ` ${ruleTitle(f.ruleId, k)}`,
    ),
    h('h3', { id: `finding-${f.ruleId}-h`, tabindex: '-1', class: 'summary' }, f.summary),
    keyNumbers(f, v),
    actions(f),
    unchecked(v),
    f.citations.length
      ? h(
          'div',
          { class: 'print-only' },
          h('h4', {}, APP_TEXT.print.citations),
          h(
            'ul',
            {},
            f.citations.map((c) => h('li', {}, shownCitation(c, k).label)),
          ),
        )
      : null,
    h(
      'details',
      { class: 'finding-detail' },
      h('summary', {}, APP_TEXT.answer.detail),
      ...list('What was found', f.statements, 'statements'),
      ...list('Context', f.context, 'context'),
      ...list('Read with care', f.caveats, 'caveats'),
      f.ruleId === 'low-ccr' ? thresholdNote(k) : null,
      f.suggestions.length
        ? [
            h('h4', {}, 'What to order'),
            h(
              'ul',
              { class: 'orders' },
              f.suggestions.map((s) =>
                h('li', {}, s.label, ': ', s.orders.map((o) => `${o.display} (LOINC ${o.code})`).join('; ')),
              ),
            ),
          ]
        : null,
      f.citations.length ? [h('h4', {}, 'Evidence'), citationList(f.citations, k)] : null,
      // Where a disclosure of the rule's source attributes (src/app/source-attributes.ts) goes.
      h('div', { class: 'source-attributes-slot', 'data-rule': f.ruleId }),
    ),
  );
}

export function renderFindings(v: View, lead?: string): HTMLElement {
  const findings = leadOrder(v.evaluation.findings, v.knowledge, lead);
  return h(
    'section',
    { id: 'findings', 'aria-labelledby': 'findings-h' },
    h('h2', { id: 'findings-h', class: 'visually-hidden' }, 'Findings'),
    findings.length
      ? findings.map((f) => findingCard(f, v))
      : h(
          'p',
          { class: 'empty' },
          'No finding makes a card for this patient today. "Why no card" below says why for each rule.',
        ),
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
  const measures = shownMeasures(v.evaluation);
  const withheld = withheldOf(v);
  const rows = MEASURE_ORDER.map((code) => {
    const m = measures.find((x) => x.code === code);
    const w = withheld.find((x) => x.code === code);
    if (m && w) {
      // Computed, but a rule says it must not be read: no value, so nothing invites reading it against the threshold.
      return h(
        'tr',
        { id: `measure-${code}`, 'data-code': code, 'data-computed': 'true', 'data-withheld': 'true' },
        h('th', { scope: 'row' }, m.display),
        h(
          'td',
          { class: 'value withheld', colspan: '4' },
          h('strong', {}, 'Withheld: not read for this patient. '),
          sentence(w.reasons.map((r) => said(r.text)).join('; ')),
        ),
      );
    }
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
      h(
        'td',
        { class: 'unit' },
        unitOf(m.unit) || '(ratio)',
        ...(egfrStageText(k, m) ? [' ', h('span', { class: 'stage' }, egfrStageText(k, m) as string)] : []),
      ),
      h('td', { class: 'date' }, day(m.effective)),
      h(
        'td',
        { class: 'sources' },
        // Inputs, conversions, Observation ids, formula and evidence: detail on demand, not repeated on every row.
        h(
          'details',
          {},
          h('summary', {}, 'Inputs, formula and evidence'),
          h(
            'ul',
            {},
            m.inputs.length
              ? m.inputs.map((l) => labLine(l, v))
              : m.derivedFrom.map((ref) => h('li', {}, refLink(ref, v))),
          ),
          h('p', { class: 'formula' }, said(m.formula)),
          code === 'ccr' ? thresholdNote(k) : null,
          citationList(
            m.citations.flatMap((id) => k.citations[id] ?? []),
            k,
          ),
        ),
      ),
    );
  });
  return h(
    'section',
    { id: 'measures', 'aria-labelledby': 'measures-h' },
    h('h2', { id: 'measures-h' }, 'Measures'),
    h(
      'p',
      { class: 'hint' },
      `From the newest valid results of the last ${k.lookbackMonths} months and the medicines on file, as the CDS cards use them. Values are rounded for display.`,
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'measures' },
        h('caption', { class: 'visually-hidden' }, 'Measures with value, unit, date and the records they come from'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Measure', 'Value', 'Unit', 'Date', 'From'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h('tbody', {}, rows),
      ),
    ),
  );
}

function referenceLine(code: MeasureCode, v: View): ReferenceLine | undefined {
  const r = v.knowledge.rules['low-ccr'];
  const sex = v.evaluation.patient.sex;
  if (code === 'ccr' && sex) {
    return {
      label: `Threshold ${r.threshold.below[sex].toFixed(2)}${r.threshold.provisional ? ' (provisional)' : ''}`,
      value: r.threshold.below[sex],
    };
  }
  if (code === 'egfr-cr-cys-2021') return { label: `${r.minEgfrCrCys} (CCR not read below)`, value: r.minEgfrCrCys };
  if (code === 'homa-ir')
    return {
      label: `HOMA-IR ${v.knowledge.rules['homa-context'].irCutoff}`,
      value: v.knowledge.rules['homa-context'].irCutoff,
    };
  return undefined;
}

function describeTrend(display: string, points: TrendPoint[], unit: string): string {
  const first = points[0] as TrendPoint;
  const last = points.at(-1) as TrendPoint;
  return points.length === 1
    ? `${display}: one result, ${valueText(last.value, unit)} on ${day(last.effective)}.`
    : `${display}: ${points.length} results from ${day(first.effective)} to ${day(last.effective)}, from ${valueText(first.value, unit)} to ${valueText(last.value, unit)}.`;
}

/** What the chart shades behind the draws: the KDIGO G-stages for an eGFR, the region below the CCR threshold. */
function bandsOf(code: MeasureCode, v: View, ref?: ReferenceLine): { from: number; to: number; label: string }[] {
  if (code.startsWith('egfr-')) {
    const stages = v.knowledge.egfrStages.stages;
    return stages.map((s, i) => ({
      from: s.atLeast,
      to: i === 0 ? Number.POSITIVE_INFINITY : (stages[i - 1]?.atLeast ?? s.atLeast),
      label: s.stage,
    }));
  }
  if (code === 'ccr' && ref) return [{ from: 0, to: ref.value, label: APP_TEXT.charts.band }];
  return [];
}

export interface DrawnCharts {
  section: HTMLElement;
  /** Charts need their canvas in the document to size themselves: call once the section is attached. */
  draw(): void;
}

/** The analytes each measure is computed from: an excluded result of one of them is an excluded draw of the measure. */
const ANALYTES_OF: Record<MeasureCode, AnalyteId[]> = {
  'sarcopenia-index': ['creatinine', 'cystatin-c'],
  ccr: ['creatinine', 'cystatin-c'],
  'egfr-cr-2021': ['creatinine'],
  'egfr-cr-cys-2021': ['creatinine', 'cystatin-c'],
  'egfr-cys-2012': ['cystatin-c'],
  'homa-ir': ['insulin', 'glucose'],
  'homa-beta': ['insulin', 'glucose'],
  'prednisone-equivalent-dose': [],
  'glucocorticoid-exposure': [],
};

/** Results of the measure's analytes that were not used, and why: they are not on the chart, and the chart says so. */
function excludedDraws(code: MeasureCode, v: View): HTMLElement | null {
  const out = v.evaluation.rejected.filter((r) => r.analyte && ANALYTES_OF[code].includes(r.analyte));
  if (!out.length) return null;
  return h(
    'div',
    { class: 'excluded-draws' },
    h('p', {}, `Not plotted (${out.length}):`),
    h(
      'ul',
      {},
      out.map((r) =>
        h(
          'li',
          { 'data-reference': r.reference },
          r.analyte ? `${v.knowledge.analytes[r.analyte].display} ` : '',
          refLink(r.reference, v),
          `: ${said(r.reason)}.`,
        ),
      ),
    ),
  );
}

export function renderTrends(v: View): DrawnCharts {
  const pending: (() => void)[] = [];
  const withheld = withheldOf(v);
  const figures = MEASURE_ORDER.filter((code) => v.trends[code].length > 0).map((code) => {
    const points = v.trends[code];
    const unit = (points[0] as Measure).unit;
    const w = withheld.find((x) => x.code === code);
    if (w) {
      return h(
        'figure',
        { class: 'trend withheld', id: `trend-${code}`, 'data-points': String(points.length), 'data-withheld': 'true' },
        h('figcaption', {}, h('strong', {}, MEASURE_DISPLAY[code])),
        h(
          'p',
          { class: 'withheld' },
          h('strong', {}, 'Withheld: not charted for this patient. '),
          sentence(w.reasons.map((r) => said(r.text)).join('; ')),
        ),
      );
    }
    const summary = describeTrend(MEASURE_DISPLAY[code], points, unit);
    const canvas = h('canvas', { role: 'img', 'aria-label': summary });
    const ref = referenceLine(code, v);
    pending.push(() =>
      drawTrend(canvas, points, unit, ref, axisRange(code, points, v.knowledge, ref), bandsOf(code, v, ref)),
    );
    return h(
      'figure',
      { class: 'trend', id: `trend-${code}`, 'data-points': String(points.length) },
      h('figcaption', {}, h('strong', {}, MEASURE_DISPLAY[code]), unitOf(unit) ? ` (${unitOf(unit)})` : null),
      h('div', { class: 'chart' }, canvas),
      excludedDraws(code, v),
      h(
        'details',
        {},
        h('summary', {}, `Values (${points.length})`),
        h(
          'table',
          { class: 'trend-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Date', 'Value', 'From'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            points.map((p) =>
              h(
                'tr',
                { 'data-value': String(p.value) },
                h('td', {}, day(p.effective)),
                h('td', {}, round(p.value, p.unit), p.inLookback ? null : ' (older than the look-back window)'),
                h(
                  'td',
                  {},
                  p.derivedFrom.flatMap((ref, i) => [i ? ', ' : '', refLink(ref, v)]),
                ),
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
      ? [
          h(
            'p',
            { class: 'hint' },
            `Every valid draw on file. Filled points are inside the ${v.knowledge.lookbackMonths}-month look-back window; hollow points are older. Results that were not used are listed under the chart they would belong to, with why.`,
          ),
          h('div', { class: 'trend-grid' }, figures),
        ]
      : h('p', { class: 'empty' }, 'No measure could be computed from any draw on file, so there is nothing to trend.'),
  );
  return { section, draw: () => pending.forEach((f) => f()) };
}

export function renderWhy(v: View): HTMLElement {
  const items = v.evaluation.outcomes.map((o) =>
    h(
      'li',
      { id: `outcome-${o.ruleId}`, class: `outcome status-${o.status}`, 'data-status': o.status, tabindex: '-1' },
      h('strong', {}, ruleTitle(o.ruleId, v.knowledge)),
      h('p', { class: 'outcome-status' }, STATUS_TEXT[o.status]),
      o.reasons.length
        ? h(
            'ul',
            { class: 'reasons' },
            o.reasons.map((r) => h('li', { 'data-code': r.code }, said(r.text))),
          )
        : null,
      o.status === 'context' && o.context?.length
        ? h(
            'ul',
            { class: 'reasons' },
            o.context.map((c) => h('li', {}, said(c))),
          )
        : null,
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
  const missing = (Object.keys(k.analytes) as AnalyteId[]).filter(
    (a) => !v.evaluation.labs.some((l) => l.analyte === a && l.effectiveMs >= since),
  );
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
      : h(
          'p',
          {},
          `Creatinine, cystatin C, insulin and glucose all have valid results in the last ${k.lookbackMonths} months.`,
        ),
    suggested.length
      ? [
          h('h3', {}, 'Suggested by the findings'),
          h(
            'ul',
            { class: 'orders' },
            suggested.map(({ s, f }) =>
              h(
                'li',
                {},
                s.label,
                ': ',
                s.orders.map((o) => `${o.display} (LOINC ${o.code})`).join('; '),
                ` (from “${ruleTitle(f.ruleId, v.knowledge)}”)`,
              ),
            ),
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
    h(
      'ul',
      { class: 'rejected' },
      rejected.map((r) =>
        h(
          'li',
          {},
          refLink(r.reference, v),
          r.analyte ? ` (${v.knowledge.analytes[r.analyte].display})` : null,
          `: ${said(r.reason)}.`,
        ),
      ),
    ),
  );
}
