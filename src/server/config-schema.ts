/**
 * The environment variables Crosstalk reads, written once: name, type, default and description. ajv checks the
 * environment against this object, turning numbers and booleans from strings (coerceTypes) and filling defaults
 * (useDefaults); the TypeScript type of the result is derived from it; `npm run derive` writes it out as
 * cds-hooks/schemas/config.schema.json for hospital IT (docs/hospital-it/configuration.md).
 */
import { type Static, type TOptional, type TSchema, Type } from '@sinclair/typebox';
import { Enum } from '../clinical';

/** A key with a default: optional in the environment, always present after validation (ValidEnv). */
const defaulted = <T extends TSchema>(schema: T) => Type.Optional(schema) as TOptional<T> & { default: Static<T> };
const Int = (minimum: number, maximum: number, def: number, description: string) =>
  defaulted(Type.Integer({ minimum, maximum, default: def, description }));
const Bool = (def: boolean, description: string) => defaulted(Type.Boolean({ default: def, description }));
const Str = (def: string, options: Parameters<typeof Type.String>[0]) =>
  defaulted(Type.String({ ...options, default: def }));
const Size = (def: string, description: string) => Str(def, { pattern: '^[0-9]{1,9}(b|kb|mb)$', description });
const Text = (options: Parameters<typeof Type.String>[0]) => Type.Optional(Type.String(options));
/** `<NAME>_FILE`: the secret NAME read from a mounted file (Kubernetes or Docker secrets), not the environment. */
const SecretFile = (key: string) =>
  Text({
    minLength: 1,
    description: `Path of a file holding ${key} (a Kubernetes or Docker secret); a trailing newline is dropped. Set this or ${key}, never both`,
  });

/**
 * Settings that are secrets: each may also be read from `<NAME>_FILE`, and none is ever written to a log or a
 * message. DATABASE_URL is one because it carries the database password.
 */
export const SECRET_KEYS = [
  'DATABASE_URL',
  'CROSSTALK_AUDIT_HMAC_KEY',
  'CROSSTALK_PILOT_KEY',
  'CROSSTALK_ADMIN_TOKEN',
  'CROSSTALK_METRICS_TOKEN',
] as const;

