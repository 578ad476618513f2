import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

/*
 * Errors are FHIR OperationOutcomes with an HTTP status, made in one place. Their text is
 * written for the caller: it never holds a stack trace, a token or upstream response bodies.
 */

export type IssueCode = OperationOutcomeIssue['code'];

export function operationOutcome(
  code: IssueCode,
  text: string,
  opts: { severity?: OperationOutcomeIssue['severity']; expression?: string[]; diagnostics?: string } = {},
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: opts.severity ?? 'error',
        code,
        details: { text },
        ...(opts.diagnostics ? { diagnostics: opts.diagnostics } : {}),
        ...(opts.expression?.length ? { expression: opts.expression } : {}),
      },
    ],
  };
}

/** Seconds a client is asked to wait (Retry-After) before trying again after a store outage. */
export const RETRY_AFTER_S = 5;

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
    /** Sent as Retry-After: the condition is transient and the same request may succeed later. */
    readonly retryAfterS?: number,
  ) {
    super(outcome.issue[0]?.details?.text ?? `HTTP ${status}`);
    this.name = 'HttpProblem';
  }
}

export const problems = {
  badRequest: (text: string, diagnostics?: string, expression?: string[]) =>
    new HttpProblem(
      400,
      operationOutcome('invalid', text, {
        ...(diagnostics ? { diagnostics } : {}),
        ...(expression ? { expression } : {}),
      }),
    ),
  notFound: (text: string) => new HttpProblem(404, operationOutcome('not-found', text)),
  methodNotAllowed: (text: string) => new HttpProblem(405, operationOutcome('not-supported', text)),
  unsupportedMediaType: (text: string) => new HttpProblem(415, operationOutcome('not-supported', text)),
  tooLarge: (text: string) => new HttpProblem(413, operationOutcome('too-costly', text)),
  preconditionFailed: (issues: OperationOutcomeIssue[]) =>
    new HttpProblem(412, { resourceType: 'OperationOutcome', issue: issues }),
  /** The request is well-formed but names things this service cannot accept (e.g. feedback on unknown cards). */
  unprocessable: (issues: OperationOutcomeIssue[]) =>
    new HttpProblem(422, { resourceType: 'OperationOutcome', issue: issues }),
  unauthorized: (text: string) => new HttpProblem(401, operationOutcome('login', text)),
  /** A transient outage (the store): 503 with Retry-After, so a client knows the same request may succeed later. */
  unavailable: (text: string) => new HttpProblem(503, operationOutcome('transient', text), RETRY_AFTER_S),
  /** Over a rate limit: 429 with Retry-After, the seconds until the same request would be taken. */
  tooManyRequests: (text: string, retryAfterS: number) =>
    new HttpProblem(429, operationOutcome('throttled', text), retryAfterS),
  internal: () => new HttpProblem(500, operationOutcome('exception', 'Internal error. The incident was logged.')),
};
