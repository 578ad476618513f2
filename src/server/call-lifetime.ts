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
  /**
   * Decides the call's answer: the first claim wins, and the status it names is both what is sent and what the
   * audit records. The time budget claims 503 when it runs out (and its audit row is written then), the EHR's
   * hang-up 499, the handler its own status just before it records and sends it. True for the claim that won;
   * false once another has.
   */
  claim(status: number): boolean;
  /** The status the call was answered (or is being answered) with, once a claim has won. */
  answered(): number | undefined;
}

export function lifetimeOf(res: Response): CallLifetime {
  return res.locals.lifetime as CallLifetime;
}

/**
 * The handlers of calls still running, so shutdown can wait for them (and their audit rows) before the store
 * closes: a call the time budget already answered has no open response left for the HTTP server to wait on.
 */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const drop = () => this.running.delete(p);
    p.then(drop, drop);
    return p;
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves once every handler running now, and any started meanwhile, has finished. */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }
}

/**
 * The caller hears back within the budget even if a FHIR server hangs. When the budget runs out, or the
 * EHR disconnects first, the call's signal aborts, so its outstanding FHIR reads stop rather than work on
 * for nobody. Once the handler has claimed its answer (it is recording it), the budget no longer answers
 * over it: the audit row and the answer must agree.
 */
export function callLifetime(
  ms: number,
  send: (res: Response, p: HttpProblem) => void,
  /**
   * Told when the budget has answered 503 (its claim won): the call's audit row is written there, with what was
   * sent, because the handler may never run (a body that never arrives) or may run after shutdown began.
   */
  onBudgetAnswer?: (req: Request, res: Response, startedMs: number) => void,
) {
  return (req: Request, res: Response, next: NextFunction) => {
    const startedMs = performance.now();
    const controller = new AbortController();
    let end: CallEnd | undefined;
    let status: number | undefined;
    const claim = (s: number) => {
      if (status !== undefined) return false;
      status = s;
      return true;
    };
    const finish = (why: CallEnd) => {
      end ??= why;
      const e = new Error(`call ended: ${why}`);
      e.name = 'CallEnded';
      controller.abort(e);
    };
    const timer = setTimeout(() => {
      if (res.writableEnded || !claim(END_STATUS['time-budget'])) return;
      finish('time-budget');
      if (!res.headersSent)
        send(res, new HttpProblem(503, operationOutcome('timeout', 'The service could not answer in time.')));
      onBudgetAnswer?.(req, res, startedMs);
    }, ms);
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => {
      clearTimeout(timer);
      if (res.writableFinished) return;
      claim(END_STATUS['client-gone']);
      finish('client-gone');
    });
    res.locals.lifetime = {
      signal: controller.signal,
      ended: () => end,
      claim,
      answered: () => status,
    } satisfies CallLifetime;
    next();
  };
}