export const ConfigSchema = Type.Object(
  {
    PORT: Int(0, 65535, 3000, 'TCP port for CDS Hooks, the embedded FHIR server and health endpoints'),
    HOST: Str('127.0.0.1', { minLength: 1, description: 'Interface to listen on; 0.0.0.0 in containers' }),
    PUBLIC_BASE_URL: Text({
      pattern: '^https?://[^/]+(/.*[^/])?$',
      description: 'The URL EHRs use to reach this service (no trailing slash); default http://localhost:PORT',
    }),
    CROSSTALK_DEV_MODE: Bool(
      false,
      'Development mode: CDS calls need no JWT and fhirServer may be any CROSSTALK_DEV_FHIR_ORIGINS origin over http. Never in production',
    ),
    CROSSTALK_DEV_MODE_OVERRIDE: Text({
      enum: ['unauthenticated-calls-with-production-settings'],
      description:
        'Lets development mode start although production settings are present (trusted clients, an audit key, a non-local DATABASE_URL, NODE_ENV=production); the value names the risk: CDS calls are then not authenticated',
    }),
    NODE_ENV: Text({
      minLength: 1,
      description: 'production marks a production deployment: development mode then refuses to start',
    }),
    CROSSTALK_TRUSTED_CLIENTS: Text({
      minLength: 1,
      description:
        'Path of the JSON file listing trusted CDS clients (schema cds-hooks/schemas/trusted-clients.schema.json); required outside development mode',
    }),
    CROSSTALK_JWT_CLOCK_SKEW_S: Int(0, 999, 60, 'Clock skew tolerated on exp, iat and nbf, in seconds'),
    CROSSTALK_JWT_MAX_LIFETIME_S: Int(0, 99999, 3600, 'Longest accepted JWT lifetime (exp − iat) and age, in seconds'),
    CROSSTALK_JWKS_TIMEOUT_MS: Int(10, 99999, 2000, 'Timeout for fetching an allow-listed JWK Set'),
    CROSSTALK_JWKS_COOLDOWN_S: Int(
      0,
      9999,
      30,
      'Least time between two fetches of one JWK Set when an unknown kid appears (rate limit)',
    ),
    CROSSTALK_INSECURE_JWKS_ORIGINS: Text({
      description:
        "Comma-separated origins a trusted client's jwksUrls may use over http (development and tests); every other JWK Set URL must be https",
    }),
    CROSSTALK_INSECURE_FHIR_ORIGINS: Text({
      description:
        'Comma-separated fhirServer origins allowed over http and on private or loopback addresses (development; a trusted client must still list them)',
    }),
    CROSSTALK_DEV_FHIR_ORIGINS: Text({
      description:
        "Comma-separated fhirServer origins allowed in development mode (`http://127.0.0.1:*` allows any port); default: this service's own origins",
    }),
    CROSSTALK_CORS_ORIGINS: Text({
      description: 'Comma-separated browser origins allowed to call the CDS endpoints (CORS); none by default',
    }),
    CROSSTALK_REQUEST_BUDGET_MS: Int(
      100,
      999999,
      5000,
      'Every CDS call is answered within this time, even when the FHIR server hangs; must exceed CROSSTALK_FHIR_TIMEOUT_MS',
    ),
    CROSSTALK_EMBEDDED_FHIR: Bool(
      false,
      "Serve the in-memory demo FHIR R4 server at /fhir (on with npm start's demo profile; off by default)",
    ),
    CROSSTALK_DEMO_SEED: Bool(true, 'Seed the embedded FHIR server with the synthetic demo patients'),
    CROSSTALK_SITE_KNOWLEDGE: Text({
      minLength: 1,
      description: 'Path to a JSON file merged over cds-hooks/knowledge/clinical.json (site thresholds)',
    }),
    CROSSTALK_SITE_KNOWLEDGE_POLL_MS: Int(
      0,
      3600000,
      5000,
      'How often each replica re-reads CROSSTALK_SITE_KNOWLEDGE and, when its content changed, reloads it as SIGHUP does (works with a mounted ConfigMap); 0: only on SIGHUP',
    ),
    CROSSTALK_FHIR_TIMEOUT_MS: Int(10, 999999, 3000, 'Time budget for all FHIR reads of one CDS call'),
    CROSSTALK_FHIR_MAX_PAGES: Int(1, 999, 10, 'Most search pages followed per prefetch key'),
    CROSSTALK_FHIR_MAX_RESPONSE_BYTES: Size(
      '5mb',
      'Largest FHIR answer read (after decompression); a larger one is cut off while streaming and its prefetch key is unavailable',
    ),
    CROSSTALK_FHIR_MAX_CALL_BYTES: Size(
      '20mb',
      'Most FHIR bytes one CDS call reads, all keys and pages together; reads still running at the cap are cut off',
    ),
    CROSSTALK_BODY_LIMIT: Str('5mb', { pattern: '^[0-9]+(b|kb|mb)$', description: 'Largest accepted request body' }),
    LOG_LEVEL: defaulted(
      Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        default: 'info',
        description: 'pino log level',
      }),
    ),
    CROSSTALK_DATA_DIR: Str('./data', {
      minLength: 1,
      description: 'Directory of the embedded SQLite store (audit, issued cards, feedback), created on first start',
    }),
    DATABASE_URL: Text({
      pattern: '^postgres(ql)?://',
      description: 'postgres:// URL: keep the store in PostgreSQL instead of SQLite, shared by every replica',
    }),
    CROSSTALK_PG_POOL_MAX: Int(1, 1000, 10, 'Most PostgreSQL connections one replica opens (its pool size)'),
    CROSSTALK_PG_STATEMENT_TIMEOUT_MS: Int(
      100,
      3600000,
      10000,
      "PostgreSQL's statement_timeout for the store's connections: the server cancels a statement running longer; the client also gives up 2 s later if the server falls silent",
    ),
    CROSSTALK_PG_CONNECT_TIMEOUT_MS: Int(100, 600000, 3000, 'Time allowed to open one PostgreSQL connection'),
    CROSSTALK_PG_SSLMODE: Text({
      enum: ['disable', 'require', 'verify-ca', 'verify-full'],
      description:
        "TLS to PostgreSQL, as libpq's sslmode: require encrypts but accepts any server certificate; verify-ca rejects a certificate not signed by the CA; verify-full also rejects one not naming the host. Unset: as DATABASE_URL says (an sslmode there is refused when this is set)",
    }),
    CROSSTALK_PG_SSL_CA_FILE: Text({
      minLength: 1,
      description:
        "PEM file of the CA(s) that sign the PostgreSQL server's certificate, for verify-ca and verify-full; default the system's CAs",
    }),
    CROSSTALK_AUDIT_HMAC_KEY: Text({
      minLength: 32,
      description:
        'Secret key of the HMAC that stands for the patient in the audit; required outside development mode (development mode uses a random per-process key)',
    }),
    CROSSTALK_PILOT_KEY: Text({
      minLength: 32,
      description:
        "Secret key of the HMAC that picks the patients of a pilot cohort (a rule's mode.pilot.patientFraction); required when any rule has one",
    }),
    CROSSTALK_RETENTION_DAYS: Int(
      1,
      99999,
      365,
      'Days audit records, issued cards and feedback are kept before the purge job deletes them',
    ),
    CROSSTALK_PURGE_INTERVAL_MINUTES: Int(1, 99999, 60, 'How often the purge job runs (it also runs at start-up)'),
    CROSSTALK_ADMIN_TOKEN: Text({
      minLength: 32,
      description: 'Bearer token for the admin endpoints (governance reports); the endpoints are off when unset',
    }),
    CROSSTALK_METRICS_PORT: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description:
          'TCP port of a separate listener serving Prometheus metrics at /metrics. Outside development mode this is the only place metrics are served (the CDS port answers 404); unset, metrics are not served',
      }),
    ),
    CROSSTALK_METRICS_HOST: Str('127.0.0.1', {
      minLength: 1,
      description:
        'Interface the metrics listener binds; loopback by default, so only this machine (or a sidecar) can scrape it',
    }),
    CROSSTALK_METRICS_TOKEN: Text({
      minLength: 32,
      description:
        'Bearer token the metrics listener requires (Authorization: Bearer …); without it the listener answers anyone who can reach it',
    }),
    CROSSTALK_RATE_LIMIT_CLIENT_PER_MIN: Int(
      0,
      9999999,
      6000,
      'Most CDS requests one trusted client (by iss) may make per minute; more are answered 429 with Retry-After. 0: no limit',
    ),
    CROSSTALK_RATE_LIMIT_FAILED_AUTH_PER_MIN: Int(
      0,
      99999,
      60,
      'Most failed authentications (no, bad or forged token) one remote address may make per minute; past that its CDS requests are answered 429 before any token is checked, for the rest of the minute. 0: no limit',
    ),
    CROSSTALK_SMART_APP: Bool(true, 'Serve the SMART on FHIR app at /app and link finding cards to it'),
    CROSSTALK_SMART_CLIENT_ID: Str('crosstalk', {
      pattern: '^[A-Za-z0-9._~:-]{1,128}$',
      description: "OAuth client id the app was registered under with the EHR's authorization server",
    }),
    CROSSTALK_SMART_SCOPE_VERSION: defaulted(
      Enum(['v1', 'v2'], {
        default: 'v1',
        description: 'SMART scope syntax the app requests: v1 patient/Observation.read, v2 patient/Observation.rs',
      }),
    ),
    CROSSTALK_SMART_REDIRECT_URI: Text({
      pattern: '^https?://[^/]+/\\S*$',
      description: 'Redirect URI registered for the app; default PUBLIC_BASE_URL/app/index.html',
    }),
    CROSSTALK_SMART_STANDALONE_ISS: Text({
      pattern: '^https?://[^/]+(/\\S*[^/])?$',
      description:
        'FHIR base URL for a standalone launch of /app/launch.html without iss; default the embedded /fhir when it is on',
    }),
    DATABASE_URL_FILE: SecretFile('DATABASE_URL'),
    CROSSTALK_AUDIT_HMAC_KEY_FILE: SecretFile('CROSSTALK_AUDIT_HMAC_KEY'),
    CROSSTALK_PILOT_KEY_FILE: SecretFile('CROSSTALK_PILOT_KEY'),
    CROSSTALK_ADMIN_TOKEN_FILE: SecretFile('CROSSTALK_ADMIN_TOKEN'),
    CROSSTALK_METRICS_TOKEN_FILE: SecretFile('CROSSTALK_METRICS_TOKEN'),
  },
  {
    $id: 'config.schema.json',
    title: 'Crosstalk runtime configuration, read from environment variables (docs/hospital-it/configuration.md)',
    description:
      'Every value is an environment string; integers and booleans (true/false) are read from their text, and a key left unset takes its default.',
    additionalProperties: false,
  },
);

/** The environment after validation: numbers are numbers, booleans booleans, defaults filled. */
export type Env = Static<typeof ConfigSchema>;
export type ConfigKey = keyof Env & string;

/** Defaults are filled by ajv, so every key with a default is present after validation. */
type WithDefaults<T extends Record<string, TSchema>> = {
  [K in keyof T]: T[K] extends { default: unknown } ? K : never;
}[keyof T];
export type ValidEnv = Env & Required<Pick<Env, WithDefaults<typeof ConfigSchema.properties> & keyof Env>>;
