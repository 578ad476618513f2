import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { operationOutcome, RETRY_AFTER_S } from '../../cds/outcomes';
import { EgressPolicy, type OriginRule } from '../../fhir/egress';
import { type AuthenticatedClient, AuthFailure, type JwtVerifier, VerifierUnavailable } from './jwt';

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
}

const UNAUTHORIZED = JSON.stringify(operationOutcome('login', 'Authentication failed.'));
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
    const audience = `${o.publicBaseUrl}${req.originalUrl.split('?')[0]}`;
    try {
      const client = await o.verifier.verify(req.headers.authorization, audience);
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
      o.logger.warn(
        { event: 'auth-failed', reason: f.reason, iss: f.iss, jti: f.jti, path: req.baseUrl + req.path },
        'authentication failed',
      );
      res.status(401).set('WWW-Authenticate', 'Bearer').type('application/fhir+json').send(UNAUTHORIZED);
    }
  };
}
