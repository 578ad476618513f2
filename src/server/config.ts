import { ConfigError } from '../config/knowledge-file';
import { SCHEMA_DIR, compileSchema, formatErrors } from '../config/schemas';
import fs from 'node:fs';
import { parseOrigins } from '../fhir/egress';
import { ANY_ORIGIN } from './cors';
import path from 'node:path';

export interface AppConfig {
  port: number;
  host: string;
  publicBaseUrl: string;
  /** PUBLIC_BASE_URL was set: links and redirects use it whatever origin a request came in on. */
  publicBaseUrlSet: boolean;
  devMode: boolean;
  trustedClientsFile?: string;
  jwt: { clockSkewS: number; maxLifetimeS: number; jwksTimeoutMs: number; jwksCooldownS: number };
  insecureFhirOrigins: string[];
  devFhirOrigins: string[];
  corsOrigins: string[];
  requestBudgetMs: number;
  embeddedFhir: boolean;
  demoSeed: boolean;
  siteKnowledgeFile?: string;
  fhirTimeoutMs: number;
  fhirMaxPages: number;
  /** Byte caps on FHIR answers: each one, and all of one call's together. */
  fhirMaxResponseBytes: number;
  fhirMaxCallBytes: number;
  bodyLimit: string;
  logLevel: string;
  /** The store: SQLite under dataDir unless databaseUrl names PostgreSQL. */
  dataDir: string;
  databaseUrl?: string;
  auditHmacKey?: string;
  /** Keys the hash that picks a pilot's share of patients (README: Silent mode and pilot cohorts). */
  pilotKey?: string;
  retentionDays: number;
  purgeIntervalMinutes: number;
  adminToken?: string;
  smart: SmartAppConfig;
}

/** How the SMART app presents itself to an EHR's authorization server (README: Registering with an EHR). */
export interface SmartAppConfig {
  enabled: boolean;
  clientId: string;
  scopeVersion: 'v1' | 'v2';
  /** Only when configured; otherwise PUBLIC_BASE_URL/app/index.html, resolved when asked. */
  redirectUri?: string;
  standaloneIss?: string;
}

interface ConfigSchema {
  properties: Record<string, { default?: string }>;
}

/** The environment variables Crosstalk reads: exactly the keys of cds-hooks/schemas/config.schema.json. */
export const CONFIG_KEYS: string[] = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, 'config.schema.json'), 'utf8')) as ConfigSchema).properties,
);

const UNIT = { b: 1, kb: 1024, mb: 1024 * 1024 } as const;

/** `512kb`, `5mb`: sizes as the schema allows them (the same units as CROSSTALK_BODY_LIMIT). */
export function parseSize(v: string): number {
  const m = /^([0-9]+)(b|kb|mb)$/.exec(v);
  if (!m) throw new ConfigError(`invalid configuration: ${v} is not a size like 512kb or 5mb`);
  return Number(m[1]) * UNIT[m[2] as keyof typeof UNIT];
}

