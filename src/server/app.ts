import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Knowledge } from '../clinical/knowledge';
import { type CallDeps, callService } from '../cds/call';
import { HttpProblem, problems } from '../cds/outcomes';
import type { CdsService } from '../cds/services';
import type { EmbeddedFhirServer } from '../demo/fhir-server';
import { adminRouter } from './admin';
import { Auditor, clientIss } from './audit';
import type { AppConfig } from './config';
import { feedbackHandler } from './feedback-route';
import { type Operations, measureCds, operationsRouter } from './operations';

export interface AppDeps {
  config: AppConfig;
  knowledge: Knowledge;
  services: Map<string, CdsService>;
  logger: Logger;
  embeddedFhir?: EmbeddedFhirServer;
  now?: () => Date;
  /** Store, metrics, audit key, admin token: feedback, audit, readiness, metrics and reports. */
  ops: Operations;
}

function sendProblem(res: Response, p: HttpProblem): void {
  res.status(p.status).type('application/fhir+json').send(JSON.stringify(p.outcome));
}

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => Promise.resolve(h(req, res)).catch(next);

export function createApp(deps: AppDeps): express.Express {
  const { config, knowledge, services, logger, ops } = deps;
  const auditor = new Auditor(ops, logger);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const callDeps: CallDeps = {
    knowledge,
    now: deps.now ?? (() => new Date()),
    gather: { timeoutMs: config.fhirTimeoutMs, maxPages: config.fhirMaxPages, observe: ops.metrics.observeFhirFetch },
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(operationsRouter(ops, logger));
  if (ops.adminToken) app.use('/admin', adminRouter(ops.store, ops.adminToken, logger));

  if (deps.embeddedFhir) app.use('/fhir', deps.embeddedFhir.router);

  const cds = express.Router();
  cds.use(measureCds(ops.metrics, services));
  cds.use(express.json({ limit: config.bodyLimit, type: ['application/json', 'application/*+json'] }));

  cds.get('/', (_req, res) => {
    res.json({ services: [...services.values()].map((s) => s.definition.discovery) });
  });

  cds.post(
    '/:id',
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const service = services.get(id);
      if (!service) throw problems.notFound(`No CDS service "${id}" here; GET /cds-services lists them.`);
      if (!req.is(['application/json', 'application/*+json'])) throw problems.unsupportedMediaType('Send the request as application/json.');
      const started = performance.now();
      const hookInstance = typeof req.body?.hookInstance === 'string' ? req.body.hookInstance.slice(0, 128) : undefined;
      const iss = clientIss(res);
      const facts = { callId: randomUUID(), calledAt: new Date(), serviceId: id, body: req.body, ...(iss ? { clientIss: iss } : {}) };
      let audited = false;
      try {
        const { response, record } = await callService(service, req.body, callDeps);
        audited = true;
        // The cards' uuids must be on record before the EHR can send feedback on them; a call the audit
        // cannot record is not answered.
        const latencyMs = performance.now() - started;
        if (!(await auditor.write({ ...facts, status: 200, latencyMs, record, cards: response.cards }))) {
          throw problems.unavailable('The call could not be recorded in the audit trail; no cards were issued.');
        }
        for (const c of response.cards) ops.metrics.cards.inc({ service: id, rule: c.extension.crosstalk.ruleId, indicator: c.indicator });
        res.json(response);
        logger.info(
          {
            event: 'cds-call',
            serviceId: id,
            hookInstance,
            status: 200,
            ms: Math.round(performance.now() - started),
            gatherMs: Math.round(record.gatherMs),
            fhirMs: record.gathered.fhirMs !== undefined ? Math.round(record.gathered.fhirMs) : undefined,
            evaluateMs: Math.round(record.evaluateMs * 10) / 10,
            sources: record.gathered.sources,
            partial: record.gathered.partial.length ? record.gathered.partial : undefined,
            cards: response.cards.length,
            rules: Object.fromEntries(record.evaluation.outcomes.map((o) => [o.ruleId, o.status])),
          },
          'cds call',
        );
      } catch (e) {
        const status = e instanceof HttpProblem ? e.status : 500;
        if (!audited) await auditor.write({ ...facts, status, latencyMs: performance.now() - started });
        logger.warn({ event: 'cds-call', serviceId: id, hookInstance, status, ms: Math.round(performance.now() - started) }, 'cds call failed');
        throw e;
      }
    }),
  );
  cds.post('/:id/feedback', wrap(feedbackHandler({ services, ops, logger })));
  cds.all('/:id/feedback', (_req) => {
    throw problems.methodNotAllowed('Use POST to send feedback.');
  });
  cds.all('/', (_req) => {
    throw problems.methodNotAllowed('Use GET on /cds-services.');
  });
  cds.all('/:id', (_req) => {
    throw problems.methodNotAllowed('Use POST to call a CDS service.');
  });
  app.use('/cds-services', cds);

  app.use((req) => {
    throw problems.notFound(`Nothing at ${req.method} ${req.path.slice(0, 200)}.`);
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof HttpProblem) return sendProblem(res, err);
    const e = err as { type?: string; status?: number; name?: string; message?: string };
    if (e.type === 'entity.parse.failed') return sendProblem(res, problems.badRequest('The request body is not valid JSON.'));
    if (e.type === 'entity.too.large') return sendProblem(res, problems.tooLarge(`The request body exceeds ${config.bodyLimit}.`));
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendProblem(res, problems.badRequest('The request could not be read.'));
    }
    logger.error({ err: { name: e.name, message: e.message } }, 'unhandled error');
    sendProblem(res, problems.internal());
  });

  return app;
}
