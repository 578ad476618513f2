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

interface NamedTest {
  file: string;
  name?: string;
  /** Written as "pending merge of branch …": the test is on a branch not merged yet, so it may not exist here. */
  pendingMerge: boolean;
}

/**
 * `` `src/x.test.ts` › “test name” `` or a bare `` `src/x.test.ts` ``, in clauses separated by ";". Test names are
 * quoted with “ ” because they often contain straight quotes themselves.
 */
export function namedTests(body: string): NamedTest[] {
  const out: NamedTest[] = [];
  for (const clause of body.split(/;\s/)) {
    const pendingMerge = /pending merge of branch/.test(clause);
    for (const m of clause.matchAll(/`([\w./-]+\.test\.ts)`(?: › “([^”]+)”)?/g)) {
      out.push({ file: m[1] ?? '', ...(m[2] ? { name: m[2] } : {}), pendingMerge });
    }
  }
  return out;
}

const log = fs.existsSync(LOG) ? fs.readFileSync(LOG, 'utf8') : '';
const anchors = new Set(
  [...(fs.existsSync(EVIDENCE) ? fs.readFileSync(EVIDENCE, 'utf8') : '').matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map(
    (m) => m[1],
  ),
);

describe('the hazard log', () => {
  it('reads the test a hazard names, with or without a test name', () => {
    const body =
      '- **Test**: `src/a.test.ts` › “reads "<5 mg/L"”; `test/b.test.ts`; pending merge of branch x: `src/c.test.ts` › “y”; more: test: pending.';
    expect(namedTests(body)).toEqual([
      { file: 'src/a.test.ts', name: 'reads "<5 mg/L"', pendingMerge: false },
      { file: 'test/b.test.ts', pendingMerge: false },
      { file: 'src/c.test.ts', name: 'y', pendingMerge: true },
    ]);
  });

  it('exists and lists hazards', () => {
    expect(fs.existsSync(LOG), 'docs/safety/hazard-log.md is missing').toBe(true);
    expect(hazards(log).length).toBeGreaterThanOrEqual(20);
  });

  it('gives every hazard a cause, effect, severity, likelihood, control, and a test or "test: pending"', () => {
    const incomplete = hazards(log)
      .filter(
        (h) =>
          !['**Cause**', '**Effect**', '**Severity**', '**Likelihood / risk**', '**Control**', '**Test**'].every((f) =>
            h.body.includes(f),
          ) ||
          (namedTests(h.body).length === 0 && !h.body.includes('test: pending')),
      )
      .map((h) => h.id);
    expect(incomplete).toEqual([]);
  });

  it('names only test files that exist, holding the test it names (tests on unmerged branches excepted, as marked)', () => {
    const broken: string[] = [];
    for (const h of hazards(log)) {
      for (const t of namedTests(h.body).filter((x) => !x.pendingMerge)) {
        const file = path.join(PROJECT_ROOT, t.file);
        if (!fs.existsSync(file)) broken.push(`${h.id}: ${t.file} does not exist`);
        else if (t.name && !flat(fs.readFileSync(file, 'utf8')).includes(t.name))
          broken.push(`${h.id}: ${t.file} has no test named "${t.name}"`);
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
