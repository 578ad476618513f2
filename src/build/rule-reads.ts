import fs from 'node:fs';
import path from 'node:path';

/**
 * What each rule reads, found in the rule's source and the rule-folder helpers it imports, so the source attributes
 * (docs/source-attributes.md, GET /cds-services/{id}/source-attributes) list the inputs the code reads rather than
 * the inputs someone remembered to write down. Written into the generated registry by `npm run derive`; the
 * derived-files test fails when a rule starts reading something the registry does not say.
 */
export interface RuleReads {
  /** Context domains (src/clinical/context.ts) named or read through their ClinicalContext field. */
  domains: string[];
  /** Analytes (knowledge analytes.<id>) named. */
  analytes: string[];
  /** Computed measures (MEASURE_DISPLAY codes) named. */
  measures: string[];
  /** Patient facts read directly: `sex` (Patient.gender), `birthDate` (through the age now or Patient.birthDate). */
  patient: string[];
}

const CLINICAL = path.join(__dirname, '..', 'clinical');

/** The string members of a quoted list or union that follows `marker` in a file, up to the first `;` or `]`. */
function quotedAfter(file: string, marker: string, end: RegExp): string[] {
  const src = fs.readFileSync(path.join(CLINICAL, file), 'utf8');
  const at = src.indexOf(marker);
  if (at < 0) throw new Error(`${file}: ${marker} not found (the rule-reads scan needs it)`);
  const rest = src.slice(at + marker.length);
  const body = rest.slice(0, rest.search(end));
  return [...body.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1] as string);
}

const domains = () => quotedAfter('context.ts', 'export type ContextDomain =', /;/);
const analytes = () => quotedAfter('knowledge-schema.ts', 'export const ANALYTE_IDS = [', /\]/);
function measures(): string[] {
  const src = fs.readFileSync(path.join(CLINICAL, 'measures.ts'), 'utf8');
  const at = src.indexOf('MEASURE_DISPLAY');
  const body = src.slice(at, src.indexOf('};', at));
  return [...body.matchAll(/^\s+'?([a-z0-9-]+)'?:/gm)].map((m) => m[1] as string);
}

/** ClinicalContext fields and the domains whose data they hold. */
const FIELD_DOMAINS: Record<string, string[]> = {
  medications: ['medications'],
  conditions: ['conditions'],
  observedConditions: ['thyroid-labs', 'pregnancy-tests'],
  boneDensity: ['bone-density'],
  boneDensityOrders: ['bone-density-orders'],
};

/** A rule file and every rule-folder file it imports, transitively (the shared Rule plumbing left out). */
function closure(dir: string, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = fs.readFileSync(path.join(dir, `${file}.ts`), 'utf8');
  for (const m of src.matchAll(/from '\.\/([a-z0-9-]+)'/g)) {
    const dep = m[1] as string;
    if (dep !== 'rule' && dep !== 'registry') closure(dir, dep, seen);
  }
  return seen;
}

export function ruleReads(dir: string, file: string): RuleReads {
  const src = [...closure(dir, file)]
    .map((f) => fs.readFileSync(path.join(dir, `${f}.ts`), 'utf8'))
    // Comments cite things a rule does not read.
    .map((s) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''))
    .join('\n');
  const literals = new Set([...src.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1] as string));
  const found = new Set(domains().filter((d) => literals.has(d)));
  for (const [field, ds] of Object.entries(FIELD_DOMAINS))
    if (new RegExp(`\\.${field}\\b`).test(src)) for (const d of ds) found.add(d);
  const patient: string[] = [];
  if (/\.sex\b/.test(src)) patient.push('sex');
  if (/\bageNow\b|\.birthDate\b/.test(src)) patient.push('birthDate');
  return {
    domains: domains().filter((d) => found.has(d)),
    analytes: analytes().filter((a) => literals.has(a)),
    measures: measures().filter((m) => literals.has(m)),
    patient,
  };
}
