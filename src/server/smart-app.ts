import express, { type Router } from 'express';
import type { Knowledge } from '../clinical/knowledge';
import type { CdsService } from '../cds/services';
import type { KnowledgeBundle, LaunchConfig } from '../app/contract';
import type { AppConfig } from './config';
import { contentSecurityPolicy, staticBundle } from './web';

export const APP_PATH = '/app';

/** The app reads the patient and their labs, nothing else; v1 and v2 differ only in syntax (SMART App Launch 2.x §3). */
export function smartScopes(version: 'v1' | 'v2'): LaunchConfig['scope'] {
  const read = version === 'v1' ? 'read' : 'rs';
  const data = `patient/Patient.${read} patient/Observation.${read}`;
  return { ehr: `launch ${data}`, standalone: `launch/patient ${data}` };
}

export function appLaunchUrl(config: AppConfig): string {
  return `${config.publicBaseUrl}${APP_PATH}/launch.html`;
}

/** Read per request: without PUBLIC_BASE_URL the base URL is only known once the server listens. */
export function launchConfig(config: AppConfig, embeddedFhir: boolean): LaunchConfig {
  const s = config.smart;
  const standaloneIss = s.standaloneIss ?? (embeddedFhir ? `${config.publicBaseUrl}/fhir` : undefined);
  return {
    clientId: s.clientId,
    scope: smartScopes(s.scopeVersion),
    redirectUri: s.redirectUri ?? `${config.publicBaseUrl}${APP_PATH}/index.html`,
    ...(standaloneIss ? { standaloneIss } : {}),
  };
}

/** The rules the app evaluates: those of the patient-view services, in their card order, so app and cards agree. */
export function appRules(services: Map<string, CdsService>): string[] {
  const ids = [...services.values()].filter((s) => s.definition.discovery.hook === 'patient-view').flatMap((s) => s.definition.rules);
  return [...new Set(ids)];
}

export interface SmartAppDeps {
  config: AppConfig;
  knowledge: Knowledge;
  services: Map<string, CdsService>;
  embeddedFhir: boolean;
}

/**
 * /app: the SMART app's pages and bundle, its launch configuration, and the knowledge it computes with.
 * The knowledge is the server's own merged and validated copy, site overrides included, so the app and the
 * cards use one set of thresholds and codes.
 */
export function smartAppRouter(deps: SmartAppDeps): Router {
  const router = express.Router();
  const bundle: KnowledgeBundle = { knowledge: deps.knowledge, rules: appRules(deps.services) };
  router.get('/config.json', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(launchConfig(deps.config, deps.embeddedFhir));
  });
  router.get('/knowledge.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(bundle);
  });
  // The EHR's FHIR server is another origin in production: any https origin, and loopback for local sandboxes.
  const connect = () => {
    const iss = launchConfig(deps.config, deps.embeddedFhir).standaloneIss;
    return ['https:', 'http://localhost:*', 'http://127.0.0.1:*', ...(iss ? [new URL(iss).origin] : [])];
  };
  router.use(staticBundle('app', () => contentSecurityPolicy(connect())));
  return router;
}