/** Reads and validates configuration; an invalid value stops start-up with a message naming the key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw: Record<string, string> = {};
  for (const k of CONFIG_KEYS) {
    const v = env[k];
    if (v !== undefined && v !== '') raw[k] = v;
  }
  const validate = compileSchema<Record<string, string>>('config.schema.json');
  if (!validate(raw)) throw new ConfigError(`invalid configuration: ${formatErrors(validate.errors)}`);
  const schema = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, 'config.schema.json'), 'utf8')) as ConfigSchema;
  const get = (k: string): string | undefined => raw[k] ?? schema.properties[k]?.default;
  const port = Number(get('PORT'));
  if (port < 0 || port > 65535) throw new ConfigError('invalid configuration: PORT must be 0–65535');
  const corsOrigins = parseOrigins(raw.CROSSTALK_CORS_ORIGINS);
  if (corsOrigins.includes(ANY_ORIGIN) && get('CROSSTALK_DEV_MODE') !== 'true') {
    throw new ConfigError('invalid configuration: CROSSTALK_CORS_ORIGINS=* (any origin) is for the development demo only; list the EHR origins that call Crosstalk from a browser');
  }
  const fhirTimeoutMs = Number(get('CROSSTALK_FHIR_TIMEOUT_MS'));
  const requestBudgetMs = Number(get('CROSSTALK_REQUEST_BUDGET_MS'));
  const fhirMaxResponseBytes = parseSize(get('CROSSTALK_FHIR_MAX_RESPONSE_BYTES') as string);
  const fhirMaxCallBytes = parseSize(get('CROSSTALK_FHIR_MAX_CALL_BYTES') as string);
  if (fhirMaxResponseBytes < 1024 || fhirMaxCallBytes < fhirMaxResponseBytes) {
    throw new ConfigError('invalid configuration: CROSSTALK_FHIR_MAX_RESPONSE_BYTES must be at least 1kb and at most CROSSTALK_FHIR_MAX_CALL_BYTES');
  }
  if (fhirTimeoutMs >= requestBudgetMs) {
    throw new ConfigError('invalid configuration: CROSSTALK_FHIR_TIMEOUT_MS must be below CROSSTALK_REQUEST_BUDGET_MS');
  }
  return {
    port,
    devMode: get('CROSSTALK_DEV_MODE') === 'true',
    ...(raw.CROSSTALK_TRUSTED_CLIENTS ? { trustedClientsFile: raw.CROSSTALK_TRUSTED_CLIENTS } : {}),
    jwt: {
      clockSkewS: Number(get('CROSSTALK_JWT_CLOCK_SKEW_S')),
      maxLifetimeS: Number(get('CROSSTALK_JWT_MAX_LIFETIME_S')),
      jwksTimeoutMs: Number(get('CROSSTALK_JWKS_TIMEOUT_MS')),
      jwksCooldownS: Number(get('CROSSTALK_JWKS_COOLDOWN_S')),
    },
    insecureFhirOrigins: parseOrigins(raw.CROSSTALK_INSECURE_FHIR_ORIGINS),
    devFhirOrigins: parseOrigins(raw.CROSSTALK_DEV_FHIR_ORIGINS),
    corsOrigins,
    requestBudgetMs,
    host: get('HOST') as string,
    publicBaseUrl: get('PUBLIC_BASE_URL') ?? `http://localhost:${port}`,
    publicBaseUrlSet: raw.PUBLIC_BASE_URL !== undefined,
    embeddedFhir: get('CROSSTALK_EMBEDDED_FHIR') === 'true',
    demoSeed: get('CROSSTALK_DEMO_SEED') === 'true',
    ...(raw.CROSSTALK_SITE_KNOWLEDGE ? { siteKnowledgeFile: raw.CROSSTALK_SITE_KNOWLEDGE } : {}),
    fhirTimeoutMs,
    fhirMaxPages: Math.max(1, Number(get('CROSSTALK_FHIR_MAX_PAGES'))),
    fhirMaxResponseBytes,
    fhirMaxCallBytes,
    bodyLimit: get('CROSSTALK_BODY_LIMIT') as string,
    logLevel: get('LOG_LEVEL') as string,
    dataDir: get('CROSSTALK_DATA_DIR') as string,
    ...(raw.DATABASE_URL ? { databaseUrl: raw.DATABASE_URL } : {}),
    ...(raw.CROSSTALK_AUDIT_HMAC_KEY ? { auditHmacKey: raw.CROSSTALK_AUDIT_HMAC_KEY } : {}),
    ...(raw.CROSSTALK_PILOT_KEY ? { pilotKey: raw.CROSSTALK_PILOT_KEY } : {}),
    retentionDays: Number(get('CROSSTALK_RETENTION_DAYS')),
    purgeIntervalMinutes: Number(get('CROSSTALK_PURGE_INTERVAL_MINUTES')),
    ...(raw.CROSSTALK_ADMIN_TOKEN ? { adminToken: raw.CROSSTALK_ADMIN_TOKEN } : {}),
    smart: {
      enabled: get('CROSSTALK_SMART_APP') === 'true',
      clientId: get('CROSSTALK_SMART_CLIENT_ID') as string,
      scopeVersion: get('CROSSTALK_SMART_SCOPE_VERSION') as 'v1' | 'v2',
      ...(raw.CROSSTALK_SMART_REDIRECT_URI ? { redirectUri: raw.CROSSTALK_SMART_REDIRECT_URI } : {}),
      ...(raw.CROSSTALK_SMART_STANDALONE_ISS ? { standaloneIss: raw.CROSSTALK_SMART_STANDALONE_ISS } : {}),
    },
  };
}

/** What `npm start` (the embedded demo) switches on explicitly; the environment still wins. */
export const DEMO_PROFILE: Record<string, string> = {
  CROSSTALK_DEV_MODE: 'true',
  CROSSTALK_EMBEDDED_FHIR: 'true',
  CROSSTALK_DEMO_SEED: 'true',
  // Browser clients on any origin (the CDS Hooks Sandbox, the SMART App Launcher) reach the demo.
  CROSSTALK_CORS_ORIGINS: '*',
};
