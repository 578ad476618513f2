import fs from 'node:fs';
import { createLocalJWKSet, importJWK, type JWK } from 'jose';
import { ConfigError } from '../../config/knowledge-file';
import { compileSchema, formatErrors } from '../../config/schemas';
import { keySetUrlProblem } from './remote-keys';

export type Algorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'EdDSA';

export interface TrustedClient {
  name?: string;
  iss: string;
  jwksUrls?: string[];
  jwks?: { keys: Record<string, unknown>[] };
  algorithms?: Algorithm[];
  fhirServerOrigins: string[];
  tenants?: string[];
  sub?: string;
  /** A profile of cds-hooks/ehr-profiles.json; absent: generic. */
  profile?: string;
}

export interface TrustedClientChecks {
  /** Origins whose JWK Sets may be fetched over http (CROSSTALK_INSECURE_JWKS_ORIGINS). */
  insecureJwksOrigins?: string[];
  /** The profile names cds-hooks/ehr-profiles.json defines. */
  profiles?: string[];
}

/** The spec's recommended algorithms; anything else must be switched on per client. */
export const DEFAULT_ALGORITHMS: Algorithm[] = ['ES384', 'RS384'];

export function loadTrustedClients(file: string, checks: TrustedClientChecks = {}): TrustedClient[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`CROSSTALK_TRUSTED_CLIENTS: cannot read ${file}: ${(e as Error).message}`);
  }
  const validate = compileSchema<{ clients: TrustedClient[] }>('trusted-clients.schema.json');
  if (!validate(data)) throw new ConfigError(`CROSSTALK_TRUSTED_CLIENTS ${file}: ${formatErrors(validate.errors)}`);
  const seen = new Set<string>();
  for (const c of data.clients) {
    const where = `CROSSTALK_TRUSTED_CLIENTS ${file}: issuer ${c.iss}`;
    if (seen.has(c.iss)) throw new ConfigError(`CROSSTALK_TRUSTED_CLIENTS ${file}: issuer ${c.iss} appears twice`);
    seen.add(c.iss);
    for (const url of c.jwksUrls ?? []) {
      const problem = keySetUrlProblem(url, checks.insecureJwksOrigins ?? []);
      if (problem) throw new ConfigError(`${where}: jwksUrls ${url} ${problem}`);
    }
    if (c.profile !== undefined && checks.profiles && !checks.profiles.includes(c.profile))
      throw new ConfigError(
        `${where}: profile "${c.profile}" is not one of cds-hooks/ehr-profiles.json (${checks.profiles.join(', ')})`,
      );
  }
  return data.clients;
}

/**
 * Imports every inline key once, at start-up. A key that cannot be imported (a typo in a coordinate, a
 * private key pasted whole, a curve the algorithm cannot use) would otherwise surface only as a 401 on
 * every call from that EHR, with the reason buried in the log.
 */
export async function checkInlineKeys(clients: TrustedClient[], file: string): Promise<void> {
  for (const c of clients) {
    if (!c.jwks) continue;
    const where = `CROSSTALK_TRUSTED_CLIENTS ${file}: issuer ${c.iss}`;
    try {
      createLocalJWKSet(c.jwks as Parameters<typeof createLocalJWKSet>[0]);
    } catch (e) {
      throw new ConfigError(`${where}: its jwks is not a usable JWK Set (${(e as Error).message})`);
    }
    for (const [i, key] of c.jwks.keys.entries()) {
      const jwk = key as JWK;
      const name = typeof jwk.kid === 'string' ? `key "${jwk.kid}"` : `key ${i + 1}`;
      if ('d' in jwk || 'p' in jwk || 'k' in jwk)
        throw new ConfigError(`${where}: ${name} is a private or symmetric key; list only the public key`);
      const algs = typeof jwk.alg === 'string' ? [jwk.alg] : (c.algorithms ?? DEFAULT_ALGORITHMS);
      const errors: string[] = [];
      let imported = false;
      for (const alg of algs) {
        try {
          await importJWK(jwk, alg);
          imported = true;
          break;
        } catch (e) {
          errors.push(`${alg}: ${(e as Error).message}`);
        }
      }
      if (!imported) throw new ConfigError(`${where}: ${name} cannot be imported (${errors.join('; ')})`);
    }
  }
}
