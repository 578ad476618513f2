import fs from 'node:fs';
import Ajv from 'ajv';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ConfigError } from '../config/knowledge-file';
import { formatErrors } from '../config/schemas';
import { parseOrigins } from '../fhir/egress';
import type { PgSslMode } from '../store/postgres';
import { ConfigSchema, SECRET_KEYS, type ValidEnv } from './config-schema';
import { ANY_ORIGIN } from './cors';

/** The environment variables Crosstalk reads: exactly the keys of its one definition (config-schema.ts). */
export const CONFIG_KEYS: string[] = Object.keys(ConfigSchema.properties);

// Its own ajv: coercion and defaults are right for environment strings and wrong for anything a client sends.
const validateEnv = new Ajv({ allErrors: true, strict: true, coerceTypes: true, useDefaults: true }).compile<ValidEnv>(
  ConfigSchema,
);

const UNIT = { b: 1, kb: 1024, mb: 1024 * 1024 } as const;

/** `512kb`, `5mb`: sizes as the schema allows them (the same units as CROSSTALK_BODY_LIMIT). */
export function parseSize(v: string): number {
  const m = /^([0-9]+)(b|kb|mb)$/.exec(v);
  if (!m) throw new ConfigError(`invalid configuration: ${v} is not a size like 512kb or 5mb`);
  return Number(m[1]) * UNIT[m[2] as keyof typeof UNIT];
}

/** How the SMART app presents itself to an EHR's authorization server (docs/hospital-it/registering-an-ehr.md). */
export type SmartAppConfig = AppConfig['smart'];

/** The configuration the server runs with: its type is what loadConfig builds from the validated environment. */
export type AppConfig = ReturnType<typeof toAppConfig>;

/** Reads and validates configuration; an invalid value stops start-up with a message naming the key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw: Record<string, string | number | boolean> = {};
  for (const k of CONFIG_KEYS) {
    const v = env[k];
    if (v !== undefined && v !== '') raw[k] = v;
  }
  for (const k of SECRET_KEYS) {
    const secret = secretFromFile(k, env);
    if (secret !== undefined) raw[k] = secret;
  }
  if (!validateEnv(raw)) throw new ConfigError(`invalid configuration: ${formatErrors(validateEnv.errors)}`);
  const e = raw as unknown as ValidEnv;
  const corsOrigins = parseOrigins(e.CROSSTALK_CORS_ORIGINS);
  if (corsOrigins.includes(ANY_ORIGIN) && !e.CROSSTALK_DEV_MODE) {
    throw new ConfigError(
      'invalid configuration: CROSSTALK_CORS_ORIGINS=* (any origin) is for the development demo only; list the EHR origins that call Crosstalk from a browser',
    );
  }
  refuseDevModeInProduction(e);
  const fhirMaxResponseBytes = parseSize(e.CROSSTALK_FHIR_MAX_RESPONSE_BYTES);
  const fhirMaxCallBytes = parseSize(e.CROSSTALK_FHIR_MAX_CALL_BYTES);
  if (fhirMaxResponseBytes < 1024 || fhirMaxCallBytes < fhirMaxResponseBytes) {
    throw new ConfigError(
      'invalid configuration: CROSSTALK_FHIR_MAX_RESPONSE_BYTES must be at least 1kb and at most CROSSTALK_FHIR_MAX_CALL_BYTES',
    );
  }
  if (e.CROSSTALK_PG_SSLMODE && e.DATABASE_URL && /[?&](sslmode|ssl|sslrootcert)=/i.test(e.DATABASE_URL)) {
    throw new ConfigError(
      'invalid configuration: CROSSTALK_PG_SSLMODE is set and DATABASE_URL has TLS parameters of its own (sslmode, ssl or sslrootcert); keep one',
    );
  }
  if (e.CROSSTALK_FHIR_TIMEOUT_MS >= e.CROSSTALK_REQUEST_BUDGET_MS) {
    throw new ConfigError('invalid configuration: CROSSTALK_FHIR_TIMEOUT_MS must be below CROSSTALK_REQUEST_BUDGET_MS');
  }
  return toAppConfig(e, corsOrigins, fhirMaxResponseBytes, fhirMaxCallBytes);
}

/**
 * A secret named by `<NAME>_FILE` (a mounted Kubernetes or Docker secret): the file's text without its trailing
 * newline. Messages name the setting and the path, never what the file holds.
 */
