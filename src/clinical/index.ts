// The clinical engine's public surface: pure functions, importable by the server, the CLI and the browser app.
export * from './types';
export type * from './knowledge';
export { evaluatePatient, patientFacts, type ClinicalInput } from './engine';
export { inputFromResources } from './input';
export type { ClinicalContext, ContextDomain, DraftOrders } from './context';
export { MEASURE_DISPLAY, MEASURE_ORDER, summariseMeasure } from './measures';
export { egfrCr2021, egfrCrCys2021, egfrCys2012 } from './egfr';
export { homaIr, homaBeta } from './homa';
export { DEFAULT_RULES } from './rules';
export { measureTrends, type MeasureTrends, type TrendPoint } from './trend';
export { day, round, unitText } from './format';
export { ageOn } from './dates';
export type { Rule } from './rules';
