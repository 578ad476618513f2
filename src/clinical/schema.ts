/**
 * Building blocks of the clinical knowledge shape, written once with TypeBox: each block is a JSON Schema object at
 * run time (ajv checks the knowledge file against it) and a TypeScript type through `Static`. The generated
 * cds-hooks/schemas/knowledge.schema.json (npm run derive) is a copy for hospital IT; this is the source.
 *
 * TypeBox's type builder is pure (no I/O, no Node built-ins), so rule files can declare their own data here and the
 * engine still runs unchanged in the browser.
 */
import { type TProperties, Type } from '@sinclair/typebox';
import { RuleSourceAttributes } from './source-attributes-schema';

/** A string from a fixed list, as a JSON Schema enum (one clear ajv message: must be equal to one of the allowed values). */
export const Enum = <const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

export const Provenance = Type.String({ minLength: 10 });
export const Positive = Type.Number({ exclusiveMinimum: 0 });
export const NonNegative = Type.Number({ minimum: 0 });
export const AdultAge = Type.Number({ minimum: 18 });
export const Indicator = Enum(['info', 'warning']);
/** A card summary: the CDS Hooks limit is 140 characters. */
export const Summary = Type.String({ minLength: 1, maxLength: 139 });
export const CitationIds = Type.Array(Type.String(), { minItems: 1 });
export const HttpsUrl = Type.String({ format: 'uri', pattern: '^https://' });

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' });
/**
 * Code-set concept ids or groups (cds-hooks/codesets). `codesetNames` says which code sets they name: the loader
 * finds every such list in the data through the schema and refuses a name the code sets do not have.
 */
const names = (kind: 'medication' | 'condition', minItems: number) =>
  Type.Array(Name, {
    minItems,
    codesetNames: kind,
    description: `${kind} concept ids or groups from cds-hooks/codesets`,
  });
export const MedicationNames = names('medication', 1);
export const ConditionNames = names('condition', 1);
/** Conditions that silence a rule: may be none. */
export const SuppressingConditions = names('condition', 0);

export const Links = Type.Array(
  Type.Object(
    { label: Type.String({ minLength: 1 }), url: HttpsUrl, provenance: Provenance },
    { additionalProperties: false },
  ),
);

export const RuleText = Type.Object(
  {
    /** Why the finding matters: one sentence, the same for every patient; the card's "why" line. */
    why: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
    /** The short citation after the why line (a name and year). */
    cite: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    /** What to do first, before the suggested orders. */
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
    /** Named sentences of the finding (its lead statement, its carry-over line …). */
    card: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 600 }))),
    /** The text of each quiet reason, by reason code. */
    reasons: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z]+(-[a-z]+)*$' }), Type.String({ minLength: 1, maxLength: 400 }), {
        additionalProperties: false,
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "A rule's words as templates: {name} inserts a value the rule supplies, {name:2} a number with two decimals.",
  },
);

const refs = (pattern: string) => Type.Array(Type.String({ pattern }), { minItems: 1, uniqueItems: true });

export const PilotCohort = Type.Object(
  {
    /** `Practitioner/<id>` or `PractitionerRole/<id>`, as the hook's userId names them. */
    practitioners: Type.Optional(refs('^(Practitioner|PractitionerRole)/[A-Za-z0-9\\-\\.]{1,64}$')),
    /** `Location/<id>`, as the encounter's Encounter.location[].location names them. */
    locations: Type.Optional(refs('^Location/[A-Za-z0-9\\-\\.]{1,64}$')),
    /** Share of patients (0–1], by HMAC of the patient under the site's pilot key: stable, nested as it grows. */
    patientFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/**
 * How a rule's cards reach clinicians. `active`: returned (the default). `silent`: evaluated and audited, the card
 * withheld. A pilot: active for the listed practitioners (the hook's userId), the listed locations (the encounter's
 * locations) or a fraction of patients chosen by a keyed hash; silent for the rest. The engine never reads it: the
 * service decides per call which rules' cards are shown (src/cds/modes.ts).
 */
export const RuleMode = Type.Union(
  [Enum(['active', 'silent']), Type.Object({ pilot: PilotCohort }, { additionalProperties: false })],
  {
    description:
      "How a rule's cards reach clinicians. active: returned (the default). silent: evaluated and audited, the card withheld. pilot: active for the listed practitioners (the hook's userId), the listed locations (the encounter's Encounter.location) or a fraction of patients chosen by a keyed hash (CROSSTALK_PILOT_KEY); silent for the rest.",
  },
);

/** The CDS Hooks a rule can run on; a service runs the rules that name its hook. */
export const Hook = Enum(['patient-view', 'order-select', 'order-sign']);

/**
 * Every rule's data starts with these: whether it runs, what it is called in the app, where it stands (a fired card
 * replaces the cards of every rule with a higher precedence number: one patient, one message), on which hooks it
 * runs, how its cards reach clinicians (mode), what it cites and its words.
 */
const ruleBase = {
  enabled: Type.Boolean(),
  mode: Type.Optional(RuleMode),
  title: Type.String({ minLength: 1, maxLength: 120, description: 'the rule as the app names it' }),
  precedence: Type.Integer({
    minimum: 1,
    description: 'lower runs first and wins: a fired card replaces those with a higher number',
  }),
  hooks: Type.Array(Hook, { uniqueItems: true, description: 'the CDS Hooks whose services run this rule' }),
  citations: CitationIds,
  /** ONC HTI-1 source attributes (45 CFR 170.315(b)(11)(iv)(A)): purpose, cautions, dates, validation. */
  sourceAttributes: RuleSourceAttributes,
  text: Type.Optional(RuleText),
};

/** A rule's data: the common fields above plus the rule's own (thresholds, code-set names, summaries). */
export function ruleKnowledge<T extends TProperties>(own: T) {
  const properties = { ...ruleBase, ...own } as Omit<typeof ruleBase, keyof T> & T;
  return Type.Object(properties, { additionalProperties: false });
}
