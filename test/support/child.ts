import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface ChildCrosstalk {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/**
 * `src/server/main.ts` in a process of its own (tsx loaded in-process, so a signal reaches the service
 * itself), on a random loopback port; resolves once it logs that it listens.
 */
export function spawnCrosstalk(env: Record<string, string>, timeoutMs = 30_000): Promise<ChildCrosstalk> {
  return spawnService({
    cwd: ROOT,
    args: ['--require', 'tsx/cjs', path.join(ROOT, 'src/server/main.ts')],
    // Development mode: these children are driven by tests without EHR JWTs.
    env: { CROSSTALK_DEV_MODE: 'true', CROSSTALK_DEV_FHIR_ORIGINS: 'http://127.0.0.1:*', ...env },
    timeoutMs,
  });
}

/**
 * Any Crosstalk entry point (`args` after the node binary, from `cwd`) on a random loopback port, with only PATH
 * inherited from this process's environment; resolves once it logs that it listens.
 */
export function spawnService(o: {
  cwd: string;
  args: string[];
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<ChildCrosstalk> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, o.args, {
    cwd: o.cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the test runner's worker ends first (a timed-out test), the child must not outlive it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', reap);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Crosstalk did not start within ${timeoutMs} ms:\n${out.slice(-3000)}`));
    }, timeoutMs);
    let started = false;
    const onData = (b: Buffer) => {
      out += b.toString();
      if (started) return;
      for (const line of out.split('\n')) {
        if (!line.includes('crosstalk listening')) continue;
        started = true;
        const { url } = JSON.parse(line) as { url: string };
        clearTimeout(timer);
        resolve({ url, child, exited, output: () => out });
        return;
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`Crosstalk exited (${code ?? signal}) before listening:\n${out.slice(-3000)}`));
    });
  });
}
