/**
 * The types of the clinical knowledge (cds-hooks/knowledge/clinical.json), derived from its one definition in
 * knowledge-schema.ts and the rule files. Type imports only: the engine receives the knowledge as a value, so it never
 * reads files itself: the server, the CLI and the browser app load it their own way and hand it in.
 */
import type { Static } from '@sinclair/typebox';
import type { Codesets } from './codesets';
import type * as S from './knowledge-schema';
import type { ProductTable } from './products';
import type {
  Links,
  PilotCohort as PilotCohortSchema,
  RuleMode as RuleModeSchema,
  RuleText as RuleTextSchema,
} from './schema';

export type AnalyteId = (typeof S.ANALYTE_IDS)[number];
export type SexKey = 'female' | 'male';
export type CodeRef = Static<typeof S.CodeRef>;
/** After loading, every analyte has its codes (copied from its code set when it names one). */
export type AnalyteKnowledge = Static<typeof S.Analyte> & { codes: CodeRef[] };
export type CitationRef = Static<typeof S.Citation>;
export type RuleText = Static<typeof RuleTextSchema>;
export type LinkKnowledge = Static<typeof Links>[number];
export type OrderableKnowledge = Static<typeof S.Orderable>;
export type UnitSpelling = Static<typeof S.UnitSpelling>;
/** How a rule's cards reach clinicians (rules.<id>.mode, default active): see schema.ts. */
export type RuleMode = Static<typeof RuleModeSchema>;
export type PilotCohort = Static<typeof PilotCohortSchema>;

type KnowledgeData = Static<typeof S.KnowledgeSchema>;
export type RuleId = keyof KnowledgeData['rules'];

export type Knowledge = Omit<KnowledgeData, 'analytes'> & {
  analytes: Record<AnalyteId, AnalyteKnowledge> & { insulin: { pmolPerMicroIU: number } };
  /** Loaded from cds-hooks/codesets/, not from clinical.json: the engine reads codes only through here. */
  codesets: Codesets;
  /** Loaded from cds-hooks/products/: RxNorm products, their strength per unit, dose form and route. */
  products: ProductTable;
};
