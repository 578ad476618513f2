/**
 * The shape of the clinical knowledge file (cds-hooks/knowledge/clinical.json).
 * The engine receives it as a value so it never reads files itself: the server,
 * the CLI and the browser app load it their own way and hand it in.
 */
import type { Codesets } from './codesets';
import type { ProductTable } from './products';

export type AnalyteId = 'creatinine' | 'cystatin-c' | 'insulin' | 'glucose' | 'crp' | 'bmi' | 'vitamin-d';
export type SexKey = 'female' | 'male';

export interface CodeRef {
  system: string;
  code: string;
  display: string;
  fasting: boolean;
}

export interface AnalyteKnowledge {
  display: string;
  canonicalUnit: string;
  molecularWeight?: number;
  /** Insulin only: pmol/L per µIU/mL. */
  pmolPerMicroIU?: number;
  plausible: { low: number; high: number };
  /** Filled from `codesFrom` at load time when the codes live in a code set. */
  codes: CodeRef[];
  codesFrom?: { codeset: string; concept: string };
  provenance: string;
}

export interface CitationRef {
  label: string;
  url: string;
  evidence: string;
}

/**
 * A rule's words, as templates with `{name}` placeholders the rule fills from its measures and thresholds (see
 * text.ts), so a site override of a threshold or of a sentence changes the card too.
 */
export interface RuleText {
  /** Why the finding matters: one sentence, the same for every patient; the card's "why" line. */
  why?: string;
  /** The short citation after the why line (a name and year). */
  cite?: string;
  /** What to do first, before the suggested orders. */
  action?: string;
  /** Named sentences of the finding (its lead statement, its carry-over line …). */
  card?: Record<string, string>;
  /** The text of each quiet reason, by reason code. */
  reasons?: Record<string, string>;
}

/**
 * How a rule's cards reach clinicians. `active`: returned. `silent`: evaluated and audited, the card withheld. A
 * pilot: active for the listed practitioners (the hook's userId), the listed locations (the encounter's locations)
 * or a fraction of patients chosen by a keyed hash; silent for the rest. The engine never reads it: the service
 * decides per call which rules' cards are shown (src/cds/modes.ts).
 */
export type RuleMode = 'active' | 'silent' | { pilot: PilotCohort };

export interface PilotCohort {
  /** `Practitioner/<id>` or `PractitionerRole/<id>`, as the hook's userId names them. */
  practitioners?: string[];
  /** `Location/<id>`, as the encounter's Encounter.location[].location names them. */
  locations?: string[];
  /** Share of patients (0–1], by HMAC of the patient under the site's pilot key: stable, nested as it grows. */
  patientFraction?: number;
}

export interface LowCcrRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  indicator: 'info' | 'warning';
  minAgeYears: number;
  adultAgeYears: number;
  threshold: {
    measure: 'ccr';
    below: Record<SexKey, number>;
    provisional: boolean;
    provenance: string;
  };
  minEgfrCrCys: number;
  confounders: CcrConfounderKnowledge;
  aki: {
    absoluteRiseMgDl: number;
    absoluteWindowHours: number;
    relativeRise: number;
    relativeWindowDays: number;
    provenance: string;
  };
  summary: string;
  citations: string[];
  text: RuleText;
}

export interface HomaRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  irCutoff: number;
  betaCutoff: number;
  minFastingGlucoseMmolL: number;
  maxFastingGlucoseMmolL: number;
  adultAgeYears: number;
  /** Medicines (code-set names) that make HOMA uninterpretable when taken within medicationWithinDays of the draw. */
  excludingMedications: string[];
  excludingConditions: string[];
  medicationWithinDays: number;
  /** The finding rules whose cards may carry the HOMA line. */
  attachTo: string[];
  provenance: string;
  citations: string[];
  text?: RuleText;
}

export interface MissingCcrInputRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  indicator: 'info' | 'warning';
  summaryCystatin: string;
  summaryCreatinine: string;
  summaryPair: string;
  citations: string[];
  text: RuleText;
}

/** What distorts the creatinine/cystatin C ratio [evidence: ccr-confounders]. Names are code-set concept ids or groups. */
export interface CcrConfounderKnowledge {
  glucocorticoidWithinDays: number;
  glucocorticoids: string[];
  /** The four named groups have their own timing rules; any further group suppresses while its condition is current at the draw. */
  conditions: Record<'hyperthyroidism' | 'pregnancy' | 'amputation-or-paralysis' | 'dialysis-or-transplant', string[]> & Record<string, string[]>;
  /** A CRP or BMI on file that cannot be read (undecided comparator, unknown unit) suppresses the card. */
  uncheckedSuppresses: boolean;
  postpartumMonths: number;
  crpAboveMgL: number;
  crpWithinDays: number;
  bmiBelow: number;
  bmiAtOrAbove: number;
  bmiWithinMonths: number;
  medications: string[];
  medicationWithinDays: number;
  provenance: string;
}

