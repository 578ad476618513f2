import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { operationOutcome, RETRY_AFTER_S } from '../../cds/outcomes';
import { EgressPolicy, type OriginRule } from '../../fhir/egress';
import { type AuthenticatedClient, AuthFailure, type JwtVerifier, VerifierUnavailable } from './jwt';
import type { RateLimits, Verdict } from './rate-limits';

/** What the rest of a CDS call knows about its caller. */
export interface Caller {
  /** Absent in development mode. */
  client?: AuthenticatedClient;
  egress: EgressPolicy;
}

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

export interface AuthOptions {
  devMode: boolean;
  verifier?: JwtVerifier;
  publicBaseUrl: string;
  insecureFhirOrigins: string[];
  /** Origins a development-mode call may read FHIR from (they are insecure-allowed by nature). */
  devFhirOrigins: () => string[];
  logger: Logger;
  /** Outside development mode: failed authentications per address, requests per trusted client. */
  rateLimits?: RateLimits;
}

const UNAUTHORIZED = JSON.stringify(operationOutcome('login', 'Authentication failed.'));
const THROTTLED = JSON.stringify(operationOutcome('throttled', 'Too many requests. Try again after Retry-After.'));
const STORE_DOWN = JSON.stringify(
  operationOutcome(
    'transient',
    'The request could not be checked for replay: the store is unavailable. Try again shortly.',
  ),
);

/**
 * Every CDS endpoint (discovery, services, feedback) requires a valid client JWT whose `aud` is the
 * public URL called. A failure answers a bare 401 OperationOutcome; the reason goes to the log only.
 */
export function authenticate(o: AuthOptions) {
  const devEgress = new EgressPolicy(() =>
    o.devFhirOrigins().map((origin): OriginRule => ({ origin, insecure: true })),
  );
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (req.method === 'OPTIONS') return next();
    if (o.devMode || !o.verifier) {
      res.locals.caller = { egress: devEgress } satisfies Caller;
      return next();
    }
    // req.ip follows express's trust proxy setting: the socket's peer unless a trusted proxy is configured.
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const throttle = (v: { retryAfterS: number }) => {
      res.status(429).set('Retry-After', String(v.retryAfterS)).type('application/fhir+json').send(THROTTLED);
    };
    // Logged once per window, when the allowance runs out: a flood must not fill the log line by line.
    const noteExhausted = (v: Verdict, limit: 'failed-auth' | 'client', iss?: string) => {
      if (v.ok && v.lastAllowed)
        o.logger.warn(
          { event: 'rate-limited', limit, ...(iss ? { iss } : { address }), retryAfterS: v.lastAllowed.retryAfterS },
          'rate limit reached: further requests are answered 429 until the window passes',
        );
    };
    const limits = o.rateLimits;
    // Before any token work: an address that sent too many bad tokens costs no signature check until it waits.
    const blocked = limits ? await limits.checkAddress(address) : { ok: true as const };
    if (!blocked.ok) return throttle(blocked);
    const audience = `${o.publicBaseUrl}${req.originalUrl.split('?')[0]}`;
    try {
      const client = await o.verifier.verify(req.headers.authorization, audience);
      const allowed = limits ? await limits.client(client.iss) : { ok: true as const };
      if (res.headersSent) return;
      if (!allowed.ok) return throttle(allowed);
      noteExhausted(allowed, 'client', client.iss);
      const rules = client.client.fhirServerOrigins.map(
        (origin): OriginRule => ({ origin, insecure: o.insecureFhirOrigins.includes(origin) }),
      );
      res.locals.caller = { client, egress: new EgressPolicy(() => rules) } satisfies Caller;
      next();
    } catch (e) {
      if (res.headersSent) return; // the request budget already answered
      if (e instanceof VerifierUnavailable) {
        o.logger.error(
          { event: 'auth-unavailable', what: e.what, iss: e.iss, path: req.baseUrl + req.path },
          'cannot authenticate: store unavailable',
        );
        res.status(503).set('Retry-After', String(RETRY_AFTER_S)).type('application/fhir+json').send(STORE_DOWN);
        return;
      }
      const f = e instanceof AuthFailure ? e : new AuthFailure('verifier error');
      const counted = limits ? await limits.failed(address) : { ok: true as const };
      if (res.headersSent) return;
      // Past the allowance the failures are not logged one by one: a flood would fill the log.
      if (!counted.ok) return throttle(counted);
      noteExhausted(counted, 'failed-auth');
      o.logger.warn(
        { event: 'auth-failed', reason: f.reason, iss: f.iss, jti: f.jti, path: req.baseUrl + req.path },
        'authentication failed',
      );
      res.status(401).set('WWW-Authenticate', 'Bearer').type('application/fhir+json').send(UNAUTHORIZED);
    }
  };
}
