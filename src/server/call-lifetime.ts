import type { NextFunction, Request, Response } from 'express';
import { HttpProblem, operationOutcome } from '../cds/outcomes';

/** Why a CDS call ended before its work did. */
export type CallEnd = 'client-gone' | 'time-budget';

/** The status a call that ended early is recorded with, in the audit trail and the metrics alike. */
export const END_STATUS: Record<CallEnd, number> = { 'client-gone': 499, 'time-budget': 503 };

export interface CallLifetime {
  /** Aborted when the call ends early: every FHIR read of the call listens on it. */
  signal: AbortSignal;
  ended(): CallEnd | undefined;
}

export function lifetimeOf(res: Response): CallLifetime {
  return res.locals.lifetime as CallLifetime;
}

/**
 * The caller hears back within the budget even if a FHIR server hangs. When the budget runs out, or the
 * EHR disconnects first, the call's signal aborts, so its outstanding FHIR reads stop rather than work on
 * for nobody.
 */
export function callLifetime(ms: number, send: (res: Response, p: HttpProblem) => void) {
  return (_req: Request, res: Response, next: NextFunction) => {
    const controller = new AbortController();
    let end: CallEnd | undefined;
    const finish = (why: CallEnd) => {
      end ??= why;
      const e = new Error(`call ended: ${why}`);
      e.name = 'CallEnded';
      controller.abort(e);
    };
    const timer = setTimeout(() => {
      if (res.writableEnded) return;
      finish('time-budget');
      if (!res.headersSent)
        send(res, new HttpProblem(503, operationOutcome('timeout', 'The service could not answer in time.')));
    }, ms);
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) finish('client-gone');
    });
    res.locals.lifetime = { signal: controller.signal, ended: () => end } satisfies CallLifetime;
    next();
  };
}