function secretFromFile(key: string, env: NodeJS.ProcessEnv): string | undefined {
  const fileKey = `${key}_FILE`;
  const file = env[fileKey];
  if (file === undefined || file === '') return undefined;
  if (env[key] !== undefined && env[key] !== '')
    throw new ConfigError(`invalid configuration: ${key} and ${fileKey} are both set; set only one`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `invalid configuration: ${fileKey}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  // Editors and `echo` end a file with a newline; the secret is the line before it.
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new ConfigError(`invalid configuration: ${fileKey}: ${file} is empty`);
  return secret;
}

// Loopback and socket-directory hosts: a store there is this machine's, not a shared production database.
const LOCAL_HOSTS = new Set(['', 'localhost', '::1']);
function isLocalDatabase(url: string): boolean {
  // pg's own parser, so the URL means here what it means to the store (e.g. ?host=/var/run/postgresql, a socket).
  const host = parseConnectionString(url).host ?? '';
  return LOCAL_HOSTS.has(host) || host.startsWith('127.') || host.startsWith('/');
}

/**
 * Development mode switches JWT checks off and (with the demo) serves an open, writable FHIR server. Started by
 * mistake beside production settings it would take unauthenticated calls against real data, so it refuses to start
 * unless CROSSTALK_DEV_MODE_OVERRIDE names that risk.
 */
function refuseDevModeInProduction(e: ValidEnv): void {
  if (!e.CROSSTALK_DEV_MODE || e.CROSSTALK_DEV_MODE_OVERRIDE) return;
  const found = [
    e.CROSSTALK_TRUSTED_CLIENTS ? 'CROSSTALK_TRUSTED_CLIENTS' : '',
    e.CROSSTALK_AUDIT_HMAC_KEY ? 'CROSSTALK_AUDIT_HMAC_KEY' : '',
    e.DATABASE_URL && !isLocalDatabase(e.DATABASE_URL) ? 'DATABASE_URL (not a local server)' : '',
    e.NODE_ENV === 'production' ? 'NODE_ENV=production' : '',
  ].filter(Boolean);
  if (!found.length) return;
  throw new ConfigError(
    `invalid configuration: development mode (CROSSTALK_DEV_MODE=true, or --demo) would accept unauthenticated CDS calls, but production settings are present: ${found.join(', ')}. Remove them, or switch development mode off; to run so anyway, set CROSSTALK_DEV_MODE_OVERRIDE=unauthenticated-calls-with-production-settings`,
  );
}

/** Where each environment variable lands in the configuration; types and defaults come from the schema. */
function toAppConfig(e: ValidEnv, corsOrigins: string[], fhirMaxResponseBytes: number, fhirMaxCallBytes: number) {
  return {
    port: e.PORT,
    devMode: e.CROSSTALK_DEV_MODE,
    ...(e.CROSSTALK_TRUSTED_CLIENTS ? { trustedClientsFile: e.CROSSTALK_TRUSTED_CLIENTS } : {}),
    jwt: {
      clockSkewS: e.CROSSTALK_JWT_CLOCK_SKEW_S,
      maxLifetimeS: e.CROSSTALK_JWT_MAX_LIFETIME_S,
      jwksTimeoutMs: e.CROSSTALK_JWKS_TIMEOUT_MS,
      jwksCooldownS: e.CROSSTALK_JWKS_COOLDOWN_S,
      insecureJwksOrigins: parseOrigins(e.CROSSTALK_INSECURE_JWKS_ORIGINS),
    },
    insecureFhirOrigins: parseOrigins(e.CROSSTALK_INSECURE_FHIR_ORIGINS),
    devFhirOrigins: parseOrigins(e.CROSSTALK_DEV_FHIR_ORIGINS),
    corsOrigins,
    requestBudgetMs: e.CROSSTALK_REQUEST_BUDGET_MS,
    host: e.HOST,
    publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`,
    /** PUBLIC_BASE_URL was set: links and redirects use it whatever origin a request came in on. */
    publicBaseUrlSet: e.PUBLIC_BASE_URL !== undefined,
    embeddedFhir: e.CROSSTALK_EMBEDDED_FHIR,
    demoSeed: e.CROSSTALK_DEMO_SEED,
    ...(e.CROSSTALK_SITE_KNOWLEDGE ? { siteKnowledgeFile: e.CROSSTALK_SITE_KNOWLEDGE } : {}),
    siteKnowledgePollMs: e.CROSSTALK_SITE_KNOWLEDGE_POLL_MS,
    fhirTimeoutMs: e.CROSSTALK_FHIR_TIMEOUT_MS,
    fhirMaxPages: e.CROSSTALK_FHIR_MAX_PAGES,
    /** Byte caps on FHIR answers: each one, and all of one call's together. */
    fhirMaxResponseBytes,
    fhirMaxCallBytes,
    bodyLimit: e.CROSSTALK_BODY_LIMIT,
    logLevel: e.LOG_LEVEL as string,
    /** The store: SQLite under dataDir unless databaseUrl names PostgreSQL. */
    dataDir: e.CROSSTALK_DATA_DIR,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    /** How the PostgreSQL store connects (used only with databaseUrl). */
    postgres: {
      maxConnections: e.CROSSTALK_PG_POOL_MAX,
      statementTimeoutMs: e.CROSSTALK_PG_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.CROSSTALK_PG_CONNECT_TIMEOUT_MS,
      ...(e.CROSSTALK_PG_SSLMODE ? { sslmode: e.CROSSTALK_PG_SSLMODE as PgSslMode } : {}),
      ...(e.CROSSTALK_PG_SSL_CA_FILE ? { sslCaFile: e.CROSSTALK_PG_SSL_CA_FILE } : {}),
    },
    /** Prometheus metrics on a listener of their own; in development mode also on the CDS port. */
    metrics: {
      ...(e.CROSSTALK_METRICS_PORT !== undefined ? { port: e.CROSSTALK_METRICS_PORT } : {}),
      host: e.CROSSTALK_METRICS_HOST,
      ...(e.CROSSTALK_METRICS_TOKEN ? { token: e.CROSSTALK_METRICS_TOKEN } : {}),
    },
    rateLimits: {
      clientPerMinute: e.CROSSTALK_RATE_LIMIT_CLIENT_PER_MIN,
      failedAuthPerMinute: e.CROSSTALK_RATE_LIMIT_FAILED_AUTH_PER_MIN,
    },
    ...(e.CROSSTALK_AUDIT_HMAC_KEY ? { auditHmacKey: e.CROSSTALK_AUDIT_HMAC_KEY } : {}),
    /** Keys the hash that picks a pilot's share of patients (docs/hospital-it/clinical-configuration.md). */
    ...(e.CROSSTALK_PILOT_KEY ? { pilotKey: e.CROSSTALK_PILOT_KEY } : {}),
    retentionDays: e.CROSSTALK_RETENTION_DAYS,
    purgeIntervalMinutes: e.CROSSTALK_PURGE_INTERVAL_MINUTES,
    ...(e.CROSSTALK_ADMIN_TOKEN ? { adminToken: e.CROSSTALK_ADMIN_TOKEN } : {}),
    smart: {
      enabled: e.CROSSTALK_SMART_APP,
      clientId: e.CROSSTALK_SMART_CLIENT_ID,
      scopeVersion: e.CROSSTALK_SMART_SCOPE_VERSION,
      /** Only when configured; otherwise PUBLIC_BASE_URL/app/index.html, resolved when asked. */
      ...(e.CROSSTALK_SMART_REDIRECT_URI ? { redirectUri: e.CROSSTALK_SMART_REDIRECT_URI } : {}),
      ...(e.CROSSTALK_SMART_STANDALONE_ISS ? { standaloneIss: e.CROSSTALK_SMART_STANDALONE_ISS } : {}),
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
