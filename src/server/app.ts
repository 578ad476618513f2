import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { type CallDeps, callService } from '../cds/call';
import { discoveryFor, type EhrProfiles, loadEhrProfiles, profileNamed } from '../cds/ehr-profiles';
import { HttpProblem, operationOutcome, problems } from '../cds/outcomes';
import type { CdsService } from '../cds/services';
import { serviceSourceAttributes, sourceAttributesExtension } from '../cds/source-attributes';
import { MAX_JSON_DEPTH, withinDepth } from '../fhir/json-depth';
import { adminRouter } from './admin';
import { Auditor, type CallFacts, clientIss } from './audit';
import { callLifetime, END_STATUS, InFlight, lifetimeOf } from './call-lifetime';
import type { AppConfig } from './config';
import { corsFor } from './cors';
import { feedbackHandler } from './feedback-route';
import { measureCds, metricsRouter, type Operations, operationsRouter } from './operations';
import type { PluginHost, ServicePlugin } from './plugin';
import { sendProblem } from './problem-response';
import { authenticate, callerOf } from './security/authenticate';
import type { JwtVerifier } from './security/jwt';
import { RateLimits } from './security/rate-limits';
import type { LiveKnowledge } from './site-knowledge';
import { APP_PATH, appLaunchUrl, appReads, appRedirectUri, smartAppRouter } from './smart-app';
import { contentSecurityPolicy, staticBundle } from './web';

export interface AppDeps {
  config: AppConfig;
  /** Read once per call: a reload between calls changes the next call, never one in flight. */
  knowledge: LiveKnowledge;
  services: Map<string, CdsService>;
  /** cds-hooks/ehr-profiles.json, checked at start-up; read from the file when not given. */
  profiles?: EhrProfiles;
  logger: Logger;
  /** Mounted after the CDS, operations and admin routes: the demo, in the demo profile; none in production. */
  plugins?: ServicePlugin[];
  /** Absent only in development mode. */
  verifier?: JwtVerifier;
  /** This service's own origins once it listens: the default development fhirServer. */
  selfOrigins?: () => string[];
  now?: () => Date;
  /** Store, metrics, audit key, admin token: feedback, audit, readiness, metrics and reports. */
  ops: Operations;
  /** CDS calls whose handlers still run: shutdown waits for them before it closes the store. */
  inFlight?: InFlight;
}

const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) =>
  Promise.resolve(h(req, res)).catch(next);

