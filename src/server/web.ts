import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { HttpProblem, operationOutcome } from '../cds/outcomes';
import { PROJECT_ROOT } from '../config/paths';

/** Where `npm run build:web` writes the browser bundles (the SMART app and the demo EHR). */
export const WEB_DIR = path.join(PROJECT_ROOT, 'dist', 'web');

/**
 * A page that loads only what its own origin serves: no CDN, no inline script (hospital networks block
 * outside requests, and this keeps it that way). `connect` lists what fetch may reach beyond 'self'.
 */
export function contentSecurityPolicy(connect: string[] = [], frameAncestors = '*'): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${["'self'", ...connect].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/**
 * Serves one folder of built browser files. When the bundle was never built, says how to build it
 * (an OperationOutcome, like every other error) instead of a bare 404.
 */
export function staticBundle(folder: string, csp: () => string): Router {
  const dir = path.join(WEB_DIR, folder);
  const router = express.Router();
  router.use((_req, res, next) => {
    if (!fs.existsSync(dir)) {
      throw new HttpProblem(
        503,
        operationOutcome(
          'not-found',
          `The ${folder} bundle has not been built: run \`npm run build:web\` (npm start does).`,
        ),
      );
    }
    res.set('Content-Security-Policy', csp());
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    next();
  });
  // Revalidate every time: a redeploy must never leave a stale app next to a new server.
  router.use(
    express.static(dir, {
      index: 'index.html',
      redirect: false,
      cacheControl: false,
      setHeaders: (res) => res.set('Cache-Control', 'no-cache'),
    }),
  );
  return router;
}
