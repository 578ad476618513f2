import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { allowListed, KeySetUnavailable, RemoteKeySet } from './remote-keys';
import type { ReplayCache } from './replay';
import { DEFAULT_ALGORITHMS, type TrustedClient } from './trusted-clients';

export interface JwtPolicy {
  clockSkewS: number;
  maxLifetimeS: number;
  jwksTimeoutMs: number;
  jwksCooldownS: number;
  /** Origins allowed to serve a JWK Set over http (CROSSTALK_INSECURE_JWKS_ORIGINS); https otherwise. */
  insecureJwksOrigins?: string[];
}

/** Who called, once the JWT checked out. */
export interface AuthenticatedClient {
  client: TrustedClient;
  iss: string;
  jti: string;
  tenant?: string;
}

/** The reason stays in the log; the caller only ever sees a bare 401. */
export class AuthFailure extends Error {
  constructor(
    readonly reason: string,
    readonly iss?: string,
    readonly jti?: string,
  ) {
    super(reason);
    this.name = 'AuthFailure';
  }
}

/**
 * The token could not be checked because something it depends on is down (the replay cache's store): not
 * the caller's fault, so not an authentication failure. The caller hears 503 and may try again.
 */
export class VerifierUnavailable extends Error {
  constructor(
    readonly what: string,
    readonly iss?: string,
  ) {
    super(`${what} unavailable`);
    this.name = 'VerifierUnavailable';
  }
}

const FORBIDDEN_ALG = /^(none|HS\d+)$/i;

/**
 * Verifies CDS Hooks client JWTs (CDS Hooks 2.0, 'Trusting CDS Clients') with jose. Keys come from
 * inline JWK Sets or from allow-listed JWKS URLs only (remote-keys.ts: cached per client and URL, refetched on an
 * unknown kid at most once per cooldown).
 */
export class JwtVerifier {
  private readonly byIss: Map<string, TrustedClient>;
  private readonly remote = new Map<string, RemoteKeySet>();
  private readonly local = new Map<string, JWTVerifyGetKey>();

  constructor(
    clients: TrustedClient[],
    private readonly policy: JwtPolicy,
    private readonly replay: ReplayCache,
    private readonly now: () => number = Date.now,
  ) {
    this.byIss = new Map(clients.map((c) => [c.iss, c]));
  }

