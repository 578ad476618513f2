import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { problems } from '../cds/outcomes';
import type { CdsService } from '../cds/services';
import type { Store } from '../store/types';
import { bearerMatches } from './admin';
import type { Metrics } from './metrics';
import { sendProblem } from './problem-response';

/** What the service needs to be run: its store, its metrics, the audit key, the admin token, its drain state. */
export interface Operations {
  store: Store;
  metrics: Metrics;
  auditKey: Buffer;
  adminToken?: string;
  /** Set when shutdown begins: readiness fails, so a load balancer stops sending new calls. */
  draining: boolean;
}

const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * GET /metrics, Prometheus text format, for a caller with the metrics token when one is configured. Metrics say
 * how busy the service is, which rules fire and which EHR reads fail: not for whoever can reach the CDS port.
 */
export function metricsRouter(metrics: Metrics, token: string | undefined, logger: Logger): express.Router {
  const r = express.Router();
  r.get('/metrics', (req, res, next) => {
    if (token && !bearerMatches(req.headers.authorization, token)) {
      logger.warn({ event: 'metrics-auth-failed' }, 'metrics request without a valid token');
      res.setHeader('WWW-Authenticate', 'Bearer realm="crosstalk-metrics"');
      return sendProblem(res, problems.unauthorized('A metrics bearer token is required.'));
    }
    metrics.registry.metrics().then((text) => {
      res.type(metrics.registry.contentType).send(text);
    }, next);
  });
  return r;
}

/** The metrics listener's app (CROSSTALK_METRICS_PORT): /metrics and nothing else. */
export function metricsApp(metrics: Metrics, token: string | undefined, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    next();
  });
  app.use(metricsRouter(metrics, token, logger));
  app.use((req, res) => sendProblem(res, problems.notFound(`Nothing at ${req.method} ${req.path.slice(0, 200)}.`)));
  return app;
}

/**
 * GET /readyz: ready when configuration has loaded (the server listens only after it has), the store
 * answers, and shutdown has not begun.
 */
export function operationsRouter(ops: Operations, logger: Logger): express.Router {
  const r = express.Router();
  r.get('/readyz', (_req, res, next) => {
    if (ops.draining) return sendProblem(res, problems.unavailable('Shutting down.'));
    withTimeout(ops.store.ping(), READY_TIMEOUT_MS)
      .then(
        () => {
          res.json({ status: 'ready', store: ops.store.engine });
        },
        (e: Error) => {
          logger.warn(
            { event: 'readiness', store: ops.store.engine, err: { name: e.name, message: e.message } },
            'store unreachable: not ready',
          );
          sendProblem(res, problems.unavailable('The store is unreachable.'));
        },
      )
      .catch(next);
  });
  return r;
}

/** Times every request under /cds-services, labelled with endpoint, service (known ids only) and status. */
export function measureCds(metrics: Metrics, services: Map<string, CdsService>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const [id, sub, ...rest] = req.path.split('/').filter(Boolean);
    const endpoint =
      id === undefined
        ? 'discovery'
        : sub === undefined
          ? 'call'
          : sub === 'feedback' && !rest.length
            ? 'feedback'
            : 'other';
    const service = id === undefined ? '' : services.has(id) ? id : 'unknown';
    const observe = (status: string) =>
      metrics.httpDuration.observe({ endpoint, service, status }, Number(process.hrtime.bigint() - started) / 1e9);
    res.once('finish', () => observe(String(res.statusCode)));
    // 'close' without 'finish': the client went away before its answer. 499 is nginx's "client closed request".
    res.once('close', () => {
      if (!res.writableFinished) observe('499');
    });
    next();
  };
}
