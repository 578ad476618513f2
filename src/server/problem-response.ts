import type { Response } from 'express';
import type { HttpProblem } from '../cds/outcomes';

/** Answers with the problem as a FHIR OperationOutcome, with Retry-After when the condition is transient. */
export function sendProblem(res: Response, p: HttpProblem): void {
  if (p.retryAfterS !== undefined) res.set('Retry-After', String(p.retryAfterS));
  res.status(p.status).type('application/fhir+json').send(JSON.stringify(p.outcome));
}
