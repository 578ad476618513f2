import type { CodeableConcept, Coding } from 'fhir/r4';

/*
 * Code sets (cds-hooks/codesets/*.json) as the engine sees them, and the one way they are matched.
 * The engine gets them as values inside Knowledge, so it never reads files.
 */

export interface CodeVerification {
  status: 'verified' | 'unverified';
  method: string;
  sources: string[];
  note?: string;
}

export interface CodesetCode {
  system: string;
  code: string;
  display: string;
  match?: 'exact' | 'prefix';
  verification: CodeVerification;
}

export interface CodesetConcept {
  id: string;
  display: string;
  group?: string;
  /** Which FRAX input a condition concept is ('none': FRAX does not take it) [evidence: frax-inputs]. */
  fraxInput?: FraxInput;
  names?: string[];
  codes: CodesetCode[];
  /**
   * When a recorded Condition of this concept counts: `current` (clinicalStatus active/recurrence/relapse, or not
   * abated) or `ever` (any clinicalStatus: a confirmed RA in remission, a fracture healed long ago). Default current.
   */
  countsWhen?: 'current' | 'ever';
  /** Resource types besides Condition that record this concept (hospice care as a Procedure or an Encounter). */
  recordedAs?: ('Procedure' | 'Encounter' | 'ServiceRequest' | 'EpisodeOfCare')[];
  /** How long a dated care record (a Procedure, an Encounter) of this concept counts after it ended. */
  recordCountsForMonths?: number;
  /** The published value sets the codes were taken from. */
  valueSets?: { oid: string; title: string; version: string; source: string }[];
  /** Why the concept has codes of one system only, where a published value set has none in the other. */
  oneSystemReason?: string;
}

export type FraxInput =
  | 'rheumatoid-arthritis'
  | 'secondary-osteoporosis'
  | 'prior-fracture'
  | 'glucocorticoids'
  | 'none';

export interface Codeset {
  id: string;
  version: string;
  title: string;
  purpose: string;
  checked?: string;
  concepts: CodesetConcept[];
}

export type CodesetId =
  | 'glucocorticoids'
  | 'endocrine-therapy'
  | 'osteoporosis-therapy'
  | 'other-medications'
  | 'conditions'
  | 'observations'
  | 'routes';
export const CODESET_IDS: readonly CodesetId[] = [
  'glucocorticoids',
  'endocrine-therapy',
  'osteoporosis-therapy',
  'other-medications',
  'conditions',
  'observations',
  'routes',
];

export type Codesets = Record<CodesetId, Codeset>;

/**
 * How a concept was recognised. `code` is a coded match (RxNorm, SNOMED, ICD-10-CM, LOINC), `class` an ATC
 * class or ICD category prefix, `text` the last-resort name match, which cards report as such.
 */
export type MatchBasis = 'code' | 'class' | 'text';

export interface ConceptMatch {
  codeset: CodesetId;
  concept: CodesetConcept;
  basis: MatchBasis;
  /** The code as it appeared on the resource; absent for a text match. */
  coding?: { system: string; code: string; display?: string };
  /** The text that matched (text matches only). */
  text?: string;
  /** False when the matching code is marked unverified in the code set: such a match never makes a card fire. */
  verified: boolean;
}

const SYSTEM_LABEL: Record<string, string> = {
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://www.whocc.no/atc': 'ATC',
  'http://snomed.info/sct': 'SNOMED CT',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD-10-CM',
  'http://loinc.org': 'LOINC',
};

export function systemLabel(system: string): string {
  return SYSTEM_LABEL[system] ?? system;
}

/** ICD-10-CM arrives with and without the dot (E05.00, E0500); compare without it. */
function norm(system: string, code: string): string {
  return system === 'http://hl7.org/fhir/sid/icd-10-cm' ? code.replace(/\./g, '').toUpperCase() : code.trim();
}

function codeMatches(def: CodesetCode, c: Coding): boolean {
  if (c.system !== def.system || !c.code) return false;
  const have = norm(def.system, c.code);
  const want = norm(def.system, def.code);
  return def.match === 'prefix' ? have.startsWith(want) : have === want;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whole-word, case-insensitive: "creatine" must not match "creatinine". */
export function nameIn(text: string, name: string): boolean {
  return new RegExp(`(^|[^a-z0-9])${escapeRegExp(name)}([^a-z0-9]|$)`, 'i').test(text);
}

export function textsOf(cc: CodeableConcept | undefined): string[] {
  if (!cc) return [];
  return [cc.text, ...(cc.coding ?? []).map((c) => c.display)].filter((t): t is string => !!t && t.trim().length > 0);
}

/**
 * Every concept of `set` that the CodeableConcept carries: by code first; by name only when no coding of the
 * concept matched. Several concepts can match one product (an ingredient and its ATC class).
 */
export function matchConcepts(cc: CodeableConcept | undefined, set: Codeset, id: CodesetId): ConceptMatch[] {
  if (!cc) return [];
  const out: ConceptMatch[] = [];
  for (const concept of set.concepts) {
    let best: ConceptMatch | undefined;
    for (const def of concept.codes) {
      const hit = (cc.coding ?? []).find((c) => codeMatches(def, c));
      if (!hit) continue;
      const m: ConceptMatch = {
        codeset: id,
        concept,
        basis: def.match === 'prefix' ? 'class' : 'code',
        coding: { system: def.system, code: hit.code as string, ...(hit.display ? { display: hit.display } : {}) },
        verified: def.verification.status === 'verified',
      };
      // A verified code outranks an unverified one for the same concept.
      if (!best || (m.verified && !best.verified)) best = m;
    }
    if (!best && concept.names?.length) {
      const text = textsOf(cc).find((t) => concept.names?.some((n) => nameIn(t, n)));
      if (text) best = { codeset: id, concept, basis: 'text', text, verified: true };
    }
    if (best) out.push(best);
  }
  return out;
}

/** True when the match is for a concept named in `names` by its id or its group. */
export function isOneOf(m: ConceptMatch, names: readonly string[]): boolean {
  return names.includes(m.concept.id) || (!!m.concept.group && names.includes(m.concept.group));
}

/** How a match reads on a card, e.g. "RxNorm 8640 (prednisone)" or "the name 'prednisone' in 'Prednisone 5 mg tab' (no RxNorm or ATC code)". */
export function describeMatch(m: ConceptMatch): string {
  if (m.basis === 'text')
    return `the name "${m.concept.display}" in the text "${m.text ?? ''}" (text match: no recognised code on the resource)`;
  const c = m.coding as NonNullable<ConceptMatch['coding']>;
  const what = `${systemLabel(c.system)} ${c.code}${m.basis === 'class' ? ` (class: ${m.concept.display})` : ` (${m.concept.display})`}`;
  return m.verified ? what : `${what}, an UNVERIFIED code`;
}

/** Code matches beat text matches, verified beats unverified: the strongest evidence speaks for the concept. */
export function strongest(ms: ConceptMatch[]): ConceptMatch | undefined {
  const rank = (m: ConceptMatch) => (m.basis === 'text' ? 2 : 0) + (m.verified ? 0 : 4) + (m.basis === 'class' ? 1 : 0);
  return [...ms].sort((a, b) => rank(a) - rank(b))[0];
}
