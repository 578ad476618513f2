import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { loadServices } from '../cds/services';
import { createEmbeddedFhirServer } from '../demo/fhir-server';
import { demoTransaction } from '../demo/patients';
import { createApp } from './app';
import { type AppConfig, loadConfig } from './config';
import { ConfigError } from '../config/knowledge-file';
import { JwtVerifier } from './security/jwt';
import { MemoryReplayCache } from './security/replay';
import { loadTrustedClients } from './security/trusted-clients';
import { createLogger } from './logger';

export interface Running {
  server: Server;
  config: AppConfig;
  logger: Logger;
  url: string;
  close(): Promise<void>;
}

/** Loads and checks all configuration, then listens. Used by main.ts, the tests and the benchmark. */
export async function start(env: NodeJS.ProcessEnv = process.env, logger?: Logger): Promise<Running> {
  const config = loadConfig(env);
  const log = logger ?? createLogger(config.logLevel);
  const knowledge = loadKnowledgeSync(config.siteKnowledgeFile);
  const services = loadServices();
  const ccr = knowledge.rules['low-ccr'];
  if (ccr.enabled && ccr.threshold.provisional) {
    log.warn({ threshold: ccr.threshold.below }, 'low-CCR threshold is PROVISIONAL (not validated): set a site threshold, see README "Clinical configuration"');
  }
  let verifier: JwtVerifier | undefined;
  if (config.devMode) {
    log.warn('DEVELOPMENT MODE: CDS calls are not authenticated and fhirServer may be http on this machine. Never run this in production.');
  } else {
    if (!config.trustedClientsFile) {
      throw new ConfigError(
        'no trusted CDS clients: set CROSSTALK_TRUSTED_CLIENTS to a JSON file listing the EHRs allowed to call (README "Security"), or CROSSTALK_DEV_MODE=true for a local demo',
      );
    }
    const clients = loadTrustedClients(config.trustedClientsFile);
    verifier = new JwtVerifier(clients, config.jwt, new MemoryReplayCache());
    log.info({ issuers: clients.map((c) => c.iss) }, 'trusted CDS clients loaded');
  }
  const embeddedFhir = config.embeddedFhir ? await createEmbeddedFhirServer() : undefined;
  if (embeddedFhir && config.demoSeed) await embeddedFhir.seed(demoTransaction(new Date()));

  let selfOrigins: string[] = [];
  const app = createApp({
    config,
    knowledge,
    services,
    logger: log,
    selfOrigins: () => selfOrigins,
    ...(embeddedFhir ? { embeddedFhir } : {}),
    ...(verifier ? { verifier } : {}),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  selfOrigins = [...new Set([new URL(url).origin, `http://localhost:${port}`, `http://127.0.0.1:${port}`, new URL(config.publicBaseUrl).origin])];
  log.info({ url, publicBaseUrl: config.publicBaseUrl, embeddedFhir: !!embeddedFhir, services: [...services.keys()] }, 'crosstalk listening');
  return {
    server,
    config,
    logger: log,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
