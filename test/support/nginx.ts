/*
 * A real load balancer for the replica tests: Debian's nginx, in a temporary prefix, on a free loopback port,
 * round-robin over the given upstreams. On a machine without it (a fresh CI machine, as root) it is installed with
 * apt-get, as global-setup.ts does for Chromium; elsewhere the test fails saying what to install.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const NGINX = '/usr/sbin/nginx';

export function ensureNginx(): string {
  if (fs.existsSync(NGINX)) return NGINX;
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get'))
    throw new Error(`nginx is not installed at ${NGINX}: apt-get install -y nginx-light, then run the tests again`);
  process.stderr.write('\n*** crosstalk tests: installing Debian package "nginx-light" for the replica tests\n\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], { stdio: 'ignore', env });
  // Debian's package may start its own server on port 80; the tests run theirs, so stop that one.
  try {
    execFileSync('service', ['nginx', 'stop'], { stdio: 'ignore' });
  } catch {
    // No init system in a container: nothing was started.
  }
  if (!fs.existsSync(NGINX)) throw new Error(`apt-get ran but ${NGINX} is still missing`);
  return NGINX;
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

async function listening(port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export interface Nginx {
  url: string;
  stop(): Promise<void>;
}

/** upstreams: host:port of each replica. A refused connection is retried on the next replica, as a Service would. */
export async function startNginx(upstreams: string[]): Promise<Nginx> {
  const bin = ensureNginx();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-nginx-'));
  // Workers may run as another user (root starts them as nobody): the temp paths must be theirs to write.
  fs.chmodSync(prefix, 0o777);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(
      conf,
      `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_max_body_size 5m;
  upstream crosstalk {
${upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=30s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://crosstalk;
      proxy_set_header Host $http_host;
      proxy_connect_timeout 2s;
      # A POST already sent is never replayed on another replica (nginx's default): a call is answered once.
      proxy_next_upstream error timeout;
    }
  }
}
`,
    );
    const child: ChildProcess = spawn(bin, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (await listening(port, 10_000)) {
      return {
        url: `http://127.0.0.1:${port}`,
        stop: async () => {
          process.off('exit', reap);
          if (child.exitCode === null) {
            child.kill('SIGQUIT');
            await exited;
          }
          fs.rmSync(prefix, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    if (attempt >= 3) throw new Error(`nginx did not start: ${err.slice(-2000)}`);
  }
}
