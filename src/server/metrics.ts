import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/*
 * Prometheus metrics. One registry per running app (not prom-client's global one), so several
 * instances in one process (the tests) count separately. Label values come from closed sets (service
 * ids from the service files, rule ids, statuses, outcome kinds): never from request content.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'crosstalk_http_request_duration_seconds',
    help: 'CDS Hooks requests by endpoint (discovery, call, feedback), service and HTTP status',
    labelNames: ['endpoint', 'service', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly cdsCalls = new Counter({
    name: 'crosstalk_cds_calls_total',
    help: 'CDS service calls as the audit trail recorded them, by service and status (499: the EHR went away before the answer)',
    labelNames: ['service', 'status'] as const,
    registers: [this.registry],
  });

  readonly cdsCallsAborted = new Counter({
    name: 'crosstalk_cds_calls_aborted_total',
    help: 'CDS service calls that ended before their work did, by service and reason (client-gone, time-budget); their FHIR reads were aborted',
    labelNames: ['service', 'reason'] as const,
    registers: [this.registry],
  });

  readonly fhirFetchDuration = new Histogram({
    name: 'crosstalk_fhir_fetch_duration_seconds',
    help: 'Reads from an EHR FHIR server, one per prefetch key, by outcome (ok, timeout, aborted, network, refused, invalid-response, too-large, too-deep, http_<status>)',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly fhirFetchErrors = new Counter({
    name: 'crosstalk_fhir_fetch_errors_total',
    help: 'Failed reads from an EHR FHIR server, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly fhirFallbacks = new Counter({
    name: 'crosstalk_fhir_search_fallbacks_total',
    help: 'Prefetch keys read from an EHR FHIR server in a simpler form than their template because the server rejected it, by the steps taken (no-sort, no-include, no-code, category, lenient, ignored) or missing-endpoint',
    labelNames: ['fallback'] as const,
    registers: [this.registry],
  });

  readonly cards = new Counter({
    name: 'crosstalk_cards_total',
    help: 'Cards returned, by service, rule and indicator',
    labelNames: ['service', 'rule', 'indicator'] as const,
    registers: [this.registry],
  });

  readonly ruleFired = new Counter({
    name: 'crosstalk_rule_fired_total',
    help: 'Rules that fired, by service, rule and mode: active and pilot-in cards were shown; silent and pilot-out cards were withheld (would have shown)',
    labelNames: ['service', 'rule', 'mode'] as const,
    registers: [this.registry],
  });

  readonly ruleMode = new Gauge({
    name: 'crosstalk_rule_mode',
    help: 'The mode each rule runs in now (1 for its mode: active, silent or pilot), from the knowledge loaded at start or at the last reload',
    labelNames: ['rule', 'mode'] as const,
    registers: [this.registry],
  });

  readonly knowledgeReloads = new Counter({
    name: 'crosstalk_knowledge_reloads_total',
    help: 'Reloads of the site knowledge file (SIGHUP, or a change the file watch saw), by result (applied, rejected: the running configuration was kept)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly feedback = new Counter({
    name: 'crosstalk_feedback_total',
    help: 'Feedback entries stored (duplicates not counted), by service, rule and outcome',
    labelNames: ['service', 'rule', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly auditFailures = new Counter({
    name: 'crosstalk_audit_write_failures_total',
    help: 'Service calls whose audit record could not be written',
    registers: [this.registry],
  });

  readonly purged = new Counter({
    name: 'crosstalk_purged_records_total',
    help: 'Records deleted by the retention purge, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'crosstalk_' });
  }

  /** Observer for gather(): one FHIR read with its outcome and duration. */
  readonly observeFhirFetch = (outcome: string, seconds: number): void => {
    this.fhirFetchDuration.observe({ outcome }, seconds);
    if (outcome !== 'ok') this.fhirFetchErrors.inc({ outcome });
  };

  /** Observer for gather(): one key read through the search ladder's fallback. */
  readonly countFhirFallback = (fallback: string): void => {
    this.fhirFallbacks.inc({ fallback });
  };
}
