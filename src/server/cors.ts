import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** `CROSSTALK_CORS_ORIGINS=*`: any origin (the development demo only; the configuration refuses it otherwise). */
export const ANY_ORIGIN = '*';

export interface CorsOptions {
  /** The allow-list, or `['*']` for any origin. Empty: no CORS grant at all. */
  origins: string[];
  methods: string[];
  /** Response headers a browser script may read beyond the safelisted ones. */
  exposedHeaders?: string[];
}

/**
 * CORS for the browser-based clients: CDS clients such as the CDS Hooks Sandbox, and SMART apps reading the
 * embedded FHIR server. Bearer tokens only, never cookies, so no credentials. It runs before anything that can
 * fail, so every answer an allowed origin gets, errors included, carries the headers. A preflight is answered
 * here, token or not; Chrome's Private Network Access preflight (a public page reaching this loopback service)
 * is granted to the same origins. An OPTIONS request from an origin without a grant still gets 204 and `Allow`
 * (never 405), just without CORS headers, so the browser refuses it.
 */
export function corsFor(opts: CorsOptions): RequestHandler {
  const any = opts.origins.includes(ANY_ORIGIN);
  const allowed = (origin: string | undefined) => !!origin && (any || opts.origins.includes(origin));
  const methods = [...new Set([...opts.methods, 'OPTIONS'])];
  const grant = cors({
    // Reflecting the origin (with Vary: Origin) rather than `*` satisfies every browser's rules, PNA included.
    origin: any ? true : opts.origins.length ? opts.origins : false,
    methods,
    allowedHeaders: ['Authorization', 'Content-Type'],
    ...(opts.exposedHeaders ? { exposedHeaders: opts.exposedHeaders } : {}),
    credentials: false,
    maxAge: 600,
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', methods.join(', '));
      if (req.headers['access-control-request-private-network'] === 'true' && allowed(req.headers.origin)) {
        res.setHeader('Access-Control-Allow-Private-Network', 'true');
      }
    }
    grant(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      next();
    });
  };
}
