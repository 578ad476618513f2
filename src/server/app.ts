import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Knowledge } from '../clinical/knowledge';
import { type CallDeps, callService } from '../cds/call';
import { HttpProblem, problems } from '../cds/outcomes';
import type { CdsService } from '../cds/services';
import type { EmbeddedFhirServer } from '../demo/fhir-server';
import { mountDemo } from '../demo/routes';
import type { AppConfig } from './config';
import { APP_PATH, appLaunchUrl, launchConfig, smartAppRouter } from './smart-app';

export interface AppDeps {
  config: AppConfig;
  knowledge: Knowledge;
  services: Map<string, CdsService>;
  logger: Logger;
  embeddedFhir?: EmbeddedFhirServer;
  now?: () => Date;
}

function sendProblem(res: Response, p: HttpProblem): void {
  res.status(p.status).type('application/fhir+json').send(JSON.stringify(p.outcome));
}

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => Promise.resolve(h(req, res)).catch(next);

export function createApp(deps: AppDeps): express.Express {
  const { config, knowledge, services, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const callDeps: CallDeps = {
    knowledge,
    now: deps.now ?? (() => new Date()),
    gather: { timeoutMs: config.fhirTimeoutMs, maxPages: config.fhirMaxPages },
    ...(config.smart.enabled ? { appLaunchUrl: () => appLaunchUrl(config) } : {}),
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  if (deps.embeddedFhir) {
    const client = () => {
      const { clientId, redirectUri } = launchConfig(config, true);
      return { clientId, redirectUri };
    };
    mountDemo(app, { embeddedFhir: deps.embeddedFhir, publicBaseUrl: () => config.publicBaseUrl, client });
    app.use('/fhir', deps.embeddedFhir.router);
  }
  if (config.smart.enabled) app.use(APP_PATH, smartAppRouter({ config, knowledge, services, embeddedFhir: !!deps.embeddedFhir }));

  const cds = express.Router();
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
      try {
        const { response, record } = await callService(service, req.body, callDeps);
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
        logger.warn({ event: 'cds-call', serviceId: id, hookInstance, status, ms: Math.round(performance.now() - started) }, 'cds call failed');
        throw e;
      }
    }),
  );
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
