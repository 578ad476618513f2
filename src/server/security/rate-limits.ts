import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitPolicy {
  /** CDS requests per minute one trusted client (by iss) may make; 0: no limit. */
  clientPerMinute: number;
  /** Failed authentications per minute one remote address may make before it is turned away unread; 0: no limit. */
  failedAuthPerMinute: number;
}

const WINDOW_S = 60;

/**
 * What a limit said: go on (lastAllowed: this request used up the allowance, so the next ones wait), or wait this
 * many seconds (Retry-After).
 */
export type Verdict = { ok: true; lastAllowed?: { retryAfterS: number } } | { ok: false; retryAfterS: number };

const wait = (r: RateLimiterRes): number => Math.max(1, Math.ceil(r.msBeforeNext / 1000));

/**
 * The CDS port's rate limits (rate-limiter-flexible, in this replica's memory: with N replicas a client may make
 * N times the limit). Failed authentications count against the caller's address, so a flood of forged tokens is
 * turned away before any signature is checked, while a trusted client calling from another address is untouched;
 * authenticated calls count against their client, so one EHR cannot starve the others.
 */
export class RateLimits {
  private readonly perClient: RateLimiterMemory | undefined;
  private readonly failedAuth: RateLimiterMemory | undefined;

  constructor(private readonly policy: RateLimitPolicy) {
    this.perClient =
      policy.clientPerMinute > 0
        ? new RateLimiterMemory({ points: policy.clientPerMinute, duration: WINDOW_S, keyPrefix: 'client' })
        : undefined;
    this.failedAuth =
      policy.failedAuthPerMinute > 0
        ? new RateLimiterMemory({ points: policy.failedAuthPerMinute, duration: WINDOW_S, keyPrefix: 'failed' })
        : undefined;
  }

  /** Before any token work: an address that has used up its failures waits out its window. */
  async checkAddress(address: string): Promise<Verdict> {
    const r = await this.failedAuth?.get(address);
    if (!r || r.consumedPoints < this.policy.failedAuthPerMinute) return { ok: true };
    return { ok: false, retryAfterS: wait(r) };
  }

  /** One failed authentication from this address. */
  failed(address: string): Promise<Verdict> {
    return this.take(this.failedAuth, this.policy.failedAuthPerMinute, `failed ${address}`, address);
  }

  /** One authenticated request from this client. */
  client(iss: string): Promise<Verdict> {
    return this.take(this.perClient, this.policy.clientPerMinute, `client ${iss}`, iss);
  }

  /** Until when each exhausted allowance has been announced (lastAllowed), so it is announced once per window. */
  private readonly announced = new Map<string, number>();

  private async take(
    limiter: RateLimiterMemory | undefined,
    points: number,
    tag: string,
    key: string,
  ): Promise<Verdict> {
    if (!limiter) return { ok: true };
    let r: RateLimiterRes;
    try {
      r = await limiter.consume(key);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return { ok: false, retryAfterS: wait(e) };
    }
    // Concurrent requests may read the counter after one another's increments: >=, and announced once.
    if (r.consumedPoints < points) return { ok: true };
    const now = Date.now();
    if ((this.announced.get(tag) ?? 0) > now) return { ok: true };
    if (this.announced.size > 10_000)
      for (const [k, until] of this.announced) if (until <= now) this.announced.delete(k);
    this.announced.set(tag, now + r.msBeforeNext);
    return { ok: true, lastAllowed: { retryAfterS: wait(r) } };
  }
}
