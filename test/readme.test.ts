import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../src/server/config';

const readme = fs.readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
// Operating settings (metrics, rate limits, secrets files, PostgreSQL) are documented in hospital IT's guide.
const operating = fs.readFileSync(path.resolve(__dirname, '../docs/hospital-it/operating.md'), 'utf8');
const ci = fs.readFileSync(path.resolve(__dirname, '../.ci/run'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('the README', () => {
  it('documents every configuration key the service reads, itself or in the operating guide', () => {
    for (const key of CONFIG_KEYS) expect(readme + operating, key).toContain(`\`${key}\``);
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
