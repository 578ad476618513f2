// The clinical engine's public surface: pure functions, importable by the server, the CLI and the browser app.

export type { Codeset, CodesetId, Codesets } from './codesets';
export { CODESET_IDS } from './codesets';
export type { ClinicalContext, ContextDomain, DraftOrders, Unreadable } from './context';
export { domainText } from './context';
export { ageOn, DAY_MS, subtractMonths } from './dates';
export { egfrCr2021, egfrCrCys2021, egfrCys2012 } from './egfr';
export { type ClinicalInput, evaluatePatient, patientFacts } from './engine';
export { clinicianText, day, humanDates, round, unitText, withoutReferences } from './format';
export { HOMA_FORMULAS, homaBeta, homaIr } from './homa';
export { inputFromResources } from './input';
export { egfrStage, egfrStageText } from './kidney-stage';
export type * from './knowledge';
export { KnowledgeSchema } from './knowledge-schema';
export { MEASURE_DISPLAY, MEASURE_ORDER, summariseMeasure } from './measures';
export { joinParts, memo, memoText } from './memo';
export type { ProductTable } from './products';
export type { Rule } from './rules';
export { DEFAULT_RULES } from './rules';
export { Enum } from './schema';
export {
  allSourceAttributes,
  INPUT_LABELS,
  MEASURE_DEMOGRAPHICS,
  SECTIONS,
  type SourceAttributes,
  sourceAttributes,
} from './source-attributes';
export { malformed, placeholders } from './text';
export { type MeasureTrends, measureTrends, type TrendPoint } from './trend';
export * from './types';
export { withheldMeasures } from './withheld';
