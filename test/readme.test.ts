import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../src/server/config';

const readme = fs.readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
// The configuration reference moved from the README to hospital IT's docs; operating settings (metrics, rate limits,
// secrets files, PostgreSQL) are in the operating guide.
const configuration = fs.readFileSync(path.resolve(__dirname, '../docs/hospital-it/configuration.md'), 'utf8');
const operating = fs.readFileSync(path.resolve(__dirname, '../docs/hospital-it/operating.md'), 'utf8');
const ci = fs.readFileSync(path.resolve(__dirname, '../.ci/run'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('the configuration reference', () => {
  it('documents every configuration key the service reads, in the reference or the operating guide', () => {
    for (const key of CONFIG_KEYS) expect(configuration + operating, key).toContain(`\`${key}\``);
  });
});

describe('the README', () => {
  it('stays short: at most 300 lines, the rest in docs/', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('maps the docs for each reader: clinicians, hospital IT and developers', () => {
    for (const reader of ['clinicians', 'hospital-it', 'developers'])
      expect(readme, reader).toMatch(new RegExp(`\\]\\(docs/${reader}/[a-z-]+\\.md`));
  });

  it('gives the test command that .ci/run runs', () => {
    const command = /^npm ci && npm test\b/m;
    expect(readme).toMatch(command);
    expect(ci).toMatch(command);
    expect(pkg.scripts.test).toBeDefined();
  });

  it('gives a start command backed by a package script', () => {
    expect(readme).toMatch(/^npm ci && npm start\b/m);
    expect(pkg.scripts.start).toBeDefined();
  });
});
