import type { FhirResource } from 'fhir/r4';
import type { MeasureSummary } from '../clinical';

/* CDS Hooks 2.0 wire types, as far as Crosstalk sends and receives them. */

/** The request's type is its schema's (src/cds/wire-schema.ts), so the two cannot drift apart. */
export type { CdsRequest } from './wire-schema';

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface Action {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: FhirResource;
  resourceId?: string;
}

export interface Suggestion {
  label: string;
  uuid: string;
  isRecommended?: boolean;
  actions?: Action[];
}

export interface Link {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
}

/** The machine-readable result on every finding card: a public contract, keep it stable. */
export interface CrosstalkExtension {
  ruleId: string;
  /** The clinical knowledge version the rule ran with. */
  knowledgeVersion: string;
  /** The measures the finding rests on; display, effective and formula added for clients that show the depth. */
  measures: (MeasureSummary & { display: string; effective: string; formula: string })[];
  /** Measures computed for the patient that must not be read (e.g. CCR with glucocorticoids), with why. */
  withheld?: { code: MeasureSummary['code']; ruleId: string; reasons: { code: string; text: string }[] }[];
  /** What the detail leaves out: every statement, context line and caveat in full, and the evidence. */
  statements: string[];
  context: string[];
  caveats: string[];
  citations: { label: string; url: string }[];
}

export interface Card {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string; topic?: Coding };
  suggestions?: Suggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: Link[];
  extension: { crosstalk: CrosstalkExtension };
}

export interface CdsResponse {
  cards: Card[];
}
