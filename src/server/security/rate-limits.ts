import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitPolicy {
  /** CDS requests per minute one trusted client (by iss) may make; 0: no limit. */
  clientPerMinute: number;
  /** Failed authentications per minute one remote address may make before it is turned away unread; 0: no limit. */
  failedAuthPerMinute: number;
}

const WINDOW_S = 60;

/** What a limit said: go on, or wait this many seconds (Retry-After). */
export type Verdict = { ok: true } | { ok: false; retryAfterS: number; firstRefusal: boolean };

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
    return { ok: false, retryAfterS: wait(r), firstRefusal: false };
  }

  /** One failed authentication from this address; firstRefusal marks the failure that used up its allowance. */
  async failed(address: string): Promise<Verdict> {
    if (!this.failedAuth) return { ok: true };
    try {
      await this.failedAuth.consume(address);
      return { ok: true };
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return {
        ok: false,
        retryAfterS: wait(e),
        firstRefusal: e.consumedPoints === this.policy.failedAuthPerMinute + 1,
      };
    }
  }

  /** One authenticated request from this client. */
  async client(iss: string): Promise<Verdict> {
    if (!this.perClient) return { ok: true };
    try {
      await this.perClient.consume(iss);
      return { ok: true };
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      return { ok: false, retryAfterS: wait(e), firstRefusal: e.consumedPoints === this.policy.clientPerMinute + 1 };
    }
  }
}
