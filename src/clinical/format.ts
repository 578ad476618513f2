import { memoText } from './memo';
import type { LabValue, Measure } from './types';

/** Display rounding only: the machine-readable values stay unrounded. */
export function round(value: number, unit: string): string {
  const digits = unit === 'mL/min/{1.73_m2}' || unit === '%' ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

/** A number to so many significant figures, without trailing zeros: 0.1235, 7.5, 1200. */
export function significant(n: number, digits = 3): string {
  return Number(n.toPrecision(digits)).toString();
}

const UNIT_TEXT: Record<string, string> = {
  'mL/min/{1.73_m2}': 'mL/min/1.73 m²',
  'u[IU]/mL': 'µIU/mL',
  'm[IU]/L': 'mIU/L',
  '{index}': '',
  '(mg/dL)/(mg/L)': '',
  'mg/d': 'mg/day',
  d: 'days',
  umol: 'µmol',
  'umol/L': 'µmol/L',
};

export function unitText(unit: string): string {
  return UNIT_TEXT[unit] ?? unit;
}

export function day(iso: string): string {
  return iso.slice(0, 10);
}

export function labText(l: LabValue): string {
  const base = `${round(l.value, l.unit)} ${unitText(l.unit)} (${day(l.effective)}, ${l.reference}`;
  if (l.derivation) return `${base}; derived: ${l.derivation})`;
  return l.conversion ? `${base}; converted: ${l.conversion})` : `${base})`;
}

export function measureText(m: Measure): string {
  const u = unitText(m.unit);
  return `${m.display} ${round(m.value, m.unit)}${u ? ` ${u}` : ''}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-07-05" (or a full ISO date-time) as a clinician writes it: "5 Jul 2026". */
export function dateText(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1] ?? m[2]} ${m[1]}`;
}

/** UCUM spellings that may sit in free text, and how a clinician writes them. Longest first. */
const UCUM_IN_TEXT: [RegExp, string][] = [
  [/mL\/min\/\{1\.73_m2\}/g, 'mL/min/1.73 m²'],
  [/\{1\.73_m2\}/g, '1.73 m²'],
  [/u\[IU\]\/mL/g, 'µIU/mL'],
  [/m\[IU\]\/L/g, 'mIU/L'],
  [/\[IU\]/g, 'IU'],
  [/\bumol\/L\b/g, 'µmol/L'],
  [/\(mg\/dL\)\/\(mg\/L\)/g, ''],
  [/\{index\}/g, ''],
  [/(\d) ?mg\/d\b(?!L)/g, '$1 mg/day'],
];

/** Free text with UCUM unit codes written the way a clinician reads them (UCUM stays in machine fields). */
export function humanUnits(text: string): string {
  return UCUM_IN_TEXT.reduce((t, [re, to]) => t.replace(re, to), text);
}

/**
 * Working notes that must never reach a clinician: evidence-grade codes ([M], [V-abs], [C]), section signs, note
 * file names, and secondary web sources used while checking a table. Exported so tests look for the same things.
 */
export const INTERNAL_MARKERS: { name: string; pattern: RegExp }[] = [
  { name: 'evidence-grade code', pattern: /\\?\[(?:M|V|C|V-abs|V-sum|U)\\?\]/ },
  { name: 'evidence label', pattern: /\bevidence: ?(?:V|M|C|V-abs)\b/ },
  { name: 'section sign', pattern: /\u00a7/ },
  // \x5b is "[": written so, this pattern is not itself taken for a pointer into docs/evidence.md.
  { name: 'evidence reference', pattern: /\x5bevidence: ?[\w, -]+\]/ },
  { name: 'note file name', pattern: /\b[\w-]+\.(?:md|ts|json)\b/ },
  {
    name: 'secondary web source',
    pattern: /\b(?:droracle|guidelinecentral|medicalalgorithms|wikipedia|medscape|uptodate|drugs\.com)\b/i,
  },
  { name: 'raw UCUM', pattern: /u\[IU\]|\{1\.73_m2\}|\{index\}|\[IU\]/ },
];

/** Clauses that cite a secondary web source or an internal note, from their start to the end of their sentence. */
const WEB_SOURCES = '(?:droracle|guidelinecentral|medicalalgorithms|wikipedia|medscape)';
const SOURCE_PAREN = new RegExp(`\\s*\\([^()]*\\b${WEB_SOURCES}\\b[^()]*\\)`, 'gi');
const SOURCE_CLAUSE = new RegExp(`(?:;\\s*|^)[^;()]*?\\b${WEB_SOURCES}\\b.*?(?=\\.\\s+[A-Z]|\\.?$)`, 'gi');

/**
 * Free text (rule statements, provenance) with the working notes taken out and units humanised: what may be
 * shown to a clinician. It removes, it never rewrites a clinical statement.
 */
export const clinicianText = memoText(cleanForClinician);

function cleanForClinician(text: string): string {
  let t = humanUnits(text);
  t = t.replace(SOURCE_PAREN, '').replace(SOURCE_CLAUSE, '');
  // Parenthesised references to note files and their numbered sections (the section sign is written \u00a7 here).
  t = t.replace(/\s*\((?:[^()]*?(?:\b[\w-]+\.md\b|\u00a7)[^()]*?)\)/g, '');
  t = t.replace(/,?\s*as\s+[\w-]+\.md(?:\s*\u00a7[\d.]+(?:\s*R\d+)?)?\s+recommends/g, '');
  t = t.replace(/\s*\b[\w-]+\.md\b(?:\s*\u00a7[\d.]+(?:,\s*\u00a7[\d.]+)*(?:\s*R\d+)?)?/g, '');
  t = t.replace(/\s*\u00a7\s*[\d.]+(?:\s*R\d+)?/g, '');
  t = t.replace(/\s*\\?\[(?:M|V|C|V-abs|V-sum|U)\\?\]/g, '');
  // Pointers into docs/evidence.md: the app shows the evidence itself, with full citations.
  t = t.replace(/\s*\x5bevidence: ?[\w, -]+\]/g, '');
  t = t.replace(/\bPROVISIONAL\b/g, 'provisional');
  return t
    .replace(/\(\s*[;,]?\s*\)/g, '')
    .replace(/\s+([;,.])/g, '$1')
    .replace(/([;,])\s*([;,.)])/g, '$2')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** FHIR references ("Observation/x") out of text meant for the card: the app links them instead. */
export function withoutReferences(text: string): string {
  return text
    .replace(
      /,?\s*\b(?:Observation|MedicationRequest|MedicationStatement|Condition|DiagnosticReport|ServiceRequest|Procedure|Patient)\/[A-Za-z0-9\-.]{1,64}/g,
      '',
    )
    .replace(/\(\s*[;,]\s*/g, '(')
    .replace(/\s*;\s*\)/g, ')')
    .replace(/\(\s*\)/g, '')
    .replace(/\s+([;,.:])/g, '$1')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** ISO dates in text as clinicians write them. */
export function humanDates(text: string): string {
  return text.replace(/\b(\d{4}-\d{2}-\d{2})(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?\b/g, (_, d: string) => dateText(d));
}
