import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './paths';

/**
 * The hazard log is only as good as the tests it names: a control "proven" by a test file that was renamed or a
 * test that was reworded proves nothing. Names are compared with whitespace collapsed, as the log wraps lines.
 */

const LOG = path.join(PROJECT_ROOT, 'docs', 'safety', 'hazard-log.md');
const EVIDENCE = path.join(PROJECT_ROOT, 'docs', 'evidence.md');
const flat = (s: string) => s.replace(/\s+/g, ' ');

interface Hazard {
  id: string;
  body: string;
}

export function hazards(markdown: string): Hazard[] {
  return markdown
    .split(/^### /m)
    .slice(1)
    .filter((s) => /^H\d+\b/.test(s))
    .map((s) => ({ id: /^(H\d+)/.exec(s)?.[1] ?? '', body: flat(s) }));
}

/** `` `src/x.test.ts` › "test name" `` or a bare `` `src/x.test.ts` ``. */
export function namedTests(body: string): Array<{ file: string; name?: string }> {
  const out: Array<{ file: string; name?: string }> = [];
  for (const m of body.matchAll(/`([\w./-]+\.test\.ts)`(?: › "([^"]+)")?/g)) out.push({ file: m[1] ?? '', ...(m[2] ? { name: m[2] } : {}) });
  return out;
}

const log = fs.existsSync(LOG) ? fs.readFileSync(LOG, 'utf8') : '';
const anchors = new Set([...(fs.existsSync(EVIDENCE) ? fs.readFileSync(EVIDENCE, 'utf8') : '').matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map((m) => m[1]));

describe('the hazard log', () => {
  it('reads the test a hazard names, with or without a test name', () => {
    expect(namedTests('- **Test**: `src/a.test.ts` › "does x"; `test/b.test.ts`; more: test: pending.')).toEqual([
      { file: 'src/a.test.ts', name: 'does x' },
      { file: 'test/b.test.ts' },
    ]);
  });

  it('exists and lists hazards', () => {
    expect(fs.existsSync(LOG), 'docs/safety/hazard-log.md is missing').toBe(true);
    expect(hazards(log).length).toBeGreaterThanOrEqual(20);
  });

  it('gives every hazard a cause, effect, severity, likelihood, control, and a test or "test: pending"', () => {
    const incomplete = hazards(log)
      .filter((h) => !['**Cause**', '**Effect**', '**Severity**', '**Likelihood / risk**', '**Control**', '**Test**'].every((f) => h.body.includes(f))
        || (namedTests(h.body).length === 0 && !h.body.includes('test: pending')))
      .map((h) => h.id);
    expect(incomplete).toEqual([]);
  });

  it('names only test files that exist, holding the test it names', () => {
    const broken: string[] = [];
    for (const h of hazards(log)) {
      for (const t of namedTests(h.body)) {
        const file = path.join(PROJECT_ROOT, t.file);
        if (!fs.existsSync(file)) broken.push(`${h.id}: ${t.file} does not exist`);
        else if (t.name && !flat(fs.readFileSync(file, 'utf8')).includes(t.name)) broken.push(`${h.id}: ${t.file} has no test named "${t.name}"`);
      }
    }
    expect(broken, broken.join('\n')).toEqual([]);
  });

  it('cites only evidence entries that exist', () => {
    const dangling = [...log.matchAll(/\[evidence:\s*([^\]]*)\]/g)]
      .flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()))
      .filter((id) => !anchors.has(id));
    expect(dangling).toEqual([]);
  });
});
