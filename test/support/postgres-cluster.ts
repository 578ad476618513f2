/*
 * vitest globalSetup: a real PostgreSQL server for the store suites, arranged by `npm test` itself so a
 * fresh machine (`npm ci && npm test`, .ci/run) needs nothing else.
 *
 * - TEST_DATABASE_URL (or DATABASE_URL) naming PostgreSQL: used as it is. Its role must be allowed to
 *   CREATE DATABASE, because every suite gets a database of its own.
 * - Otherwise: a throwaway cluster (initdb) in a temporary directory, listening on 127.0.0.1 on a free
 *   port with trust authentication, stopped and deleted when the run ends. It leaves the machine's own
 *   cluster (pg_ctlcluster 15 main) and its authentication alone. PostgreSQL refuses to run as root, so
 *   as root the cluster runs as the `postgres` system user that Debian's package creates.
 * - No PostgreSQL binaries: as root, `apt-get install postgresql` (announced loudly); otherwise the run
 *   stops with instructions. The store suites never silently skip PostgreSQL.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL URL whose role may create databases. */
    postgresAdminUrl: string;
  }
}

const loud = (msg: string) => process.stderr.write(`\n*** crosstalk tests: ${msg}\n\n`);

function findBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  // Debian keeps the server binaries off PATH, one directory per major version; newest first.
  const lib = '/usr/lib/postgresql';
  if (fs.existsSync(lib)) {
    for (const v of fs.readdirSync(lib).sort((a, b) => Number(b) - Number(a)))
      candidates.push(path.join(lib, v, 'bin'));
  }
  for (const p of (process.env.PATH ?? '').split(path.delimiter)) candidates.push(p);
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
}

function installPostgres(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'PostgreSQL is needed by the store tests and is not installed. Install it (Debian: apt-get install postgresql) ' +
        'or set TEST_DATABASE_URL=postgres://user:password@host:port/db for a server whose role may CREATE DATABASE.',
    );
  }
  loud('PostgreSQL server binaries not found: installing Debian package "postgresql" with apt-get (root).');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { stdio: 'inherit', env });
}

/** uid/gid to run the server as: ourselves, or as root the `postgres` user (else `nobody`). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'));
  const entry = passwd.find((f) => f[0] === 'postgres') ?? passwd.find((f) => f[0] === 'nobody');
  if (!entry)
    throw new Error('running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function chownTree(dir: string, user: { uid: number; gid: number }): void {
  fs.chownSync(dir, user.uid, user.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, user);
    else fs.chownSync(p, user.uid, user.gid);
  }
}

/** Also used by bench/store.bench.ts. */
export async function startThrowawayCluster(): Promise<{ url: string; stop: () => void }> {
  let bin = findBinDir();
  if (!bin) {
    installPostgres();
    bin = findBinDir();
    if (!bin) throw new Error('apt-get installed postgresql, but initdb and pg_ctl are still not to be found');
  }
  const user = serverUser();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-pg-'));
  const data = path.join(root, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (user) chownTree(root, user);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(path.join(bin, cmd), args, {
      encoding: 'utf8',
      ...(user ? user : {}),
      cwd: root,
      env: { ...process.env, LC_ALL: 'C' },
    });
    if (r.status !== 0)
      throw new Error(
        `${cmd} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').slice(-2000)}`,
      );
    return r.stdout;
  };
  // --no-sync only skips flushing the freshly made template files; the running server still fsyncs commits.
  run('initdb', ['-D', data, '-U', 'crosstalk', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      run('pg_ctl', [
        '-D',
        data,
        '-l',
        path.join(root, 'server.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${root} -c max_connections=200`,
        'start',
      ]);
      break;
    } catch (e) {
      // Another process may have taken the port between our probe and the server's bind.
      if (attempt >= 3) {
        const log = fs.existsSync(path.join(root, 'server.log'))
          ? fs.readFileSync(path.join(root, 'server.log'), 'utf8').slice(-2000)
          : '';
        throw new Error(`${(e as Error).message}\n${log}`);
      }
    }
  }
  return {
    url: `postgres://crosstalk@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const given =
    process.env.TEST_DATABASE_URL ??
    (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined);
  if (given) {
    project.provide('postgresAdminUrl', given);
    return undefined;
  }
  const cluster = await startThrowawayCluster();
  project.provide('postgresAdminUrl', cluster.url);
  return cluster.stop;
}
