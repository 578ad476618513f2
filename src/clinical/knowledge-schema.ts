/**
 * The shape of the clinical knowledge file (cds-hooks/knowledge/clinical.json), written once. ajv validates the file
 * against this object at start-up; the TypeScript types in knowledge.ts are derived from it; `npm run derive` writes
 * it out as cds-hooks/schemas/knowledge.schema.json for hospital IT. Each rule's own part lives in its rule file
 * (`export const knowledge`) and reaches here through the generated rule registry.
 */
import { Type } from '@sinclair/typebox';
import { RULE_KNOWLEDGE } from './rules/registry';
import { ConditionNames, Enum, MedicationNames, NonNegative, Positive, Provenance, RuleText } from './schema';
import { ProductSourceAttributes } from './source-attributes-schema';

export const ANALYTE_IDS = [
  'creatinine',
  'cystatin-c',
  'insulin',
  'glucose',
  'crp',
  'bmi',
  'body-weight',
  'body-height',
  'vitamin-d',
  'tsh',
  'free-t4',
] as const;
export const AnalyteId = Enum(ANALYTE_IDS);

/** A code-set concept of the observations code set (cds-hooks/codesets/observations.json). */
const ObservationConcept = Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' });

const Window = {
  /** The state holds from this many days before the result … */
  holdsDaysBefore: NonNegative,
  /** … to this many days after it. */
  holdsDaysAfter: NonNegative,
};

/** A coded result (valueCodeableConcept) whose answer says the state is present: "Pregnancy status: pregnant". */
const Coded = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    concepts: ConditionNames,
    kind: Type.Literal('coded'),
    observation: ObservationConcept,
    answers: ObservationConcept,
    ...Window,
  },
  { additionalProperties: false },
);

/** One test of a numeric result: below or above a number (canonical unit) or the result's own reference limit. */
const Criterion = Type.Object(
  {
    analyte: AnalyteId,
    below: Type.Optional(Type.Union([Positive, Type.Literal('low')])),
    above: Type.Optional(Type.Union([Positive, Type.Literal('high')])),
  },
  { additionalProperties: false, minProperties: 2 },
);

/** Numeric results that together show the state: any one list of criteria, all met by results drawn together. */
const Labs = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    concepts: ConditionNames,
    kind: Type.Literal('labs'),
    anyOf: Type.Array(Type.Array(Criterion, { minItems: 1 }), { minItems: 1 }),
    drawnWithinHours: Positive,
    ...Window,
  },
  { additionalProperties: false },
);

export const ObservedConditions = Type.Object(
  {
    facts: Type.Array(Type.Union([Coded, Labs])),
    text: RuleText,
    provenance: Provenance,
  },
  {
    additionalProperties: false,
    description:
      'Results that count as a condition concept where a state changes what a lab means (pregnancy from a pregnancy status or test, thyrotoxicosis from TSH and free T4)',
  },
);

const Range = Type.Object({ low: Positive, high: Positive }, { additionalProperties: false });

export const CodeRef = Type.Object(
  {
    system: Type.String({ format: 'uri' }),
    code: Type.String({ minLength: 1 }),
    display: Type.String(),
    fasting: Type.Boolean(),
  },
  { additionalProperties: false },
);

const analyteProperties = {
  display: Type.String(),
  canonicalUnit: Type.String(),
  molecularWeight: Type.Optional(Positive),
  /** Insulin only: pmol/L per µIU/mL. */
  pmolPerMicroIU: Type.Optional(Positive),
  plausible: Range,
  /** Filled from `codesFrom` at load time when the codes live in a code set. */
  codes: Type.Optional(Type.Array(CodeRef, { minItems: 1 })),
  provenance: Provenance,
  codesFrom: Type.Optional(
    Type.Object(
      { codeset: Type.String(), concept: Type.String() },
      {
        additionalProperties: false,
        description: 'take the codes from a code set concept (cds-hooks/codesets) instead of listing them here',
      },
    ),
  ),
};
const oneCodeSource = { oneOf: [{ required: ['codes'] }, { required: ['codesFrom'] }] };
export const Analyte = Type.Object(analyteProperties, { additionalProperties: false, ...oneCodeSource });
const Insulin = Type.Object(
  { ...analyteProperties, pmolPerMicroIU: Positive },
  { additionalProperties: false, ...oneCodeSource },
);

export const Orderable = Type.Object(
  { system: Type.String({ format: 'uri' }), code: Type.String(), display: Type.String(), provenance: Provenance },
  { additionalProperties: false },
);

export const Citation = Type.Object(
  {
    label: Type.String({ minLength: 1 }),
    url: Type.String({ format: 'uri', pattern: '^https://' }),
    evidence: Type.String(),
  },
  { additionalProperties: false },
);

export const UnitSpelling = Type.Object(
  {
    spelling: Type.String({ minLength: 1 }),
    ucum: Type.String({ minLength: 1 }),
    /** Only for these analytes (e.g. 'mU/L' means milli-international units on an insulin result); absent: any analyte. */
    analytes: Type.Optional(Type.Array(AnalyteId, { minItems: 1 })),
  },
  { additionalProperties: false },
);

