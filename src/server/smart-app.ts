import express, { type Request, type Router } from 'express';
import type { KnowledgeBundle, LaunchConfig } from '../app/contract';
import { modeOf } from '../cds/modes';
import { resourceTypesRead, type ServiceReads } from '../cds/reads';
import type { CdsService } from '../cds/services';
import type { Knowledge } from '../clinical';
import type { AppConfig } from './config';
import { contentSecurityPolicy, staticBundle } from './web';

export const APP_PATH = '/app';

/**
 * Read access to exactly the resource types the app reads (those of the patient-view prefetch templates),
 * nothing else; v1 and v2 differ only in syntax (SMART App Launch 2.x, section 3).
 */
export function smartScopes(version: 'v1' | 'v2', resourceTypes: readonly string[]): LaunchConfig['scope'] {
  const read = version === 'v1' ? 'read' : 'rs';
  const data = resourceTypes.map((t) => `patient/${t}.${read}`).join(' ');
  return { ehr: `launch ${data}`, standalone: `launch/patient ${data}` };
}

/** `base`: the public base URL the caller used (see `baseFor` in app.ts), PUBLIC_BASE_URL when it is set. */
export function appLaunchUrl(base: string): string {
  return `${base}${APP_PATH}/launch.html`;
}

/** Where the sign-in returns: the configured redirect URI, else index.html beside launch.html on `base`. */
export function appRedirectUri(config: AppConfig, base: string): string {
  return config.smart.redirectUri ?? `${base}${APP_PATH}/index.html`;
}

/**
 * Read per request, on the base URL the browser used: without PUBLIC_BASE_URL the service answers on
 * http://localhost:PORT and http://127.0.0.1:PORT alike, and a sign-in that returned to the other origin
 * would find none of the launch's state there.
 */
export function launchConfig(
  config: AppConfig,
  embeddedFhir: boolean,
  reads: ServiceReads,
  base: string = config.publicBaseUrl,
): LaunchConfig {
  const s = config.smart;
  const standaloneIss = s.standaloneIss ?? (embeddedFhir ? `${base}/fhir` : undefined);
  return {
    clientId: s.clientId,
    scope: smartScopes(s.scopeVersion, resourceTypesRead(reads.templates)),
    redirectUri: appRedirectUri(config, base),
    ...(s.redirectUri
      ? { redirectUriSetting: 'CROSSTALK_SMART_REDIRECT_URI' }
      : config.publicBaseUrlSet
        ? { redirectUriSetting: 'PUBLIC_BASE_URL' }
        : {}),
    ...(standaloneIss ? { standaloneIss } : {}),
  };
}

/**
 * What the app reads: the patient-view services' own prefetch templates, required keys and context domains,
 * so the app sees the same record the cards were computed from and says the same about what it could not read.
 */
export function appReads(services: Map<string, CdsService>): ServiceReads {
  const reads: ServiceReads = { patientKey: '', required: [], templates: {}, contextDomains: {} };
  for (const s of services.values()) {
    const def = s.definition;
    if (def.discovery.hook !== 'patient-view') continue;
    reads.patientKey ||= def.patientKey;
    for (const [key, t] of Object.entries(def.discovery.prefetch ?? {})) reads.templates[key] ??= t;
    for (const key of def.required) if (!reads.required.includes(key)) reads.required.push(key);
    for (const [key, d] of Object.entries(def.contextDomains ?? {})) reads.contextDomains[key] ??= d;
  }
  if (!reads.patientKey)
    throw new Error('the SMART app needs a patient-view service to mirror, and none is configured');
  return reads;
}

/** The rules the app evaluates: those of the patient-view services, in their card order, so app and cards agree. */
export function appRules(services: Map<string, CdsService>): string[] {
  const ids = [...services.values()]
    .filter((s) => s.definition.discovery.hook === 'patient-view')
    .flatMap((s) => s.definition.rules);
  return [...new Set(ids)];
}

export interface SmartAppDeps {
  config: AppConfig;
  /** The knowledge running now (it follows a reload). */
  knowledge: () => Knowledge;
  services: Map<string, CdsService>;
  reads: ServiceReads;
  embeddedFhir: boolean;
  /** The public base URL for this request (app.ts `baseFor`). */
  baseFor: (req: Request) => string;
}

/**
 * /app: the SMART app's pages and bundle, its launch configuration, and the knowledge it computes with.
 * The knowledge is the server's own merged and validated copy, site overrides included, so the app and the
 * cards use one set of thresholds and codes.
 */
export function smartAppRouter(deps: SmartAppDeps): Router {
  const router = express.Router();
  const { reads } = deps;
  const rules = appRules(deps.services);
  // The app shows a clinician every finding it computes, so it runs only the rules that are active for everyone:
  // a silent or pilot rule's finding reaches clinicians only as a card, and only where its mode shows it.
  const bundle = (): KnowledgeBundle => {
    const knowledge = deps.knowledge();
    return { knowledge, rules: rules.filter((id) => modeOf(knowledge, id) === 'active'), reads };
  };
  router.get('/config.json', (req, res) => {
    res.set('Cache-Control', 'no-store').json(launchConfig(deps.config, deps.embeddedFhir, reads, deps.baseFor(req)));
  });
  router.get('/knowledge.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(bundle());
  });
  // The EHR's FHIR server is another origin in production: any https origin, and loopback for local sandboxes.
  const connect = () => {
    const iss = launchConfig(deps.config, deps.embeddedFhir, reads).standaloneIss;
    return ['https:', 'http://localhost:*', 'http://127.0.0.1:*', ...(iss ? [new URL(iss).origin] : [])];
  };
  router.use(staticBundle('app', () => contentSecurityPolicy(connect())));
  return router;
}
