/*
 * What Crosstalk keeps: an audit row per CDS call, the cards it issued (so feedback can be linked to
 * a card and its rule), clinicians' feedback, and a JWT replay cache. No patient identifier, token
 * or observation value is ever part of these records: the patient is a keyed hash, results appear
 * only as the computed measures.
 */

export type RuleStatus = 'fired' | 'context' | 'suppressed' | 'not-met';

/** How a rule's card was delivered: shown (active, pilot-in) or evaluated and withheld (silent, pilot-out). */
export type RuleDelivery = 'active' | 'silent' | 'pilot-in' | 'pilot-out';

export interface AuditedRule {
  ruleId: string;
  status: RuleStatus;
  /** Reason codes only: the reasons' texts quote laboratory values, which the audit must not hold. */
  reasonCodes: string[];
  /** Absent: active. A withheld rule's status is what it would have been had its card been shown. */
  mode?: RuleDelivery;
}

export interface AuditedMeasure {
  code: string;
  value: number;
  unit: string;
}

export interface IssuedCard {
  cardUuid: string;
  serviceId: string;
  ruleId: string;
  indicator: string;
  hookInstance?: string;
  issuedAt: Date;
  suggestionUuids: string[];
  callId: string;
  /** The authenticated client the card was issued to; absent in development mode. */
  clientIss?: string;
  clientTenant?: string;
}

/** One CDS service call, successful or not. */
export interface AuditCall {
  callId: string;
  calledAt: Date;
  serviceId: string;
  hookInstance?: string;
  clientIss?: string;
  /** HMAC of the patient id under the configured audit key; absent when the request named no patient. */
  patientHash?: string;
  status: number;
  latencyMs: number;
  /** Per prefetch key: prefetch, fhir, prefetch+fhir or unavailable. */
  dataSources: Record<string, string>;
  partialKeys: string[];
  rules: AuditedRule[];
  measures: AuditedMeasure[];
  cards: IssuedCard[];
}

export type FeedbackOutcome = 'accepted' | 'overridden';

export interface OverrideReasonRecord {
  system?: string;
  code?: string;
  display?: string;
  comment?: string;
}

/** One feedback entry, already linked to the card (and so the rule and call) it answers. */
export interface FeedbackEntry {
  cardUuid: string;
  outcome: FeedbackOutcome;
  outcomeAt: Date;
  receivedAt: Date;
  serviceId: string;
  ruleId: string;
  callId: string;
  cardIssuedAt: Date;
  acceptedSuggestions: string[];
  overrideReason?: OverrideReasonRecord;
  /**
   * Every reason the entry carried, when there is more than the one in overrideReason (Epic's overrideReasons list),
   * or reasons sent with an outcome that is not an override: nothing a client sent is dropped.
   */
  overrideReasons?: OverrideReasonRecord[];
  clientIss?: string;
}

export interface FeedbackResult {
  /** Entries stored by this call. */
  stored: number;
  /** Entries already stored before (same card, outcome and timestamp), or repeated within the call. */
  duplicates: number;
  /** Per entry, in order: true if this call stored it. */
  isNew: boolean[];
}

export type ReportInterval = 'all' | 'day' | 'week';

export interface ReportQuery {
  from: Date;
  to: Date;
  interval: ReportInterval;
  /** How many override reasons to list per rule and period. */
  topReasons?: number;
}

export interface OverrideReasonCount {
  system?: string;
  code?: string;
  display?: string;
  count: number;
}

/** Governance figures for one rule in one period. Feedback counts attach to the period the card was issued in. */
export interface RuleReport {
  periodStart: string;
  periodEnd: string;
  ruleId: string;
  /** Calls that ran the rule, in any mode. */
  calls: number;
  /** Of those calls, how many ran it in each mode (modes that did not occur are absent). */
  callsByMode: Partial<Record<RuleDelivery, number>>;
  /** Cards shown (mode active or pilot-in). */
  fired: number;
  firedPer1000Calls: number;
  /** Cards a silent or pilot-out rule would have shown: evaluated, audited, withheld. */
  wouldHaveShown: number;
  wouldHaveShownPer1000Calls: number;
  /** Suppressions in any mode. */
  suppressed: number;
  /** Suppressions by reason code, most frequent first (all of them: the set of codes is small and closed). */
  suppressionReasons: { code: string; count: number }[];
  /** Cards whose latest feedback is `accepted` / `overridden`; cards without feedback count in neither. */
  accepted: number;
  overridden: number;
  topOverrideReasons: OverrideReasonCount[];
  /** Median latency of the calls in which the rule fired, in ms; absent when it never fired. */
  medianLatencyMs?: number;
}

export interface GovernanceReport {
  from: string;
  to: string;
  interval: ReportInterval;
  rules: RuleReport[];
}

export interface PurgeResult {
  calls: number;
  cards: number;
  feedback: number;
  jtis: number;
}

export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  /** Stores a call with its rules and cards in one transaction; resolves once it is durable. */
  recordCall(call: AuditCall): Promise<void>;
  /** The issued cards among these uuids, by uuid. */
  findCards(uuids: string[]): Promise<Map<string, IssuedCard>>;
  /** Stores entries in one transaction, ignoring ones already stored; resolves once it is durable. */
  recordFeedback(entries: FeedbackEntry[]): Promise<FeedbackResult>;
  report(q: ReportQuery): Promise<GovernanceReport>;
  /** Deletes calls, cards and feedback older than `before`, and expired JWT ids. */
  purge(before: Date, now?: Date): Promise<PurgeResult>;
  /** JWT replay cache: true when (iss, jti) is new and is now remembered until expiresAt, false for a replay. */
  rememberJti(iss: string, jti: string, expiresAt: Date, now?: Date): Promise<boolean>;
  /** Resolves when the store answers a query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