const OBSERVATION_STATUSES = [
  'registered',
  'preliminary',
  'final',
  'amended',
  'corrected',
  'cancelled',
  'entered-in-error',
  'unknown',
] as const;

export const KnowledgeSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.String(),
    description: Type.Optional(Type.String()),
    analytes: Type.Object(
      {
        creatinine: Analyte,
        'cystatin-c': Analyte,
        insulin: Insulin,
        glucose: Analyte,
        crp: Analyte,
        bmi: Analyte,
        'body-weight': Analyte,
        'body-height': Analyte,
        'vitamin-d': Analyte,
        tsh: Analyte,
        'free-t4': Analyte,
      },
      { additionalProperties: false },
    ),
    /** Results that count as a condition concept (a pregnancy status, thyrotoxicosis by TSH and free T4). */
    observedConditions: ObservedConditions,
    /** KDIGO GFR categories, named wherever an eGFR is shown. */
    egfrStages: Type.Object(
      {
        stages: Type.Array(
          Type.Object(
            { stage: Type.String({ minLength: 1 }), atLeast: NonNegative, words: Type.String({ minLength: 1 }) },
            { additionalProperties: false },
          ),
          { minItems: 1 },
        ),
        /** How a stage reads beside an eGFR: {stage} and {words}. */
        text: Type.String({ minLength: 1 }),
        provenance: Provenance,
      },
      { additionalProperties: false },
    ),
    observationStatuses: Type.Array(Enum(OBSERVATION_STATUSES), { minItems: 1 }),
    lookbackMonths: Type.Integer({ minimum: 1, maximum: 120 }),
    /** BMI from body weight and height when no BMI result is in the look-back: how old the height may be. */
    derivedBmi: Type.Object(
      { heightWithinMonths: Type.Integer({ minimum: 0, maximum: 240 }), provenance: Provenance },
      { additionalProperties: false },
    ),
    pairing: Type.Object(
      {
        creatinineCystatinMaxHours: Type.Number({ minimum: 0, maximum: 168 }),
        insulinGlucoseMaxMinutes: Type.Number({ minimum: 0, maximum: 240 }),
        provenance: Provenance,
      },
      { additionalProperties: false },
    ),
    rules: Type.Object(RULE_KNOWLEDGE, { additionalProperties: false }),
    /** mg of prednisone per mg of each glucocorticoid (code-set concept id), with its source. */
    glucocorticoidEquivalence: Type.Object(
      { prednisoneMgPerMg: Type.Record(Type.String(), Positive, { minProperties: 1 }), provenance: Provenance },
      { additionalProperties: false },
    ),
    osteoporosisTherapy: MedicationNames,
    /**
     * Osteoporosis medicines given at long intervals (code-set concept id → days between doses and the grace after
     * a due date): past due + grace the therapy is not current, and the card says it is overdue.
     */
    osteoporosisTherapyIntervals: Type.Object(
      {
        byConcept: Type.Record(
          Type.String(),
          Type.Object({ intervalDays: Positive, graceDays: NonNegative }, { additionalProperties: false }),
        ),
        provenance: Provenance,
      },
      { additionalProperties: false },
    ),
    /**
     * One timeline per medicine: doses given at intervals (MedicationAdministration, a dated dose with no supply) are
     * one course while each follows the last within this many days; the course then runs to the next dose due.
     */
    medicationTimeline: Type.Object(
      { maxDoseIntervalDays: Positive, provenance: Provenance },
      { additionalProperties: false },
    ),
    orders: Type.Object(
      { 'cystatin-c': Orderable, creatinine: Orderable, dxa: Orderable, 'dxa-vfa': Orderable },
      { additionalProperties: false },
    ),
    citations: Type.Record(Type.String(), Citation, { minProperties: 1 }),
    /** ONC HTI-1 source attributes said once for every rule (developer, funding); each rule adds its own. */
    sourceAttributes: ProductSourceAttributes,
    /** Every rule is for adults unless listed in allAges; without a birth date an age-gated rule does not run. */
    ageGate: Type.Object(
      { adultAgeYears: Type.Number({ minimum: 18 }), allAges: Type.Array(Type.String()), provenance: Provenance },
      {
        additionalProperties: false,
        description: 'Every rule is for adults unless listed in allAges; without a birth date no age-gated rule runs.',
      },
    ),
    /** Unit spellings laboratories send, mapped to UCUM; anything else must be valid UCUM or the result cannot be read. */
    unitSpellings: Type.Object(
      { spellings: Type.Array(UnitSpelling), provenance: Provenance },
      { additionalProperties: false },
    ),
    /** A DXA on file within this many months means no card suggests another. */
    dxaOnFile: Type.Object({ withinMonths: Positive, provenance: Provenance }, { additionalProperties: false }),
    /** Words every rule shares (age gate, superseded, bone-care reasons, list pieces), as templates like a rule's text. */
    text: Type.Object(RuleText.properties, {
      additionalProperties: false,
      description:
        "Words every rule shares, as templates (the same shape as a rule's text): the engine's age gate and superseded findings, the bone-care reasons, what a card says when it drops a DXA suggestion or could not check a domain, the pieces of lists (an order being placed, how a code was recognised).",
    }),
  },
  { $id: 'knowledge.schema.json', title: 'Crosstalk clinical knowledge', additionalProperties: false },
);
