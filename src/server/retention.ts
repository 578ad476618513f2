import type { Logger } from 'pino';
import { DAY_MS } from '../clinical';
import type { PurgeResult, Store } from '../store/types';
import type { Metrics } from './metrics';

export interface PurgeJob {
  /** Runs one purge now; resolves with what it deleted, or undefined if the store failed (logged). */
  run(now?: Date): Promise<PurgeResult | undefined>;
  /** Stops the schedule and waits for a purge in progress, so the store can be closed after it. */
  stop(): Promise<void>;
}

/**
 * Deletes audit records, issued cards and feedback older than the retention period, and expired JWT
 * ids: once at start, then on an interval. Replicas sharing PostgreSQL may all run it; deletes by
 * time are idempotent.
 */
export function startPurgeJob(
  store: Store,
  opts: { retentionDays: number; intervalMinutes: number },
  logger: Logger,
  metrics: Metrics,
): PurgeJob {
  let running: Promise<PurgeResult | undefined> | undefined;
  const run = (now: Date = new Date()) => {
    running ??= store
      .purge(new Date(now.getTime() - opts.retentionDays * DAY_MS), now)
      .then(
        (r) => {
          for (const [kind, n] of Object.entries(r)) if (n) metrics.purged.inc({ kind }, n);
          if (r.calls || r.cards || r.feedback || r.jtis)
            logger.info({ event: 'purge', retentionDays: opts.retentionDays, ...r }, 'purged records past retention');
          return r;
        },
        (e: Error) => {
          logger.warn({ event: 'purge', err: { name: e.name, message: e.message } }, 'purge failed; will try again');
          return undefined;
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  void run();
  const timer = setInterval(() => void run(), opts.intervalMinutes * 60_000);
  timer.unref();
  return {
    run,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
