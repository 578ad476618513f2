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
import { type AppConfig, loadConfig } from './config';
import { createLogger } from './logger';
import { Metrics } from './metrics';
import type { Operations } from './operations';
import type { PluginFactory, ServicePlugin } from './plugin';
import { type PurgeJob, startPurgeJob } from './retention';
import { JwtVerifier } from './security/jwt';
import { checkInlineKeys, loadTrustedClients } from './security/trusted-clients';
import { LiveKnowledge, loadSiteKnowledge } from './site-knowledge';

export interface Running {
  server: Server;
  config: AppConfig;
  logger: Logger;
  url: string;
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
  const app = createApp({
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
    store,
    metrics,
    purge,
    knowledge,
    reload: () => knowledge.reload(),
    close: () =>
      (closing ??= (async () => {
        ops.draining = true;
        await new Promise<void>((resolve) => {
          const drain = setInterval(() => server.closeIdleConnections(), DRAIN_POLL_MS);
          server.close(() => {
            clearInterval(drain);
            resolve();
          });
          server.closeIdleConnections();
        });
        await purge.stop();
        await store.close();
      })()),
  };
}
