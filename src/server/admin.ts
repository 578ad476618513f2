import { createHash, timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { Logger } from 'pino';
import { problems } from '../cds/outcomes';
import { DAY_MS } from '../clinical';
import { compileSchema, formatErrors } from '../config/schemas';
import type { ReportInterval, ReportQuery, Store } from '../store/types';
import { sendProblem } from './problem-response';

const validateQuery = compileSchema<{ from?: string; to?: string; interval?: ReportInterval; top?: string }>(
  'report-query.schema.json',
);

/** Reads a report query (HTTP query string or CLI options); an invalid one is a 400 naming the field. */
export function parseReportQuery(q: unknown, now: Date = new Date()): ReportQuery {
  if (!validateQuery(q))
    throw problems.badRequest('The report query is not valid.', formatErrors(validateQuery.errors));
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * DAY_MS);
  if (!(to.getTime() > from.getTime()))
    throw problems.badRequest('The report period must end (to) after it starts (from).');
  return { from, to, interval: q.interval ?? 'all', ...(q.top ? { topReasons: Number(q.top) } : {}) };
}

// Hashing both sides first gives equal-length buffers, so the comparison takes the same time whatever was sent.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && !!m;
}

/** /admin/*: governance reports as JSON, for a caller holding the admin token. Mounted only when a token is configured. */
export function adminRouter(store: Store, token: string, logger: Logger): express.Router {
  const r = express.Router();
  r.use((req, res, next) => {
    if (bearerMatches(req.headers.authorization, token)) return next();
    logger.warn({ event: 'admin-auth-failed', path: req.path.slice(0, 100) }, 'admin request without a valid token');
    res.setHeader('WWW-Authenticate', 'Bearer realm="crosstalk-admin"');
    sendProblem(res, problems.unauthorized('An admin bearer token is required.'));
  });
  r.get('/reports', (req, res, next) => {
    let q: ReportQuery;
    try {
      q = parseReportQuery({ ...req.query });
    } catch (e) {
      return next(e);
    }
    store.report(q).then(
      (report) => res.json(report),
      (e: Error) => {
        logger.error({ event: 'report-failed', err: { name: e.name } }, 'report query failed');
        next(problems.unavailable('The store could not produce the report.'));
      },
    );
  });
  r.all('/reports', () => {
    throw problems.methodNotAllowed('Use GET on /admin/reports.');
  });
  return r;
}
