import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../cds/outcomes';
import { contentSecurityPolicy, staticBundle } from './web';

function serve(folder: string) {
  const app = express();
  app.use(
    '/x',
    staticBundle(folder, () => contentSecurityPolicy(['https:'])),
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpProblem) res.status(err.status).json(err.outcome);
    else res.status(500).end();
  });
  return app;
}

describe('serving a browser bundle', () => {
  it('says how to build it, as an OperationOutcome, when it was never built', async () => {
    const res = await request(serve('never-built')).get('/x/index.html');
    expect(res.status).toBe(503);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].details.text).toContain('npm run build:web');
  });

  it('allows scripts, styles and connections from its own origin only, plus what it is told', () => {
    const csp = contentSecurityPolicy(['https:'], "'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self' https:;");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*\./);
  });
});
