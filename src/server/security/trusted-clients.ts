import fs from 'node:fs';
import { ConfigError } from '../../config/knowledge-file';
import { compileSchema, formatErrors } from '../../config/schemas';

export type Algorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA';

export interface TrustedClient {
  name?: string;
  iss: string;
  jwksUrls?: string[];
  jwks?: { keys: Record<string, unknown>[] };
  algorithms?: Algorithm[];
  fhirServerOrigins: string[];
  tenants?: string[];
  sub?: string;
}

/** The spec's recommended algorithms; anything else must be switched on per client. */
export const DEFAULT_ALGORITHMS: Algorithm[] = ['ES384', 'RS384'];

export function loadTrustedClients(file: string): TrustedClient[] {
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
    if (seen.has(c.iss)) throw new ConfigError(`CROSSTALK_TRUSTED_CLIENTS ${file}: issuer ${c.iss} appears twice`);
    seen.add(c.iss);
  }
  return data.clients;
}
