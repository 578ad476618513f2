import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { loadServices } from '../cds/services';
import { createEmbeddedFhirServer } from '../demo/fhir-server';
import { demoTransaction } from '../demo/patients';
import { createApp } from './app';
import { type AppConfig, loadConfig } from './config';
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
  const embeddedFhir = config.embeddedFhir ? await createEmbeddedFhirServer() : undefined;
  if (embeddedFhir && config.demoSeed) await embeddedFhir.seed(demoTransaction(new Date()));

  const app = createApp({ config, knowledge, services, logger: log, ...(embeddedFhir ? { embeddedFhir } : {}) });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // With PORT=0 (tests) the port exists only now; a PUBLIC_BASE_URL left to its default follows it.
  if (!env.PUBLIC_BASE_URL) config.publicBaseUrl = `http://localhost:${port}`;
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
