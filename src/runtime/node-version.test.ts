import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { enginesRange, unsupportedNode } from './node-version';

const ROOT = path.resolve(__dirname, '../..');
const engines = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
  .engines.node;

/** Runs an entry point on this Node with process.version rewritten before anything loads, as an old Node reports it. */
function runAs(version: string, entry: string, args: string[] = []) {
  const preload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'node-version-')), 'old-node.cjs');
  fs.writeFileSync(preload, `Object.defineProperty(process, 'version', { value: ${JSON.stringify(version)} });\n`);
  return spawnSync(process.execPath, ['--require', preload, '--require', 'tsx/cjs', path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', CROSSTALK_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'nv-data-')) },
    timeout: 60_000,
  });
}

describe('the Node.js version check', () => {
  it("reads the range from package.json's engines, the one place it is written", () => {
    expect(enginesRange(__dirname)).toBe(engines);
  });

  it('accepts a Node inside the range and names the range and the fix for one outside it', () => {
    expect(unsupportedNode('v24.0.0', '>=24.0.0')).toBeUndefined();
    expect(unsupportedNode('v25.1.0', '>=24.0.0')).toBeUndefined();
    const why = unsupportedNode('v20.20.2', '>=24.0.0');
    expect(why).toContain('Node.js v20.20.2 is not supported');
    expect(why).toContain('>=24.0.0');
    expect(why).toContain('bin/use-node24.sh');
  });

  it('stops the server on an old Node with a message and exit 1, before the store (a native module) loads', () => {
    const r = runAs('v20.20.2', 'src/server/main.ts', ['--demo']);
    expect(r.status).toBe(1);
    expect(r.signal).toBeNull();
    expect(r.stderr).toContain('crosstalk: cannot start: Node.js v20.20.2 is not supported');
    // Nothing started: no listening line, no store opened.
    expect(r.stdout).not.toContain('listening');
  });

  it('stops the command-line tool the same way', () => {
    const r = runAs('v18.19.0', 'src/cli/main.ts', ['demo-bundle']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Node.js v18.19.0 is not supported');
    expect(r.stdout).toBe('');
  });
});
