/**
 * A rule's source attributes as ONC HTI-1 lists them for an evidence-based decision support intervention
 * (45 CFR 170.315(b)(11)(iv)(A)(1)–(13)), put together from three places so that no list can lie: the words in the
 * knowledge file (sourceAttributes and rules.<id>.sourceAttributes), the rule's citations, and what the rule's code
 * reads (RULE_READS, found in its source by `npm run derive`). Which demographics a rule uses follows from what it
 * reads: never written by hand. Pure: the server, the CLI and the browser app all call it.
 */
import type { Knowledge, RuleId } from './knowledge';
import { RULE_READS } from './rules/registry';
import type { MeasureCode } from './types';

/** The section of the regulation each attribute answers. */
export const SECTIONS = {
  bibliographicCitation: '(b)(11)(iv)(A)(1)',
  developer: '(b)(11)(iv)(A)(2)',
  fundingSource: '(b)(11)(iv)(A)(3)',
  releaseAndRevisionDates: '(b)(11)(iv)(A)(4)',
  race: '(b)(11)(iv)(A)(5)',
  ethnicity: '(b)(11)(iv)(A)(6)',
  language: '(b)(11)(iv)(A)(7)',
  sexualOrientation: '(b)(11)(iv)(A)(8)',
  genderIdentity: '(b)(11)(iv)(A)(9)',
  sex: '(b)(11)(iv)(A)(10)',
  dateOfBirth: '(b)(11)(iv)(A)(11)',
  socialDeterminantsOfHealth: '(b)(11)(iv)(A)(12)',
  healthStatusAssessments: '(b)(11)(iv)(A)(13)',
} as const;

export type DemographicInput = Exclude<
  keyof typeof SECTIONS,
  'bibliographicCitation' | 'developer' | 'fundingSource' | 'releaseAndRevisionDates'
>;

/**
 * The computed measures that read a demographic: the CKD-EPI equations take sex and the age at the specimen (and,
 * as CKD-EPI 2021 is, no race). computeMeasures leaves such a measure out when the demographic is missing, which
 * src/clinical/source-attributes.test.ts checks, so this table cannot claim less than the equations use.
 */
export const MEASURE_DEMOGRAPHICS: Partial<Record<MeasureCode, ('sex' | 'birthDate')[]>> = {
  'egfr-cr-2021': ['sex', 'birthDate'],
  'egfr-cr-cys-2021': ['sex', 'birthDate'],
  'egfr-cys-2012': ['sex', 'birthDate'],
};

/** Context domains whose data is a USCDI Health Status Assessment (pregnancy status). */
const HEALTH_STATUS_DOMAINS: Record<string, string> = {
  'pregnancy-tests': 'pregnancy status and pregnancy test results (Observation), which suppress the card',
};

export interface InputUse {
  used: boolean;
  /** What is read and why, or why it is not. */
  how: string;
}

/** The inputs HTI-1 names, in the order the app and the generated doc list them, with their labels. */
export const INPUT_LABELS: [keyof SourceAttributes['inputs'], string][] = [
  ['race', 'Race'],
  ['ethnicity', 'Ethnicity'],
  ['language', 'Language'],
  ['sexualOrientation', 'Sexual orientation'],
  ['genderIdentity', 'Gender identity'],
  ['sex', 'Sex'],
  ['dateOfBirth', 'Date of birth'],
  ['socialDeterminantsOfHealth', 'Social determinants of health'],
  ['healthStatusAssessments', 'Health status assessments'],
];

export interface SourceAttributes {
  rule: string;
  title: string;
  hooks: string[];
  knowledgeVersion: string;
  regulation: string;
  sections: typeof SECTIONS;
  bibliographicCitation: { id: string; citation: string; url: string; evidence: string }[];
  developer: Knowledge['sourceAttributes']['developer'];
  fundingSource: string;
  releaseAndRevisionDates: { released: string; revised: string[] };
  inputs: Record<DemographicInput, InputUse> & {
    reads: { domains: string[]; analytes: string[]; measures: string[] };
  };
  output: Knowledge['rules'][RuleId]['sourceAttributes']['output'];
  intendedUse: string;
  intendedPatients: string;
  intendedUsers: string;
  decisionRole: string;
  cautions: string[];
  outOfScope: string[];
  validation: Knowledge['rules'][RuleId]['sourceAttributes']['validation'];
}

