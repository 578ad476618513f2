// The clinical engine's public surface: pure functions, importable by the server, the CLI and the browser app.

export type { ClinicalContext, ContextDomain, DraftOrders } from './context';
export { ageOn } from './dates';
export { egfrCr2021, egfrCrCys2021, egfrCys2012 } from './egfr';
export { type ClinicalInput, evaluatePatient, patientFacts } from './engine';
export { day, round, unitText } from './format';
export { homaBeta, homaIr } from './homa';
export { inputFromResources } from './input';
export type * from './knowledge';
export { MEASURE_DISPLAY, MEASURE_ORDER, summariseMeasure } from './measures';
export type { Rule } from './rules';
export { DEFAULT_RULES } from './rules';
export { type MeasureTrends, measureTrends, type TrendPoint } from './trend';
export * from './types';
