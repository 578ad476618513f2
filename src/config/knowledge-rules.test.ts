import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from './knowledge-file';

const site = (over: object) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-site-')), 'site.json');
  fs.writeFileSync(file, JSON.stringify(over));
  return file;
};

describe('rule data checked at start-up', () => {
  it('refuses two rules with one precedence, naming both', () => {
    expect(() => loadKnowledgeSync(site({ rules: { 'low-ccr': { precedence: 10 } } }))).toThrow(
      /rules\.(low-ccr|glucocorticoid-bone)\.precedence: 10 is also the precedence of (glucocorticoid-bone|low-ccr)/,
    );
  });

  it('refuses a hook that does not exist and a context line attached to a rule that does not exist', () => {
    expect(() => loadKnowledgeSync(site({ rules: { 'low-ccr': { hooks: ['order-dispatch'] } } }))).toThrow(
      /\/rules\/low-ccr\/hooks\/0 must be equal to one of the allowed values/,
    );
    expect(() => loadKnowledgeSync(site({ rules: { 'vitamin-d-context': { attachTo: ['low-crr'] } } }))).toThrow(
      /rules\.vitamin-d-context\.attachTo: "low-crr" is not a rule/,
    );
  });

  it('finds every list of code-set names through the schema, including the open list of CCR confounder groups', () => {
    expect(() =>
      loadKnowledgeSync(site({ rules: { 'low-ccr': { confounders: { conditions: { gout: ['gout'] } } } } })),
    ).toThrow(/rules\.low-ccr\.confounders\.conditions\.gout: "gout" is not a concept or group/);
    expect(() => loadKnowledgeSync(site({ osteoporosisTherapy: ['vitamin-c'] }))).toThrow(
      /^osteoporosisTherapy: "vitamin-c"/,
    );
  });
});