const NOT_READ =
  'Not used: Crosstalk keeps only Patient.birthDate and Patient.gender from the Patient resource (patientFacts) and reads no code set of this kind.';

/** One rule's attributes. Throws on a rule id the knowledge or the registry does not have: a caller's bug. */
export function sourceAttributes(id: string, k: Knowledge): SourceAttributes {
  const rule = (k.rules as Record<string, Knowledge['rules'][RuleId] | undefined>)[id];
  const reads = (RULE_READS as Record<string, (typeof RULE_READS)[keyof typeof RULE_READS] | undefined>)[id];
  if (!rule || !reads) throw new Error(`no rule "${id}"`);
  const sa = rule.sourceAttributes;
  const viaMeasures = (d: 'sex' | 'birthDate') =>
    reads.measures.filter((m) => MEASURE_DEMOGRAPHICS[m as MeasureCode]?.includes(d));
  const gated = !k.ageGate.allAges.includes(id);

  const sexVia = [
    ...((reads.patient as readonly string[]).includes('sex')
      ? ['the rule reads it (sex-specific wording or threshold)']
      : []),
    ...viaMeasures('sex').map((m) => `the ${m} equation`),
  ];
  const ageVia = [
    ...(gated
      ? [`the adult age gate (${k.ageGate.adultAgeYears} or older; without a birth date the rule does not run)`]
      : []),
    ...((reads.patient as readonly string[]).includes('birthDate')
      ? ['the rule reads the age (its own age limits)']
      : []),
    ...viaMeasures('birthDate').map((m) => `the ${m} equation (age at the specimen)`),
  ];
  const hsa = reads.domains.filter((d) => d in HEALTH_STATUS_DOMAINS);
  const no = (extra = ''): InputUse => ({ used: false, how: `${NOT_READ}${extra}` });

  return {
    rule: id,
    title: rule.title,
    hooks: [...rule.hooks],
    knowledgeVersion: k.version,
    regulation: k.sourceAttributes.regulation,
    sections: SECTIONS,
    bibliographicCitation: rule.citations.map((c) => {
      const ref = k.citations[c];
      return { id: c, citation: ref?.label ?? c, url: ref?.url ?? '', evidence: ref?.evidence ?? 'not stated' };
    }),
    developer: k.sourceAttributes.developer,
    fundingSource: k.sourceAttributes.fundingSource,
    releaseAndRevisionDates: { released: sa.released, revised: [...sa.revised] },
    inputs: {
      race: no(' The eGFR equations are the race-free CKD-EPI 2021 (and 2012 cystatin C) equations.'),
      ethnicity: no(),
      language: no(),
      sexualOrientation: no(),
      genderIdentity: no(
        ' Patient.gender is administrative gender, read only as the sex below; a gender identity extension is not read.',
      ),
      sex: sexVia.length
        ? {
            used: true,
            how: `Patient.gender (female or male, as administrative gender), through ${sexVia.join('; ')}.`,
          }
        : { used: false, how: 'Not used by this rule.' },
      dateOfBirth: ageVia.length
        ? { used: true, how: `Patient.birthDate, through ${ageVia.join('; ')}.` }
        : { used: false, how: 'Not used by this rule.' },
      socialDeterminantsOfHealth: no(),
      healthStatusAssessments: hsa.length
        ? { used: true, how: `Read: ${hsa.map((d) => HEALTH_STATUS_DOMAINS[d]).join('; ')}.` }
        : { used: false, how: 'Not used by this rule: it reads no health status assessment.' },
      reads: { domains: [...reads.domains], analytes: [...reads.analytes], measures: [...reads.measures] },
    },
    output: sa.output,
    intendedUse: sa.intendedUse,
    intendedPatients: sa.intendedPatients,
    intendedUsers: sa.intendedUsers,
    decisionRole: sa.decisionRole,
    cautions: [...sa.cautions],
    outOfScope: [...sa.outOfScope],
    validation: sa.validation,
  };
}

/** Every rule's attributes, in precedence order (how the engine runs them). */
export function allSourceAttributes(k: Knowledge, ids: readonly string[] = Object.keys(k.rules)): SourceAttributes[] {
  const rules = k.rules as Record<string, { precedence: number }>;
  return [...ids]
    .sort((a, b) => (rules[a]?.precedence ?? 0) - (rules[b]?.precedence ?? 0))
    .map((id) => sourceAttributes(id, k));
}
