/**
 * The shape of the clinical knowledge file (cds-hooks/knowledge/clinical.json).
 * The engine receives it as a value so it never reads files itself: the server,
 * the CLI and the browser app load it their own way and hand it in.
 */
export type AnalyteId = 'creatinine' | 'cystatin-c' | 'insulin' | 'glucose';
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
  codes: CodeRef[];
  provenance: string;
}

export interface CitationRef {
  label: string;
  url: string;
  evidence: string;
}

export interface LowCcrRuleKnowledge {
  enabled: boolean;
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
  aki: {
    absoluteRiseMgDl: number;
    absoluteWindowHours: number;
    relativeRise: number;
    relativeWindowDays: number;
    provenance: string;
  };
  summary: string;
  citations: string[];
}

export interface HomaRuleKnowledge {
  enabled: boolean;
  irCutoff: number;
  betaCutoff: number;
  minFastingGlucoseMmolL: number;
  maxFastingGlucoseMmolL: number;
  adultAgeYears: number;
  provenance: string;
  citations: string[];
}

export interface MissingCcrInputRuleKnowledge {
  enabled: boolean;
  indicator: 'info' | 'warning';
  summaryCystatin: string;
  summaryCreatinine: string;
  summaryPair: string;
  citations: string[];
}

export interface OrderableKnowledge {
  system: string;
  code: string;
  display: string;
  provenance: string;
}

export interface Knowledge {
  version: string;
  description?: string;
  analytes: Record<AnalyteId, AnalyteKnowledge>;
  observationStatuses: string[];
  lookbackMonths: number;
  pairing: { creatinineCystatinMaxHours: number; insulinGlucoseMaxMinutes: number; provenance: string };
  rules: {
    'low-ccr': LowCcrRuleKnowledge;
    'homa-context': HomaRuleKnowledge;
    'missing-ccr-input': MissingCcrInputRuleKnowledge;
  };
  orders: Record<'cystatin-c' | 'creatinine' | 'dxa', OrderableKnowledge>;
  citations: Record<string, CitationRef>;
}