export interface LinkKnowledge {
  label: string;
  url: string;
  provenance: string;
}

export interface GlucocorticoidRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  indicator: 'info' | 'warning';
  triggers: string[];
  minPrednisoneEqMgPerDay: number;
  minDays: number;
  recentDays: number;
  maxGapDays: number;
  dxaWithinMonths: number;
  fraxMinAgeYears: number;
  osteoporosisTherapyWithinMonths: number;
  hydrocortisoneReplacement: { enabled: boolean; maxMgPerDay: number; conditions: string[]; provenance: string };
  suppressingConditions: string[];
  provenance: string;
  summary: string;
  summaryUnder40: string;
  summaryOrder: string;
  links: LinkKnowledge[];
  citations: string[];
  text: RuleText;
}

export interface EndocrineTherapyRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  indicator: 'info' | 'warning';
  triggers: string[];
  dxaBeforeStartMonths: number;
  /** A use counts as ongoing therapy unless its course is bounded to fewer days than this. */
  minCourseDays: number;
  minCourseProvenance: string;
  osteoporosisTherapyWithinMonths: number;
  suppressingConditions: string[];
  provenance: string;
  summary: string;
  summaryOrder: string;
  links: LinkKnowledge[];
  citations: string[];
  text: RuleText;
}

export interface SecondaryOsteoporosisRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  indicator: 'info' | 'warning';
  conditions: string[];
  fractures: string[];
  contributing: string[];
  minAgeYears: number;
  dxaWithinMonths: number;
  osteoporosisTherapyWithinMonths: number;
  suppressingConditions: string[];
  provenance: string;
  summary: string;
  links: LinkKnowledge[];
  citations: string[];
  text: RuleText;
}

export interface VitaminDRuleKnowledge {
  enabled: boolean;
  /** How the rule's cards reach clinicians (default active): see RuleMode. */
  mode?: RuleMode;
  belowNgMl: number;
  withinMonths: number;
  attachTo: string[];
  provenance: string;
  citations: string[];
  text?: RuleText;
}

export interface OrderableKnowledge {
  system: string;
  code: string;
  display: string;
  provenance: string;
}

export interface UnitSpelling {
  spelling: string;
  ucum: string;
  /** Only for these analytes (e.g. 'mU/L' means milli-international units on an insulin result); absent: any analyte. */
  analytes?: AnalyteId[];
}

export interface Knowledge {
  version: string;
  description?: string;
  analytes: Record<AnalyteId, AnalyteKnowledge>;
  observationStatuses: string[];
  /** Every rule is for adults unless listed in allAges; without a birth date an age-gated rule does not run. */
  ageGate: { adultAgeYears: number; allAges: string[]; provenance: string };
  /** Words every rule shares (age gate, superseded, bone-care reasons, list pieces), as templates like a rule's text. */
  text: RuleText;
  /** Unit spellings laboratories send, mapped to UCUM; anything else must be valid UCUM or the result cannot be read. */
  unitSpellings: { spellings: UnitSpelling[]; provenance: string };
  /** A DXA on file within this many months means no card suggests another. */
  dxaOnFile: { withinMonths: number; provenance: string };
  lookbackMonths: number;
  pairing: { creatinineCystatinMaxHours: number; insulinGlucoseMaxMinutes: number; provenance: string };
  rules: {
    'low-ccr': LowCcrRuleKnowledge;
    'homa-context': HomaRuleKnowledge;
    'missing-ccr-input': MissingCcrInputRuleKnowledge;
    'glucocorticoid-bone': GlucocorticoidRuleKnowledge;
    'endocrine-therapy-bone': EndocrineTherapyRuleKnowledge;
    'secondary-osteoporosis': SecondaryOsteoporosisRuleKnowledge;
    'vitamin-d-context': VitaminDRuleKnowledge;
  };
  /** mg of prednisone per mg of each glucocorticoid (code-set concept id), with its source. */
  glucocorticoidEquivalence: { prednisoneMgPerMg: Record<string, number>; provenance: string };
  osteoporosisTherapy: string[];
  orders: Record<'cystatin-c' | 'creatinine' | 'dxa' | 'dxa-vfa', OrderableKnowledge>;
  citations: Record<string, CitationRef>;
  /** Loaded from cds-hooks/codesets/, not from clinical.json: the engine reads codes only through here. */
  codesets: Codesets;
  /** Loaded from cds-hooks/products/: RxNorm products, their strength per unit, dose form and route. */
  products: ProductTable;
}