export function createApp(deps: AppDeps): express.Express {
  const { config, knowledge, services, logger, ops } = deps;
  const auditor = new Auditor(ops, logger);
  const inFlight = deps.inFlight ?? new InFlight();
  const profiles = deps.profiles ?? loadEhrProfiles();
  /** The caller's EHR profile: its trusted client's, or generic (development mode). */
  const profileOf = (res: Response) => profileNamed(profiles, callerOf(res).client?.client.profile);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Every answer is computed per POST and never revalidated: an ETag would be a hash per call for nothing.
  app.set('etag', false);
  // Answers carry patient findings, tokens or audit facts: no cache (browser, proxy, EHR) may keep one, and no
  // browser may sniff a JSON answer into something it runs. Routes that serve public static bundles relax the cache.
  app.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    next();
  });

  const pilotKey = config.pilotKey ? Buffer.from(config.pilotKey, 'utf8') : undefined;
  const callDeps: Omit<CallDeps, 'knowledge'> = {
    ...(pilotKey ? { pilotKey } : {}),
    now: deps.now ?? (() => new Date()),
    gather: {
      timeoutMs: config.fhirTimeoutMs,
      maxPages: config.fhirMaxPages,
      maxResponseBytes: config.fhirMaxResponseBytes,
      maxCallBytes: config.fhirMaxCallBytes,
      maxJsonDepth: MAX_JSON_DEPTH,
      observe: ops.metrics.observeFhirFetch,
      onFallback: ops.metrics.countFhirFallback,
    },
  };
  /**
   * The public base URL for a request. PUBLIC_BASE_URL when set; otherwise the origin the browser used, when it
   * is one of this service's own (http://localhost:PORT and http://127.0.0.1:PORT are the same service), so a
   * page, its card links and its sign-in stay on one origin and keep their state.
   */
  const baseFor = (req: Request): string => {
    if (config.publicBaseUrlSet) return config.publicBaseUrl;
    const origin = `${req.protocol}://${req.get('host') ?? ''}`;
    return (deps.selfOrigins?.() ?? []).includes(origin) ? origin : config.publicBaseUrl;
  };
  const devFhirOrigins = () => (config.devFhirOrigins.length ? config.devFhirOrigins : (deps.selfOrigins?.() ?? []));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // CDS Hooks first: the calls EHRs wait on should not walk past the demo, app and operations routes.
  const cds = express.Router();
  // Metrics see every answer, 401s included.
  cds.use(measureCds(ops.metrics, services));
  // CORS first, so preflights need no token and every answer, errors included, carries the headers.
  cds.use(corsFor({ origins: config.corsOrigins, methods: ['GET', 'POST'] }));
  // The budget covers everything after CORS, key fetching included.
  cds.use(
    callLifetime(config.requestBudgetMs, sendProblem, (req, res, startedMs) => {
      // A call to a service (POST /cds-services/{id}) the budget answered: its row says 503 and carries no cards,
      // written now, whether or not its handler ever runs; tracked so shutdown waits for it.
      const id = /^\/([^/]+)$/.exec(req.path)?.[1];
      const serviceId = id ? safeDecode(id) : undefined;
      // Only an authenticated caller's: a stranger held up in authentication gets the 503 but writes no audit row.
      const caller = res.locals.caller as ReturnType<typeof callerOf> | undefined;
      if (req.method !== 'POST' || !serviceId || !services.has(serviceId) || !caller) return;
      ops.metrics.cdsCallsAborted.inc({ service: serviceId, reason: 'time-budget' });
      const iss = clientIss(res);
      const tenant = caller.client?.tenant;
      void inFlight.track(
        auditor.write({
          callId: randomUUID(),
          calledAt: new Date(Date.now() - (performance.now() - startedMs)),
          serviceId,
          body: req.body,
          ...(iss ? { clientIss: iss } : {}),
          ...(tenant ? { clientTenant: tenant } : {}),
          status: END_STATUS['time-budget'],
          latencyMs: performance.now() - startedMs,
        }),
      );
    }),
  );
  // Authenticate before reading the body: strangers do not get us to parse megabytes.
  cds.use(
    authenticate({
      devMode: config.devMode,
      ...(deps.verifier ? { verifier: deps.verifier } : {}),
      publicBaseUrl: config.publicBaseUrl,
      insecureFhirOrigins: config.insecureFhirOrigins,
      devFhirOrigins,
      logger,
      ...(config.devMode ? {} : { rateLimits: new RateLimits(config.rateLimits) }),
    }),
  );
  cds.use(
    express.json({
      limit: config.bodyLimit,
      type: ['application/json', 'application/*+json'],
      // Depth is counted on the raw bytes before JSON.parse sees them: a body of `[[[[…` is refused in one pass.
      verify: (_req, _res, buf) => {
        if (!withinDepth(buf, MAX_JSON_DEPTH))
          throw Object.assign(new Error('request body nested too deep'), { status: 400, type: 'entity.too.deep' });
      },
    }),
  );

  // Each EHR sees the prefetch its profile says it fills: Oracle Health, which fills none on patient-view, sees none.
  cds.get('/', (_req, res) => {
    const profile = profileOf(res);
    res.json({
      services: [...services.values()].map((s) => ({
        ...discoveryFor(profile, s.definition.discovery),
        extension: sourceAttributesExtension(s, knowledge.current),
      })),
    });
  });
  // ONC HTI-1 source attributes of the service's rules, in full (the discovery extension carries the brief form).
  cds.get('/:id/source-attributes', (req, res) => {
    const id = String(req.params.id);
    const service = services.get(id);
    if (!service) throw problems.notFound(`No CDS service "${id}" here; GET /cds-services lists them.`);
    res.json(serviceSourceAttributes(service, knowledge.current));
  });
  cds.all('/:id/source-attributes', (_req) => {
    throw problems.methodNotAllowed('Use GET for source attributes.');
  });

  cds.post(
    '/:id',
    // Tracked until its audit row is written, so shutdown waits for it even when the budget answered long ago.
    wrap((req, res) => inFlight.track(cdsCall(req, res))),
  );
  async function cdsCall(req: Request, res: Response): Promise<void> {
    const id = String(req.params.id);
    const service = services.get(id);
    if (!service) throw problems.notFound(`No CDS service "${id}" here; GET /cds-services lists them.`);
    const started = performance.now();
    const hookInstance = typeof req.body?.hookInstance === 'string' ? req.body.hookInstance.slice(0, 128) : undefined;
    const caller = callerOf(res);
    const lifetime = lifetimeOf(res);
    const who = { iss: caller.client?.iss, jti: caller.client?.jti, tenant: caller.client?.tenant };
    const iss = clientIss(res);
    const tenant = caller.client?.tenant;
    const facts = {
      callId: randomUUID(),
      calledAt: new Date(),
      serviceId: id,
      body: req.body,
      ...(iss ? { clientIss: iss } : {}),
      ...(tenant ? { clientTenant: tenant } : {}),
    };
    let audited = false;
    /** This handler's claim on the answer won: what it sends is its own. */
    let claimed = false;
    /** Records the call once, whatever its end: the audit row and the metrics carry the same status. */
    const record = (status: number, extra: Pick<CallFacts, 'record' | 'cards'> = {}) => {
      audited = true;
      return auditor.write({ ...facts, status, latencyMs: performance.now() - started, ...extra });
    };
    try {
      if (!req.is(['application/json', 'application/*+json']))
        throw problems.unsupportedMediaType('Send the request as application/json.');
      const launchUrl = config.smart.enabled ? appLaunchUrl(baseFor(req)) : undefined;
      const { response, record: call } = await callService(service, req.body, {
        ...callDeps,
        knowledge: knowledge.current,
        profile: profileOf(res),
        ...(launchUrl ? { appLaunchUrl: () => launchUrl } : {}),
        gather: { ...callDeps.gather, egress: caller.egress, signal: lifetime.signal },
      });
      // The budget or the EHR's hang-up may have decided the answer while the call worked: then that is the answer.
      if (!lifetime.claim(200))
        throw new HttpProblem(
          lifetime.answered() ?? END_STATUS['time-budget'],
          operationOutcome('timeout', 'The call ended before its answer was ready.'),
        );
      claimed = true;
      // The cards' uuids must be on record before the EHR can send feedback on them; a call the audit
      // cannot record is not answered.
      if (!(await record(200, { record: call, cards: response.cards }))) {
        throw problems.unavailable('The call could not be recorded in the audit trail; no cards were issued.');
      }
      for (const c of response.cards)
        ops.metrics.cards.inc({ service: id, rule: c.extension.crosstalk.ruleId, indicator: c.indicator });
      for (const r of call.rules)
        if (r.status === 'fired') ops.metrics.ruleFired.inc({ service: id, rule: r.ruleId, mode: r.delivery });
      res.json(response);
      logger.info(
        {
          event: 'cds-call',
          serviceId: id,
          hookInstance,
          ...who,
          status: 200,
          ms: Math.round(performance.now() - started),
          gatherMs: Math.round(call.gatherMs),
          fhirMs: call.gathered.fhirMs !== undefined ? Math.round(call.gathered.fhirMs) : undefined,
          fhirBytes: call.gathered.fhirBytes,
          evaluateMs: Math.round(call.evaluateMs * 10) / 10,
          sources: call.gathered.sources,
          // Why a key read from fhirServer could not be had (timeout, too-large, http_503…): the reason beside "unavailable".
          failures: Object.keys(call.gathered.failures).length ? call.gathered.failures : undefined,
          partial: call.gathered.partial.length ? call.gathered.partial : undefined,
          // Keys read in a simpler form than their template because the FHIR server rejected it (the ladder's steps).
          fallbacks: call.gathered.fallbacks,
          malformed: call.gathered.malformed || undefined,
          // The domains those resources would have fed (never their references: they carry order and resource ids).
          unreadable: call.unreadable.length ? [...new Set(call.unreadable.map((u) => u.domain))] : undefined,
          cards: response.cards.length,
          rules: Object.fromEntries(call.rules.map((o) => [o.ruleId, o.status])),
          // Why each rule stayed quiet, as reason codes only (no patient data): the audit trail of suppressions.
          why: Object.fromEntries(
            call.rules.filter((o) => o.status !== 'fired').map((o) => [o.ruleId, o.reasons.map((r) => r.code)]),
          ),
          // Rules evaluated but withheld from this call (silent, or outside a pilot), with their mode.
          withheld: (() => {
            const w = call.rules.filter((o) => o.delivery === 'silent' || o.delivery === 'pilot-out');
            return w.length ? Object.fromEntries(w.map((o) => [o.ruleId, o.delivery])) : undefined;
          })(),
          unavailable: call.unavailable.length ? call.unavailable : undefined,
        },
        'cds call',
      );
    } catch (e) {
      // One decision: the first claim on the answer wins, and the audit records exactly that status. A call the
      // budget or the EHR's hang-up ended first is recorded as it ended (503 or 499), whatever its work threw;
      // a call that had claimed 200 and could not record it answers what it throws.
      const end = lifetime.ended();
      const proposed = e instanceof HttpProblem ? e.status : 500;
      const answers = claimed || lifetime.claim(proposed);
      const status = answers ? proposed : (lifetime.answered() ?? proposed);
      // The budget's 503 was recorded when it was sent (callLifetime's onBudgetAnswer); every other end is recorded here.
      const byBudget = !answers && end === 'time-budget';
      if (end === 'client-gone') ops.metrics.cdsCallsAborted.inc({ service: id, reason: end });
      if (!audited && !byBudget) await record(status);
      logger.warn(
        {
          event: 'cds-call',
          serviceId: id,
          hookInstance,
          ...who,
          status,
          ended: end,
          ms: Math.round(performance.now() - started),
        },
        'cds call failed',
      );
      if (!answers) return; // answered already (503), or nobody is left to answer (499)
      throw e;
    }
  }
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

  app.use(operationsRouter(ops, logger));
  // Development and the demo keep metrics on the one port; production serves them only on the metrics listener
  // (start.ts), so the CDS port, open to the EHR's network, answers 404.
  if (config.devMode) app.use(metricsRouter(ops.metrics, config.metrics.token, logger));
  if (ops.adminToken) app.use('/admin', adminRouter(ops.store, ops.adminToken, logger));

  const plugins = deps.plugins ?? [];
  // The SMART app's queries and scopes, worked out once for the app and for a plugin's sign-in.
  const reads = plugins.length || config.smart.enabled ? appReads(services) : undefined;
  const host: PluginHost = {
    config,
    logger,
    baseFor,
    // The app may be served on any of the service's own origins; the registration lists each.
    smartClient: () => {
      const bases = config.publicBaseUrlSet
        ? [config.publicBaseUrl]
        : [config.publicBaseUrl, ...(deps.selfOrigins?.() ?? [])];
      return {
        clientId: config.smart.clientId,
        redirectUris: [...new Set(bases.map((b) => appRedirectUri(config, b)))],
      };
    },
    cors: (methods, exposedHeaders) =>
      corsFor({ origins: config.corsOrigins, methods, ...(exposedHeaders ? { exposedHeaders } : {}) }),
    staticBundle: (folder, frameAncestors) => staticBundle(folder, () => contentSecurityPolicy([], frameAncestors)),
  };
  for (const p of plugins) p.mount(app, host);
  const servesFhir = plugins.some((p) => p.servesFhir);
  if (config.smart.enabled && reads)
    app.use(
      APP_PATH,
      smartAppRouter({
        config,
        knowledge: () => knowledge.current,
        services,
        reads,
        embeddedFhir: servesFhir,
        baseFor,
      }),
    );

  app.use((req) => {
    throw problems.notFound(`Nothing at ${req.method} ${req.path.slice(0, 200)}.`);
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (err instanceof HttpProblem) return sendProblem(res, err);
    const e = err as { type?: string; status?: number; name?: string; message?: string };
    if (e.type === 'entity.parse.failed')
      return sendProblem(res, problems.badRequest('The request body is not valid JSON.'));
    if (e.type === 'entity.too.deep')
      return sendProblem(res, problems.badRequest(`The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`));
    if (e.type === 'entity.too.large')
      return sendProblem(res, problems.tooLarge(`The request body exceeds ${config.bodyLimit}.`));
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendProblem(res, problems.badRequest('The request could not be read.'));
    }
    logger.error({ err: { name: e.name, message: e.message } }, 'unhandled error');
    sendProblem(res, problems.internal());
  });

  return app;
}