  private keysFor(client: TrustedClient, jku: string | undefined): JWTVerifyGetKey {
    if (jku !== undefined) {
      // A jku is only ever fetched if the operator listed it for this very issuer; the listed URL is what is fetched.
      const listed = allowListed(jku, client.jwksUrls ?? []);
      if (!listed) throw new AuthFailure('jku not allow-listed for issuer', client.iss);
      return this.remoteSet(client, listed);
    }
    if (client.jwks) {
      let set = this.local.get(client.iss);
      if (!set) {
        set = createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0]);
        this.local.set(client.iss, set);
      }
      return set;
    }
    const url = client.jwksUrls?.[0];
    if (!url) throw new AuthFailure('no keys configured for issuer', client.iss);
    return this.remoteSet(client, url);
  }

  /** Per client and URL: one EHR's unknown kids never spend another's refetch allowance. */
  private remoteSet(client: TrustedClient, url: string): JWTVerifyGetKey {
    const key = `${client.iss}\u0000${url}`;
    let set = this.remote.get(key);
    if (!set) {
      try {
        set = new RemoteKeySet(url, {
          timeoutMs: this.policy.jwksTimeoutMs,
          cooldownMs: this.policy.jwksCooldownS * 1000,
          maxAgeMs: 600_000,
          insecureOrigins: this.policy.insecureJwksOrigins ?? [],
          now: this.now,
        });
      } catch (e) {
        throw new AuthFailure((e as Error).message, client.iss);
      }
      this.remote.set(key, set);
    }
    return set.getKey;
  }

  /** How often each client's key sets were fetched (tests; never a key). */
  keySetFetches(): Record<string, number> {
    return Object.fromEntries([...this.remote.entries()].map(([k, s]) => [k.replace('\u0000', ' '), s.fetches]));
  }

  /** `audience` is the public URL of the endpoint called. */
  async verify(authorization: string | undefined, audience: string): Promise<AuthenticatedClient> {
    // The scheme name is case-insensitive (RFC 6750 section 2.1, RFC 9110 section 11.1): `bearer` and `BEARER` are Bearer.
    const m = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(authorization ?? '');
    if (!m) throw new AuthFailure(authorization ? 'malformed Authorization header' : 'no bearer token');
    const token = m[1] as string;

    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new AuthFailure('token not decodable');
    }
    const iss = typeof unverified.iss === 'string' ? unverified.iss : undefined;
    const jti = typeof unverified.jti === 'string' ? unverified.jti : undefined;
    if (typeof header.alg !== 'string' || FORBIDDEN_ALG.test(header.alg))
      throw new AuthFailure(`forbidden alg ${String(header.alg)}`, iss, jti);
    if (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')
      throw new AuthFailure('typ is not JWT', iss, jti);
    if (typeof header.kid !== 'string' || !header.kid) throw new AuthFailure('no kid', iss, jti);
    if (!iss) throw new AuthFailure('no iss');
    const client = this.byIss.get(iss);
    if (!client) throw new AuthFailure('untrusted iss', iss, jti);
    const algorithms = client.algorithms ?? DEFAULT_ALGORITHMS;
    if (!algorithms.includes(header.alg as (typeof algorithms)[number]))
      throw new AuthFailure(`alg ${header.alg} not allowed for issuer`, iss, jti);

    // The unverified claims may only ever reject: a token that must fail on them costs no signature check (forged
    // tokens are cheap to send and expensive to verify). jwtVerify checks them all again on the verified payload.
    const nowS = this.now() / 1000;
    if (typeof unverified.exp !== 'number' || unverified.exp + this.policy.clockSkewS < nowS)
      throw new AuthFailure('expired or no exp (checked before the signature)', iss, jti);
    const auds = Array.isArray(unverified.aud) ? unverified.aud : [unverified.aud];
    if (!auds.includes(audience))
      throw new AuthFailure(
        `aud mismatch: expected ${audience}, token has ${JSON.stringify(unverified.aud)}`.slice(0, 600),
        iss,
        jti,
      );
    if (!jti) throw new AuthFailure('no jti', iss);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        this.keysFor(client, typeof header.jku === 'string' ? header.jku : undefined),
        {
          algorithms,
          issuer: iss,
          audience,
          typ: 'JWT',
          clockTolerance: this.policy.clockSkewS,
          // With maxTokenAge jose requires iat and rejects an iat in the future (beyond the skew).
          maxTokenAge: this.policy.maxLifetimeS,
          requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
          currentDate: new Date(this.now()),
        },
      ));
    } catch (e) {
      if (e instanceof AuthFailure) throw e;
      if (e instanceof KeySetUnavailable) throw new AuthFailure(e.message, iss, jti);
      const err = e as { code?: string; message?: string; claim?: string };
      // The commonest set-up mistake (PUBLIC_BASE_URL not the URL the EHR calls): say what was expected.
      if (err.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && err.claim === 'aud') {
        const got = unverified.aud;
        throw new AuthFailure(
          `aud mismatch: expected ${audience}, token has ${JSON.stringify(got)}`.slice(0, 600),
          iss,
          jti,
        );
      }
      throw new AuthFailure(`${err.code ?? 'verify failed'}: ${err.message ?? ''}`.slice(0, 200), iss, jti);
    }
    const exp = payload.exp as number;
    const iat = payload.iat as number;
    if (exp - iat > this.policy.maxLifetimeS) throw new AuthFailure('token lifetime exceeds the cap', iss, jti);
    if (typeof payload.jti !== 'string' || !payload.jti) throw new AuthFailure('no jti', iss);
    const tenant = typeof payload.tenant === 'string' ? payload.tenant : undefined;
    if (client.tenants && (!tenant || !client.tenants.includes(tenant)))
      throw new AuthFailure('tenant not allowed', iss, payload.jti);
    if (client.sub !== undefined && payload.sub !== client.sub)
      throw new AuthFailure('sub does not match', iss, payload.jti);
    let fresh: boolean;
    try {
      fresh = await this.replay.remember(`${iss}\u0000${payload.jti}`, (exp + this.policy.clockSkewS) * 1000);
    } catch {
      throw new VerifierUnavailable('jti replay store', iss);
    }
    if (!fresh) throw new AuthFailure('jti replayed', iss, payload.jti);
    return { client, iss, jti: payload.jti, ...(tenant ? { tenant } : {}) };
  }
}
