import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { linkFeedback, parseFeedback } from '../cds/feedback';
import { HttpProblem, problems } from '../cds/outcomes';
import type { CdsService } from '../cds/services';
import { clientIss } from './audit';
import type { Operations } from './operations';
import { callerOf } from './security/authenticate';

async function fromStore<T>(what: string, p: Promise<T>, logger: Logger): Promise<T> {
  try {
    return await p;
  } catch (e) {
    logger.error(
      { event: 'cds-feedback', err: { name: (e as Error)?.name, code: (e as { code?: unknown })?.code } },
      `store failed: ${what}`,
    );
    throw problems.unavailable('Feedback could not be stored; nothing from this request was kept. Send it again.');
  }
}

/**
 * POST /cds-services/{id}/feedback: validate, link every entry to the card it answers, store them all
 * in one transaction, and answer 200 only once that transaction is durable.
 */
export function feedbackHandler(deps: { services: Map<string, CdsService>; ops: Operations; logger: Logger }) {
  const { services, ops, logger } = deps;
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    const service = services.get(id);
    if (!service) throw problems.notFound(`No CDS service "${id}" here; GET /cds-services lists them.`);
    if (!req.is(['application/json', 'application/*+json']))
      throw problems.unsupportedMediaType('Send the feedback as application/json.');
    const started = performance.now();
    try {
      const items = parseFeedback(req.body);
      const issued = await fromStore('looking up cards', ops.store.findCards(items.map((i) => i.card)), logger);
      const iss = clientIss(res);
      const tenant = callerOf(res)?.client?.tenant;
      const entries = linkFeedback(items, {
        service,
        issued,
        receivedAt: new Date(),
        ...(iss ? { clientIss: iss } : {}),
        ...(tenant ? { clientTenant: tenant } : {}),
      });
      const result = await fromStore('writing feedback', ops.store.recordFeedback(entries), logger);
      entries.forEach((e, i) => {
        if (result.isNew[i]) ops.metrics.feedback.inc({ service: id, rule: e.ruleId, outcome: e.outcome });
      });
      res.status(200).json({});
      logger.info(
        {
          event: 'cds-feedback',
          serviceId: id,
          status: 200,
          entries: entries.length,
          stored: result.stored,
          duplicates: result.duplicates,
          ms: Math.round(performance.now() - started),
        },
        'cds feedback',
      );
    } catch (e) {
      logger.warn(
        {
          event: 'cds-feedback',
          serviceId: id,
          status: e instanceof HttpProblem ? e.status : 500,
          ms: Math.round(performance.now() - started),
        },
        'cds feedback refused',
      );
      throw e;
    }
  };
}
