/**
 * The shape of the source attributes ONC's HTI-1 rule asks of an evidence-based decision support intervention
 * (45 CFR 170.315(b)(11)(iv)(A)(1)–(13)), as data in the knowledge file: what Crosstalk as a whole says once
 * (sourceAttributes: developer, funding) and what each rule says beside its own data (rules.<id>.sourceAttributes).
 * What a rule reads (its inputs, and so which demographics it uses) is not written here: it is found in the rule's
 * code (src/build/rule-reads.ts) so it cannot drift from what the code does. Pure TypeBox, like schema.ts.
 */
import { Type } from '@sinclair/typebox';

const Words = Type.String({ minLength: 10 });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Words1 = Type.Array(Words, { minItems: 1 });

/** (b)(11)(iv)(A)(2)–(3): who made the intervention and who paid for it; said once for every rule. */
export const ProductSourceAttributes = Type.Object(
  {
    regulation: Type.String({ minLength: 10, description: 'the section these attributes answer' }),
    developer: Type.Object(
      { name: Words, contact: Words, role: Words },
      { additionalProperties: false, description: 'who translated the research and guidelines into the rules' },
    ),
    fundingSource: Type.String({
      minLength: 10,
      description: "funding of the intervention's technical implementation",
    }),
  },
  { additionalProperties: false },
);

/** A review of a rule's cards by clinicians who did not write it. */
const Review = Type.Object(
  {
    date: Day,
    blind: Type.Boolean({ description: 'reviewers judged cases without seeing what the rule said' }),
    reviewers: Words,
    scope: Words,
    outcome: Words,
  },
  { additionalProperties: false },
);

/** One rule's attributes: purpose, cautions, dates and how it was validated. Its citations are the rule's own. */
export const RuleSourceAttributes = Type.Object(
  {
    output: Type.Object(
      {
        kind: Type.Unsafe<'recommendation' | 'evaluation' | 'analysis' | 'classification' | 'other'>({
          type: 'string',
          enum: ['recommendation', 'evaluation', 'analysis', 'classification', 'other'],
        }),
        description: Words,
      },
      { additionalProperties: false },
    ),
    intendedUse: Words,
    intendedPatients: Words,
    intendedUsers: Words,
    decisionRole: Type.Unsafe<'informs' | 'augments'>({
      type: 'string',
      enum: ['informs', 'augments'],
      description: 'an advisory card informs or augments a decision; none replaces clinical management',
    }),
    cautions: Words1,
    outOfScope: Words1,
    released: Day,
    revised: Type.Array(Day, { uniqueItems: true, description: 'revision dates, oldest first' }),
    validation: Type.Object(
      {
        /** Test files (paths from the repository root) that prove the rule's behaviour; each must exist. */
        tests: Type.Array(Type.String({ pattern: '^[a-z0-9][a-zA-Z0-9/._-]*\\.test\\.ts$' }), { minItems: 1 }),
        reviews: Type.Array(Review),
        /** What the validation has not covered yet, said plainly (e.g. no blind review yet). */
        gaps: Type.Array(Words),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
