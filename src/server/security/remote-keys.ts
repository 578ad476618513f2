import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface RemoteKeysPolicy {
  timeoutMs: number;
  /** Least time between two fetches of one set for one client, whatever their outcome (rate limit). */
  cooldownMs: number;
  /** A set older than this is fetched again before use. */
  maxAgeMs: number;
  /** Origins that may serve a key set over plain http (development and tests). */
  insecureOrigins: string[];
  now?: () => number;
}

/** Largest JWK Set read: a key set is a few kilobytes; more is not a key set. */
const MAX_JWKS_BYTES = 256 * 1024;

export class KeySetUnavailable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'KeySetUnavailable';
  }
}

/**
 * Whether a URL may serve keys: https, or http from an origin listed as insecure. No credentials in the URL, and
 * a fragment means nothing to a server.
 */
export function keySetUrlProblem(raw: string, insecureOrigins: string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (u.username || u.password) return 'carries credentials';
  if (u.hash) return 'has a fragment';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && insecureOrigins.includes(u.origin)) return undefined;
  return u.protocol === 'http:'
    ? 'is not https (list its origin in CROSSTALK_INSECURE_JWKS_ORIGINS for development)'
    : 'is not https';
}

/**
 * The allow-listed URL a token's jku names, compared as URLs (scheme, host case-insensitively, port, path and
 * query all equal), so `https://EHR.example.org:443/keys` is the listed `https://ehr.example.org/keys` and nothing
 * else is: not another path on the same host, not the same path on another host.
 */
export function allowListed(jku: string, listed: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(jku);
  } catch {
    return undefined;
  }
  return listed.find((l) => {
    const c = new URL(l);
    return c.origin === u.origin && c.pathname === u.pathname && c.search === u.search;
  });
}

/**
 * One client's JWK Set at one URL: fetched on first use, cached, fetched again when older than maxAge, and once
 * more when a token names a kid it does not hold (a rotation), but never twice within the cooldown, success or
 * failure. A refresh that fails keeps the keys already held; a kid that is still unknown fails.
 */
export class RemoteKeySet {
  private local?: JWTVerifyGetKey;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending?: Promise<void>;
  /** Fetches made (for tests and the log). */
  fetches = 0;

  constructor(
    readonly url: string,
    private readonly policy: RemoteKeysPolicy,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    const problem = keySetUrlProblem(url, policy.insecureOrigins);
    if (problem) throw new KeySetUnavailable(`JWKS URL ${problem}`);
  }

  private now(): number {
    return (this.policy.now ?? Date.now)();
  }

  private coolingDown(): boolean {
    return this.now() - this.attemptedAt < this.policy.cooldownMs;
  }

  private async fetchSet(): Promise<void> {
    this.attemptedAt = this.now();
    this.fetches += 1;
    const res = await this.fetchImpl(this.url, {
      method: 'GET',
      // A key set that moved is a configuration change, not something to follow.
      redirect: 'error',
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.policy.timeoutMs),
    }).catch((e: Error) => {
      throw new KeySetUnavailable(e.name === 'TimeoutError' ? 'JWKS fetch timed out' : 'JWKS fetch failed');
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new KeySetUnavailable(`JWKS answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_JWKS_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw new KeySetUnavailable('JWKS too large');
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new KeySetUnavailable('JWKS fetch failed');
    }
    if (text.length > MAX_JWKS_BYTES) throw new KeySetUnavailable('JWKS too large');
    let set: JSONWebKeySet;
    try {
      set = JSON.parse(text) as JSONWebKeySet;
      this.local = createLocalJWKSet(set);
    } catch {
      throw new KeySetUnavailable('JWKS is not a JWK Set');
    }
    this.fetchedAt = this.now();
  }

  /** One fetch at a time; callers that arrive during it wait for it. */
  private refresh(): Promise<void> {
    if (!this.pending)
      this.pending = this.fetchSet().finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.pending) await this.pending.catch(() => undefined);
    const stale = this.now() - this.fetchedAt >= this.policy.maxAgeMs;
    if ((!this.local || stale) && !this.coolingDown()) {
      try {
        await this.refresh();
      } catch (e) {
        if (!this.local) throw e;
      }
    }
    if (!this.local) throw new KeySetUnavailable('JWKS not fetched yet (cooling down after a failure)');
    try {
      return await this.local(header, token);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey) || this.coolingDown()) throw e;
    }
    // A kid this set does not hold: the EHR may have rotated its keys. One refetch, then the answer stands.
    await this.refresh();
    return (this.local as JWTVerifyGetKey)(header, token);
  };
}
