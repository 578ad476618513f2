import { DETAIL_LIMIT, SUMMARY_LIMIT, SUMMARY_TARGET } from '../../src/cds/brief';
import { INTERNAL_MARKERS } from '../../src/clinical/format';

/** Machine-readable members where UCUM codes and URLs belong. */
const MACHINE_KEYS = new Set(['unit', 'url', 'system', 'code', 'uuid', 'appContext', 'reference', 'ruleId', 'id']);

function strings(x: unknown, path: string, out: [string, string][]): void {
  if (typeof x === 'string') out.push([path, x]);
  else if (Array.isArray(x)) x.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) if (!MACHINE_KEYS.has(k)) strings(v, `${path}.${k}`, out);
  }
}

interface CardLike {
  summary: string;
  detail?: string;
  extension?: { crosstalk?: { ruleId?: string } };
}

/**
 * What is wrong with a card a clinician would read: over budget, not ending in the advisory line, or carrying our
 * working notes (grade codes, section signs, file names, secondary web sources, raw UCUM) anywhere in its text.
 */
export function cardProblems(card: CardLike): string[] {
  const problems: string[] = [];
  const rule = card.extension?.crosstalk?.ruleId ?? '?';
  if (card.summary.length > SUMMARY_LIMIT)
    problems.push(`${rule}: summary is ${card.summary.length} characters, over the CDS Hooks limit ${SUMMARY_LIMIT}`);
  else if (card.summary.length > SUMMARY_TARGET)
    problems.push(`${rule}: summary is ${card.summary.length} characters (at most ${SUMMARY_TARGET}): ${card.summary}`);
  const detail = card.detail ?? '';
  if (detail.length > DETAIL_LIMIT)
    problems.push(`${rule}: detail is ${detail.length} characters (at most ${DETAIL_LIMIT})`);
  if (!detail.trimEnd().endsWith('Advisory, not a diagnosis.*'))
    problems.push(`${rule}: detail does not end "Advisory, not a diagnosis."`);
  if (/\b(?:Observation|MedicationRequest|MedicationStatement|Condition)\/[\w.-]+/.test(detail))
    problems.push(`${rule}: detail carries a FHIR reference`);
  const texts: [string, string][] = [];
  strings(card, 'card', texts);
  for (const [where, text] of texts) {
    for (const m of INTERNAL_MARKERS)
      if (m.pattern.test(text)) problems.push(`${rule}: ${m.name} in ${where}: ${text.slice(0, 160)}`);
  }
  return problems;
}
