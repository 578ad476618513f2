import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleReads } from './rule-reads';

/** A rule folder of two files: the rule and a helper it imports. */
function folder(rule: string, helper: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rule-reads-'));
  fs.writeFileSync(path.join(dir, 'r.ts'), rule);
  fs.writeFileSync(path.join(dir, 'helper.ts'), helper);
  return dir;
}

describe('what a rule reads, found in its code', () => {
  it('follows the helpers a rule imports and finds the domains, fields, analytes, measures and patient facts they read', () => {
    const dir = folder(
      "import { x } from './helper';\nexport const rule = (ctx) => missing(ctx.context, 'vitamin-d') && ctx.ageNow > 50;",
      "export const x = (ctx) => ctx.context.observedConditions.length + findMeasure(ctx.measures, 'egfr-cr-2021') + (ctx.patient.sex === 'female') + 'creatinine';",
    );
    expect(ruleReads(dir, 'r')).toEqual({
      domains: ['vitamin-d', 'thyroid-labs', 'pregnancy-tests'],
      analytes: ['creatinine', 'vitamin-d'],
      measures: ['egfr-cr-2021'],
      patient: ['sex', 'birthDate'],
    });
  });

  it('does not count what only a comment names', () => {
    const dir = folder("// reads 'pregnancy-tests' and ctx.patient.sex\n/* 'crp' */\nexport const rule = 1;", '');
    expect(ruleReads(dir, 'r')).toEqual({ domains: [], analytes: [], measures: [], patient: [] });
  });
});
