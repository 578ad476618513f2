import type { AnalyteId, CitationRef, OrderableKnowledge } from './knowledge';

export type Sex = 'female' | 'male';

/** Demographics the equations need, taken from the FHIR Patient. */
export interface PatientFacts {
  reference: string; // "Patient/<id>"
  birthDate?: string;
  /** Administrative gender, used by the sex-specific equations; absent when not female/male. */
  sex?: Sex;
}

/** One accepted laboratory result, in the analyte's canonical unit. */
export interface LabValue {
  analyte: AnalyteId;
  reference: string; // "Observation/<id>"
  code: string; // LOINC code as received
  value: number; // canonical unit
  unit: string; // canonical UCUM unit
  original: { value: number; unit: string };
  /** How the original unit became the canonical one, in words, when it was not already canonical. */
  conversion?: string;
  effective: string; // ISO date-time of the specimen
  effectiveMs: number;
  fasting: boolean;
  specimen?: string;
  /** The result's own reference range (Observation.referenceRange), in the canonical unit, when it gave one. */
  referenceRange?: { low?: number; high?: number };
  /** Observation.interpretation codes (HL7 v3 ObservationInterpretation: L, LL, H, HH, N …). */
  interpretation?: string[];
  /** A value computed from other results (BMI from weight and height): their references, and how, in words. */
  derivedFrom?: string[];
  derivation?: string;
}

export interface RejectedObservation {
  reference: string;
  analyte?: AnalyteId;
  /** The code that identified the result (as in LabValue), when it was one of ours. */
  code?: string;
  reason: string;
  /** The result names another patient: never this patient's result, so never "a result we could not use". */
  otherPatient?: true;
  /** Specimen time, when the result had one: a rejected result in the window is not an absent one. */
  effective?: string;
  effectiveMs?: number;
  /**
   * A result reported only as a bound (`>160 mg/L`), in the analyte's canonical unit: a rule may use it where the
   * bound alone decides against its threshold.
   */
  bound?: { comparator: '<' | '<=' | '>' | '>='; value: number; unit: string };
  /** The result exists and is final but its value could not be read (bound, unknown unit, no number, implausible). */
  unreadable?: boolean;
  /** A bound's own reference range (canonical unit) and interpretation flags: a bound below "low" is low. */
  referenceRange?: { low?: number; high?: number };
  interpretation?: string[];
}

export type MeasureCode =
  | 'sarcopenia-index'
  | 'ccr'
  | 'egfr-cr-2021'
  | 'egfr-cr-cys-2021'
  | 'egfr-cys-2012'
  | 'homa-ir'
  | 'homa-beta'
  | 'prednisone-equivalent-dose'
  | 'glucocorticoid-exposure';

/** A computed clinical number with everything needed to trust it. */
export interface Measure {
  code: MeasureCode;
  display: string;
  value: number; // unrounded
  unit: string;
  /** Observation/… for lab measures; MedicationRequest/… or MedicationStatement/… for glucocorticoid measures. */
  derivedFrom: string[];
  /** The lab values behind a lab measure (empty for medication measures). */
  inputs: LabValue[];
  formula: string;
  citations: string[];
  /** Date of the specimen(s) the measure describes. */
  effective: string;
  ageAtSpecimen?: number;
}

/** The public, stable JSON form of a measure (extension.crosstalk.measures[]). */
export interface MeasureSummary {
  code: MeasureCode;
  value: number;
  unit: string;
  derivedFrom: string[];
}

export interface Reason {
  code: string;
  text: string;
  /** The numbers and names behind a neutral code (e.g. egfr-below-minimum: value, minimum). */
  params?: Record<string, number | string>;
}

export interface OrderSuggestion {
  label: string;
  orders: OrderableKnowledge[];
}

/**
 * fired: a card's worth of finding. context: lines that enrich other findings but never stand alone.
 * suppressed: a condition makes the rule's inputs untrustworthy. not-met: nothing to report.
 */
export type RuleStatus = 'fired' | 'context' | 'suppressed' | 'not-met';

/** What one rule concluded for one patient: fired with a finding, or not, and why. */
export interface RuleOutcome {
  ruleId: string;
  status: RuleStatus;
  reasons: Reason[];
  finding?: Finding;
  context?: string[];
  /** The same context as the card says it: one short sentence each, in the rule's card words. */
  briefContext?: string[];
  /** Rules whose findings take this outcome's context lines; absent means every finding. */
  attachTo?: string[];
}

/** A fired rule's content, before it becomes a CDS Hooks card. */
export interface Finding {
  ruleId: string;
  indicator: 'info' | 'warning';
  summary: string;
  /** Statements of fact, one per line of the card's findings section. */
  statements: string[];
  measures: Measure[];
  /** Lines about context (e.g. HOMA) attached from other rules. */
  context: string[];
  caveats: string[];
  citations: CitationRef[];
  suggestions: OrderSuggestion[];
  links?: { label: string; url: string }[];
  /** Resources the finding is about (the order being placed), named on suggested orders as supportingInfo. */
  about?: string[];
  /** One line that says this finding inside another card when a stronger rule supersedes it. */
  carryOver?: string;
  /** The carry-over line as the other card's detail says it (short, bold on the decisive value). */
  carryOverBrief?: string;
  /** Short card lines other rules attach (HOMA, vitamin D, a superseded finding), after the rule's own found lines. */
  briefContext?: string[];
  /**
   * What the card's detail says, in the rule's words from its knowledge text (why, cite, a lead action; the found
   * lines too if the rule gives them, otherwise the renderer builds them from the statements). The renderer keeps it
   * within the card's budget. Everything else stays in the app and extension.crosstalk.
   */
  brief?: FindingBrief;
}

/**
 * A rule's part of its card's detail, every word from its knowledge text: the found lines (decisive value first, in
 * bold), why, cite, a lead action; the suggested orders and `then` (e.g. "calculate FRAX") follow the action.
 */
export interface FindingBrief {
  found?: string[];
  why: string;
  cite: string;
  action?: string;
  then?: string[];
  /**
   * Lines of `found` the detail never drops for length: what could not be checked, and a therapy overdue (a card
   * read without them would say more than the service knows, or hide a hazard).
   */
  unchecked?: string[];
  /** The closing tag every card carries ("Advisory, not a diagnosis."), from the knowledge's shared text. */
  advisory?: string;
  /** The label of the card's link to the SMART app, from the knowledge's shared text. */
  appLink?: string;
}

/**
 * The three parts of a card's detail (at most 600 characters of Markdown in all). Plain text: the renderer escapes
 * it; `**…**` around the decisive values is kept as bold. No FHIR references, codes, formulas or provenance here.
 */
export interface CardBrief {
  /** What was found: the decisive values with units and dates, one short sentence each, most important first. */
  found: string[];
  /** Why it matters: one sentence. */
  why: string;
  /** One short citation for `why`: first author and year, or the guideline's name and year ("ACR 2022"). */
  cite: string;
  /** What to do: the action the suggestion carries, or the check to make. */
  action: string;
}

/** A measure the engine computed but a rule says must not be read for this patient, with why. */
export interface WithheldMeasure {
  code: MeasureCode;
  /** The rule whose suppression withholds it. */
  ruleId: string;
  reasons: Reason[];
}

export interface PatientEvaluation {
  patient: PatientFacts;
  /** The evaluation's reference time (ISO). */
  asOf: string;
  labs: LabValue[];
  rejected: RejectedObservation[];
  measures: Measure[];
  outcomes: RuleOutcome[];
  findings: Finding[];
}
