import fs from 'node:fs';
import path from 'node:path';
import { DEMO_PATIENTS } from '../../src/demo/patients';

/*
 * Vitest global setup: before the run, empty the log directory; after it, read every line every
 * Crosstalk instance logged during the whole suite and fail the run if a token, a JWT, a bearer
 * header or a patient identifier is in any of them.
 */
const DIR = path.resolve(__dirname, '../../test-artifacts/logs');

/** Secrets the suites hand to the service: none may ever be logged. */
const SECRETS = ['fhir-access-token-XYZ', 'leak-me-not', 'secret-tok', 'tok-123', 'demo-token'];

export function findLeaks(text: string): string[] {
  const leaks: string[] = [];
  if (/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/.test(text)) leaks.push('a JWT');
  if (/Bearer\s+[A-Za-z0-9._-]{8,}/.test(text)) leaks.push('a bearer header');
  for (const s of SECRETS) if (text.includes(s)) leaks.push(`the token ${s}`);
  for (const p of DEMO_PATIENTS) if (text.includes(p.id)) leaks.push(`the patient id ${p.id}`);
  return leaks;
}

export function setup(): () => void {
  // Listed by the integration and browser projects: the first one clears and audits the logs of both.
  if (process.env.CROSSTALK_TEST_LOG_AUDIT) return () => {};
  process.env.CROSSTALK_TEST_LOG_AUDIT = '1';
  fs.rmSync(DIR, { recursive: true, force: true });
  return () => {
    if (!fs.existsSync(DIR)) return;
    const files = fs.readdirSync(DIR);
    const text = files.map((f) => fs.readFileSync(path.join(DIR, f), 'utf8')).join('');
    const leaks = findLeaks(text);
    const lines = text.split('\n').filter(Boolean).length;
    if (leaks.length) throw new Error(`service logs of this run leak: ${[...new Set(leaks)].join(', ')}`);
    process.stdout.write(
      `log audit: ${lines} log lines from ${files.length} service instances, no token, JWT or patient id\n`,
    );
  };
}
