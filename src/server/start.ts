import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { checkProfilesAgainstServices, loadEhrProfiles } from '../cds/ehr-profiles';
import { loadServices } from '../cds/services';
import { ConfigError } from '../config/knowledge-file';
import { describeStore, openStore } from '../store/open';
import { StoreReplayCache } from '../store/replay-cache';
import type { Store } from '../store/types';
import { createApp } from './app';
import { resolveAuditKey } from './audit';
import { InFlight } from './call-lifetime';
import { type AppConfig, loadConfig } from './config';
import { fingerprint, type KnowledgeWatch, watchKnowledgeFile } from './knowledge-watch';
import { createLogger } from './logger';
import { Metrics } from './metrics';
import { metricsApp, type Operations } from './operations';
import type { PluginFactory, ServicePlugin } from './plugin';
import { type PurgeJob, startPurgeJob } from './retention';
import { JwtVerifier } from './security/jwt';
import { checkInlineKeys, loadTrustedClients } from './security/trusted-clients';
import { LiveKnowledge, loadSiteKnowledge } from './site-knowledge';

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

function listenUrl(server: Server, host: string): string {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface Running {
  server: Server;
  config: AppConfig;
  logger: Logger;
  url: string;
  /** The metrics listener's base URL, when CROSSTALK_METRICS_PORT is set. */
  metricsUrl?: string;
  store: Store;
  metrics: Metrics;
  purge: PurgeJob;
  /** The knowledge calls run with now. */
  knowledge: LiveKnowledge;
  /** Re-reads the site knowledge file (SIGHUP); an invalid file keeps the running knowledge. True when applied. */
  reload(): boolean;
  /** Graceful stop: readiness fails, no new connections, calls in flight finish, then the store closes. */
  close(): Promise<void>;
}

// Keep-alive connections that finish their last response after close() began are closed this often.
const DRAIN_POLL_MS = 50;

/**
 * Loads and checks all configuration, then listens. Used by main.ts, the tests and the benchmark. `plugins` come
 * from an entry point that wants them (the demo's, src/demo/plugin.ts); production passes none.
 */
export async function start(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
  plugins: PluginFactory[] = [],
): Promise<Running> {
  const config = loadConfig(env);
  const log = logger ?? createLogger(config.logLevel);
  // Taken before the read, so an edit landing while the service starts is reloaded by the first poll.
  const siteFileSeen = config.siteKnowledgeFile ? fingerprint(config.siteKnowledgeFile) : undefined;
  const initialKnowledge = loadSiteKnowledge(config);
  const services = loadServices(undefined, undefined, initialKnowledge);
  const profiles = loadEhrProfiles();
  checkProfilesAgainstServices(profiles, services.values());
  // Trust is checked before anything is opened: a service that may not start touches no disk or database.
  let clients: ReturnType<typeof loadTrustedClients> | undefined;
  if (config.devMode) {
    log.warn(
      'DEVELOPMENT MODE: CDS calls are not authenticated and fhirServer may be http on this machine. Never run this in production.',
    );
  } else {
    if (!config.trustedClientsFile) {
      throw new ConfigError(
        'no trusted CDS clients: set CROSSTALK_TRUSTED_CLIENTS to a JSON file listing the EHRs allowed to call (docs/hospital-it/security.md), or CROSSTALK_DEV_MODE=true for a local demo',
      );
    }
    clients = loadTrustedClients(config.trustedClientsFile, {
      insecureJwksOrigins: config.jwt.insecureJwksOrigins,
      profiles: Object.keys(profiles.profiles),
    });
    await checkInlineKeys(clients, config.trustedClientsFile);
  }
  // The embedded FHIR server serves synthetic patients to anyone who asks, unauthenticated: never beside
  // authenticated CDS calls, where it could pass for the EHR's data.
  if (config.embeddedFhir && !config.devMode) {
    throw new ConfigError(
      'invalid configuration: CROSSTALK_EMBEDDED_FHIR=true serves unauthenticated demo data and needs CROSSTALK_DEV_MODE=true; switch it off in production',
    );
  }
  // The embedded FHIR server is the demo plugin's; the production entry point brings none, and says how to get it.
  const mounted = (await Promise.all(plugins.map((p) => p(config, log)))).filter((p): p is ServicePlugin => !!p);
  const embeddedFhir = mounted.some((p) => p.servesFhir);
  if (config.embeddedFhir && !embeddedFhir) {
    throw new ConfigError(
      'invalid configuration: CROSSTALK_EMBEDDED_FHIR=true is the demo profile: start with --demo (npm start does)',
    );
  }
  const auditKey = resolveAuditKey(config, log);
  const store = await openStore(config).catch((e: Error) => {
    throw new Error(`cannot open the store (${describeStore(config)}): ${e.message}`);
  });
  const metrics = new Metrics();
  // Announces the provisional threshold and every rule that is not active, at start and after each reload.
  const knowledge = new LiveKnowledge(initialKnowledge, config, log, metrics);
  const ops: Operations = {
    store,
    metrics,
    auditKey,
    draining: false,
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  };
  // The replay cache lives in the store, so replicas sharing one PostgreSQL database share it too.
  const verifier = clients ? new JwtVerifier(clients, config.jwt, new StoreReplayCache(store)) : undefined;
  if (clients)
    log.info(
      { issuers: clients.map((c) => c.iss), profiles: clients.map((c) => c.profile ?? 'generic') },
      'trusted CDS clients loaded',
    );

  let selfOrigins: string[] = [];
  const inFlight = new InFlight();
  const app = createApp({
    inFlight,
    config,
    knowledge,
    services,
    profiles,
    logger: log,
    ops,
    selfOrigins: () => selfOrigins,
    plugins: mounted,
    ...(verifier ? { verifier } : {}),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  }).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  const metricsPort = config.metrics.port;
  const metricsServer =
    metricsPort === undefined
      ? undefined
      : await new Promise<Server>((resolve, reject) => {
          const s = metricsApp(metrics, config.metrics.token, log).listen(metricsPort, config.metrics.host, () =>
            resolve(s),
          );
          s.once('error', reject);
        }).catch(async (e: unknown) => {
          await new Promise((r) => server.close(r));
          await store.close();
          throw e;
        });
  const metricsUrl = metricsServer ? listenUrl(metricsServer, config.metrics.host) : undefined;
  if (metricsUrl) log.info({ metricsUrl, token: !!config.metrics.token }, 'Prometheus metrics on their own listener');
  else if (!config.devMode) log.info('Prometheus metrics are not served: set CROSSTALK_METRICS_PORT to scrape them');
  if (metricsServer && !config.metrics.token && !isLoopback(config.metrics.host))
    log.warn(
      { host: config.metrics.host },
      'the metrics listener is reachable beyond this machine without a token: set CROSSTALK_METRICS_TOKEN or keep it behind a network policy',
    );
  // Each replica follows its own copy of the site file (a mounted ConfigMap changes under every pod, no restart).
  const watch: KnowledgeWatch | undefined =
    config.siteKnowledgeFile && config.siteKnowledgePollMs > 0
      ? watchKnowledgeFile(
          config.siteKnowledgeFile,
          config.siteKnowledgePollMs,
          () => {
            log.info({ event: 'knowledge-watch' }, 'the site knowledge file changed: reloading it');
            knowledge.reload();
          },
          siteFileSeen,
        )
      : undefined;
  const purge = startPurgeJob(
    store,
    { retentionDays: config.retentionDays, intervalMinutes: config.purgeIntervalMinutes },
    log,
    metrics,
  );
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // With PORT=0 (tests) the port exists only now; a PUBLIC_BASE_URL left to its default follows it.
  if (!env.PUBLIC_BASE_URL) config.publicBaseUrl = `http://localhost:${port}`;
  selfOrigins = [
    ...new Set([
      new URL(url).origin,
      `http://localhost:${port}`,
      `http://127.0.0.1:${port}`,
      new URL(config.publicBaseUrl).origin,
    ]),
  ];
  log.info(
    {
      url,
      publicBaseUrl: config.publicBaseUrl,
      embeddedFhir,
      plugins: mounted.map((p) => p.name),
      services: [...services.keys()],
      store: describeStore(config),
    },
    'crosstalk listening',
  );
  let closing: Promise<void> | undefined;
  return {
    server,
    config,
    logger: log,
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    store,
    metrics,
    purge,
    knowledge,
    reload: () => {
      // After a SIGHUP the content now running is seen: the next poll does not load it a second time.
      watch?.markSeen();
      return knowledge.reload();
    },
    close: () =>
      (closing ??= (async () => {
        ops.draining = true;
        watch?.stop();
        await new Promise<void>((resolve) => {
          const drain = setInterval(() => server.closeIdleConnections(), DRAIN_POLL_MS);
          server.close(() => {
            clearInterval(drain);
            resolve();
          });
          server.closeIdleConnections();
        });
        if (metricsServer) {
          metricsServer.closeAllConnections();
          await new Promise((r) => metricsServer.close(r));
        }

        // Calls the time budget answered are off the wire but still working towards their audit row: wait for them.
        await inFlight.settled();
        await purge.stop();
        await store.close();
      })()),
  };
}
