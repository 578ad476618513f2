import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { SignJWT } from 'jose';
import { ConfigError } from '../config/errors';
import {
  type Algorithm,
  DEFAULT_ALGORITHMS,
  loadTrustedClients,
  type TrustedClient,
} from '../server/security/trusted-clients';
import { TOKEN_USAGE } from './token-usage';

const MAX_LIFETIME_S = 300;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A private key from PEM (PKCS#8, SEC1 or PKCS#1) or JWK text; never echoed in a message. */
function privateKeyFrom(text: string, where: string): KeyObject {
  const t = text.trim();
  try {
    if (t.startsWith('{')) return createPrivateKey({ key: JSON.parse(t) as JsonWebKey, format: 'jwk' });
    return createPrivateKey(t);
  } catch (e) {
    throw new ConfigError(`${where} is not a usable private key (${(e as Error).name})`);
  }
}

// Node names the curves by their OpenSSL names.
const CURVE_ALG: Record<string, Algorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** The algorithms this key can sign with, in the client's order of preference. */
function algorithmsFor(key: KeyObject, client: TrustedClient): Algorithm[] {
  const allowed = client.algorithms ?? DEFAULT_ALGORITHMS;
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const alg = CURVE_ALG[key.asymmetricKeyDetails?.namedCurve ?? ''];
    return alg && allowed.includes(alg) ? [alg] : [];
  }
  if (type === 'rsa') return allowed.filter((a) => /^RS|^PS/.test(a));
  if (type === 'ed25519') return allowed.filter((a) => a === 'EdDSA');
  return [];
}

const sameKey = (a: JsonWebKey, b: Record<string, unknown>) =>
  a.kty === b.kty && (a.kty === 'RSA' ? a.n === b.n && a.e === b.e : a.x === b.x && a.y === b.y && a.crv === b.crv);

/**
 * `crosstalk token`: mints a client JWT for one trusted client. Only the token goes to stdout, so
 * `curl -H "Authorization: Bearer $(crosstalk token …)"` works as it stands.
 */
export async function runToken(
  args: string[],
  env: NodeJS.ProcessEnv,
  write: (s: string) => Promise<void> | void,
): Promise<number> {
  const iss = option(args, '--iss');
  const url = option(args, '--url');
  const clientsFile = option(args, '--trusted-clients') ?? env.CROSSTALK_TRUSTED_CLIENTS;
  if (!iss || !url) throw new ConfigError(`token needs --iss and --url\n${TOKEN_USAGE}`);
  if (!clientsFile)
    throw new ConfigError('token needs the trusted clients file: --trusted-clients or CROSSTALK_TRUSTED_CLIENTS');
  let aud: string;
  try {
    const u = new URL(url);
    // The service checks aud against its public URL and the path called, without the query.
    aud = `${u.origin}${u.pathname}`;
  } catch {
    throw new ConfigError(`--url: not a URL: ${url}`);
  }
  const client = loadTrustedClients(clientsFile).find((c) => c.iss === iss);
  if (!client) throw new ConfigError(`${iss} is not a trusted client in ${clientsFile}`);

  const keyFile = option(args, '--key-file');
  const inlineKey = option(args, '--key');
  if (!keyFile === !inlineKey) throw new ConfigError('token needs one of --key-file or --key');
  let keyText: string;
  if (keyFile) {
    try {
      keyText = fs.readFileSync(keyFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`--key-file: cannot read ${keyFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else keyText = inlineKey as string;
  const key = privateKeyFrom(keyText, keyFile ? `--key-file ${keyFile}` : '--key');

  const usable = algorithmsFor(key, client);
  const alg = (option(args, '--alg') ?? usable[0]) as Algorithm | undefined;
  if (!alg || !usable.includes(alg))
    throw new ConfigError(
      `this key cannot sign with ${alg ?? 'any algorithm'} allowed for ${iss} (${(client.algorithms ?? DEFAULT_ALGORITHMS).join(', ')})`,
    );

  // The kid: given, or the key's own, or that of the client's listed public key this private key belongs to.
  const publicJwk = createPublicKey(key).export({ format: 'jwk' });
  const listed = client.jwks?.keys.find((k) => sameKey(publicJwk, k));
  if (client.jwks && !listed)
    throw new ConfigError(
      `this key's public key is not among ${iss}'s keys in ${clientsFile}: the service would answer 401`,
    );
  const ownKid = keyText.trim().startsWith('{') ? (JSON.parse(keyText) as { kid?: unknown }).kid : undefined;
  const kid =
    option(args, '--kid') ?? (typeof ownKid === 'string' ? ownKid : undefined) ?? (listed?.kid as string | undefined);
  if (!kid) throw new ConfigError('no kid: give --kid, the kid of the public key the EHR publishes');

  const requested = Number(option(args, '--expires-in') ?? MAX_LIFETIME_S);
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_LIFETIME_S)
    throw new ConfigError(`--expires-in: whole seconds from 1 to ${MAX_LIFETIME_S}`);
  const tenant = option(args, '--tenant') ?? client.tenants?.[0];
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ jti: randomUUID(), ...(tenant ? { tenant } : {}) })
    .setProtectedHeader({ alg, typ: 'JWT', kid })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(now + requested);
  if (client.sub !== undefined) jwt.setSubject(client.sub);
  await write(`${await jwt.sign(key)}\n`);
  return 0;
}
