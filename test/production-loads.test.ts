/*
 * The demo is a plugin: a production process never loads it. The production entry point (src/server/main.ts)
 * runs in a child process, is asked over IPC which modules it has loaded once it listens, and must have loaded
 * neither medplum nor anything under src/demo/. The demo profile, started the same way, must load both: the
 * check would see them if they were there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-loads-'));
// Preloaded into the child: answers "modules" with every file in require.cache (tsx compiles the sources to CommonJS).
const REPORTER = path.join(tmp, 'report-modules.cjs');
fs.writeFileSync(
  REPORTER,
  "process.on('message', (m) => { if (m === 'modules') process.send(Object.keys(require.cache)); });\n",
);

const DEMO_CODE = /[\\/]src[\\/]demo[\\/]/;
const MEDPLUM = /[\\/]node_modules[\\/]@medplum[\\/]/;

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Starts src/server/main.ts with `args`, waits until it listens, and returns the files it has loaded. */
async function loadedModules(args: string[], env: Record<string, string>): Promise<string[]> {
  const child = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', '--require', REPORTER, path.join(ROOT, 'src/server/main.ts'), ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start:\n${out.slice(-2000)}`)), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('crosstalk listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening:\n${out.slice(-2000)}`));
    });
  });
  const modules = await new Promise<string[]>((resolve) => {
    child.once('message', (m) => resolve(m as string[]));
    child.send('modules');
  });
  child.kill('SIGTERM');
  return modules;
}

describe('what a process loads in each profile', () => {
  it('loads neither medplum nor any demo module when started in production mode', { timeout: 90_000 }, async () => {
    const modules = await loadedModules([], {
      CROSSTALK_TRUSTED_CLIENTS: path.join(ROOT, 'deploy/trusted-clients.example.json'),
      CROSSTALK_AUDIT_HMAC_KEY: 'k'.repeat(32),
      CROSSTALK_DATA_DIR: path.join(tmp, 'production'),
    });
    // The server itself is loaded: the list is the real one, not an empty answer.
    expect(modules.some((m) => m.endsWith(path.join('src', 'server', 'start.ts')))).toBe(true);
    expect(modules.filter((m) => DEMO_CODE.test(m) || MEDPLUM.test(m))).toEqual([]);
  });

  it('loads the demo through its own entry point, and medplum with it, when started with --demo', {
    timeout: 90_000,
  }, async () => {
    const modules = await loadedModules(['--demo'], { CROSSTALK_DATA_DIR: path.join(tmp, 'demo') });
    expect(modules.some((m) => m.endsWith(path.join('src', 'demo', 'plugin.ts')))).toBe(true);
    expect(modules.some((m) => MEDPLUM.test(m))).toBe(true);
  });

  it('has no production source that imports from src/demo/', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (p !== path.join(ROOT, 'src', 'demo')) walk(p);
        } else if (/\.ts$/.test(e.name) && !/\.test\.ts$|^test-/.test(e.name)) {
          const text = fs.readFileSync(p, 'utf8');
          if (/\b(?:from|import|require)\s*\(?\s*['"][./]+demo\//.test(text)) offenders.push(path.relative(ROOT, p));
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
