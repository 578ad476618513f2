import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { demoPlugin } from '../src/demo/plugin';
import { start } from '../src/server/start';

// The compose file's data directory is a container path; on this machine the store goes to a temporary one.
const tempDataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ct-compose-'));

// No Docker engine runs in CI, so these tests read Dockerfile, .dockerignore and docker-compose.yml as data and
// check them against the code they package: the config schema, the ports, the files the runtime reads.

const ROOT = path.resolve(__dirname, '..');
const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), 'utf8');
const readJson = <T>(f: string): T => JSON.parse(read(f)) as T;

// ---------------------------------------------------------------- docker-compose.yml

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: (string | number | { target?: number | string; published?: number | string; host_ip?: string })[];
  depends_on?: string[] | Record<string, unknown>;
  restart?: string;
  healthcheck?: { disable?: boolean; test?: unknown };
}
const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, ComposeService> };

function service(name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

/** The environment as compose hands it to the container: strings (numbers are converted, booleans refused). */
function environmentOf(s: ComposeService): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(s.environment)) {
    for (const line of s.environment) {
      const i = line.indexOf('=');
      if (i < 0) throw new Error(`environment entry "${line}" has no value`);
      out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }
  for (const [k, v] of Object.entries(s.environment ?? {})) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number') out[k] = String(v);
    else throw new Error(`environment ${k}: compose accepts strings and numbers, not ${JSON.stringify(v)}`);
  }
  return out;
}

interface PortMapping {
  /** Host address the port is bound to; absent means all interfaces. */
  ip?: string;
  host?: string;
  container: string;
}

function portsOf(s: ComposeService): PortMapping[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'number') return { container: String(p) };
    if (typeof p === 'object') {
      return {
        container: String(p.target),
        ...(p.published !== undefined ? { host: String(p.published) } : {}),
        ...(p.host_ip ? { ip: p.host_ip } : {}),
      };
    }
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    const container = parts[parts.length - 1] as string;
    if (parts.length === 1) return { container };
    return {
      host: parts[parts.length - 2] as string,
      container,
      ...(parts.length > 2 ? { ip: parts.slice(0, -2).join(':') } : {}),
    };
  });
}

function commandOf(s: ComposeService): string[] {
  if (s.command === undefined) throw new Error('service has no command');
  return Array.isArray(s.command) ? s.command : s.command.trim().split(/\s+/);
}

function dependsOn(s: ComposeService): string[] {
  if (!s.depends_on) return [];
  return Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on);
}

const buildContext = (s: ComposeService): string | undefined =>
  typeof s.build === 'string' ? s.build : s.build?.context;

const hapiName = Object.keys(compose.services).find(
  (n) => compose.services[n]?.image?.split(':')[0] === 'hapiproject/hapi',
);

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Stages of a Dockerfile: comments dropped, continuation lines joined, instructions upper-cased. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const op = (m[1] as string).toUpperCase();
    const args = (m[2] as string).trim();
    if (op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`cannot read FROM ${args}`);
      stages.push({ image: f[1] as string, ...(f[2] ? { name: f[2] } : {}), instructions: [] });
    } else {
      const stage = stages[stages.length - 1];
      if (!stage) throw new Error(`${op} before FROM`);
      stage.instructions.push({ op, args });
    }
  }
  return stages;
}

/** Exec-form (JSON array) or shell-form words, leading --flags separated out. */
function words(args: string): { flags: Record<string, string>; words: string[] } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[m[1] as string] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, words: rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/).filter(Boolean) };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const final = dockerfile[dockerfile.length - 1] as Stage;

function workdir(stage: Stage, upTo = stage.instructions.length): string {
  let dir = '/';
  for (const i of stage.instructions.slice(0, upTo)) if (i.op === 'WORKDIR') dir = path.posix.resolve(dir, i.args);
  return dir;
}

function execForm(stage: Stage, op: 'CMD' | 'HEALTHCHECK'): string[] {
  const ins = stage.instructions.filter((i) => i.op === op).pop();
  if (!ins) throw new Error(`the final stage has no ${op}`);
  const args =
    op === 'HEALTHCHECK'
      ? words(ins.args)
          .words.join(' ')
          .replace(/^CMD\s+/, '')
      : ins.args;
  if (!args.startsWith('[')) throw new Error(`${op} must use the exec form (a JSON array): ${args}`);
  return JSON.parse(args) as string[];
}

// .dockerignore, as far as this project uses it: plain names and * / ** globs, no ! exceptions.
const ignorePatterns = read('.dockerignore')
  .split(/\r?\n/)
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

function ignored(rel: string): boolean {
  const norm = path.posix.normalize(rel).replace(/^\.\//, '').replace(/\/$/, '');
  if (norm === '.' || norm === '') return false;
  return ignorePatterns.some((p) => {
    const re = new RegExp(
      `^${p
        .replace(/^\//, '')
        .replace(/\/$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '.*')}(/.*)?$`,
    );
    return re.test(norm);
  });
}

const tsconfig = readJson<{ compilerOptions: { outDir: string; rootDir: string } }>('tsconfig.json');
const pkg = readJson<{ engines: { node: string }; scripts: Record<string, string> }>('package.json');

/**
 * Which repository file a path in a stage's image comes from, following COPY (from the context, minus
 * .dockerignore, or from another stage) and `npm run build` (tsc: <outDir>/x.js from <rootDir>/x.ts).
 * undefined when nothing in the Dockerfile puts a file there.
 */
function sourceOf(stage: Stage, abs: string): string | undefined {
  const ins = stage.instructions;
  for (let i = ins.length - 1; i >= 0; i--) {
    const step = ins[i] as Instruction;
    const wd = workdir(stage, i);
    if (
      step.op === 'RUN' &&
      /\bnpm run build\b/.test(step.args) &&
      /^tsc -p tsconfig\.json\b/.test(pkg.scripts.build ?? '')
    ) {
      const out = path.posix.join(wd, tsconfig.compilerOptions.outDir);
      if (abs.startsWith(`${out}/`) && abs.endsWith('.js')) {
        const ts = path.posix.join(
          wd,
          tsconfig.compilerOptions.rootDir,
          abs.slice(out.length + 1).replace(/\.js$/, '.ts'),
        );
        const found = sourceOf({ ...stage, instructions: ins.slice(0, i) }, ts);
        if (found) return found;
      }
    }
    if (step.op !== 'COPY') continue;
    const { flags, words: w } = words(step.args);
    const destRaw = w[w.length - 1] as string;
    const sources = w.slice(0, -1);
    const dest = path.posix.resolve(wd, destRaw);
    for (const src of sources) {
      if (flags.from) {
        const from = dockerfile.find((s) => s.name === flags.from);
        if (!from) throw new Error(`COPY --from=${flags.from}: no such stage`);
        // A directory's contents go into dest; with dest/ a file keeps its name.
        for (const target of destRaw.endsWith('/') ? [dest, path.posix.join(dest, path.posix.basename(src))] : [dest]) {
          if (abs !== target && !abs.startsWith(`${target}/`)) continue;
          const found = sourceOf(from, abs === target ? src : path.posix.join(src, abs.slice(target.length + 1)));
          if (found) return found;
        }
        continue;
      }
      const stat = fs.statSync(path.join(ROOT, src), { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isFile()) {
        // A file lands at dest, or under its own name in dest when dest is a folder (dest/, several sources).
        const target =
          destRaw.endsWith('/') || sources.length > 1 ? path.posix.join(dest, path.posix.basename(src)) : dest;
        if (abs === target && !ignored(src)) return path.posix.normalize(src);
        continue;
      }
      // A directory's contents are copied into dest.
      if (!abs.startsWith(`${dest}/`)) continue;
      const rel = path.posix.normalize(path.posix.join(src, abs.slice(dest.length + 1)));
      if (!ignored(rel) && fs.statSync(path.join(ROOT, rel), { throwIfNoEntry: false })?.isFile()) return rel;
    }
  }
  return undefined;
}

const filesUnder = (dir: string): string[] =>
  fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(ROOT, dir, f)).isFile())
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')));

// ---------------------------------------------------------------- Node version ranges

type Version = [number, number, number];
const INF = Number.POSITIVE_INFINITY;

function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number) ? -1 : 1;
  return 0;
}

/**
 * Whether a Node image version satisfies an engines range such as ">=20.19.0" or "^20.19.0 || >=22.12.0".
 * A floating tag (node:24-…) stands for the newest release of its line, so its missing parts count as ∞.
 */
function satisfies(range: string, image: Version): boolean {
  return range.split('||').some((clause) =>
    clause
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .every((c) => {
        const m = /^(>=|<=|>|<|\^|=)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(c);
        if (!m) throw new Error(`cannot read the engines comparator "${c}"`);
        const v: Version = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
        const cmp = compareVersions(image, v);
        switch (m[1]) {
          case '>=':
            return cmp >= 0;
          case '>':
            return cmp > 0;
          case '<=':
            return cmp <= 0;
          case '<':
            return cmp < 0;
          case '^':
            return image[0] === v[0] && cmp >= 0;
          default: // "=20.19.0", or a bare "20" / "20.19" meaning that line
            return (
              image[0] === v[0] &&
              (m[3] === undefined || image[1] === v[1]) &&
              (m[4] === undefined || image[2] === v[2])
            );
        }
      }),
  );
}

function nodeImageVersion(image: string): Version {
  const m =
    /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[a-z0-9.-]+)?(?:@sha256:[0-9a-f]{64})?$/.exec(
      image,
    );
  if (!m) throw new Error(`${image} is not an official node image with a numbered tag`);
  return [Number(m[1]), m[2] ? Number(m[2]) : INF, m[3] ? Number(m[3]) : INF];
}

// ---------------------------------------------------------------- the tests

describe('the docker-compose crosstalk service', () => {
  const crosstalk = service('crosstalk');
  const env = (): Record<string, string> => environmentOf(crosstalk);
  const schema = readJson<{ properties: Record<string, unknown> }>('cds-hooks/schemas/config.schema.json');

  it('sets only variables that cds-hooks/schemas/config.schema.json defines, each with a value its schema accepts', () => {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    expect(Object.keys(env()).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(env())) {
      expect(Object.keys(schema.properties), `${key} is not a configuration key`).toContain(key);
      const validate = ajv.compile(schema.properties[key] as object);
      expect(validate(value), `${key}=${value}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
    const whole = ajv.compile(schema);
    expect(whole(env()), ajv.errorsText(whole.errors)).toBe(true);
  });

  it('starts with exactly this environment', async () => {
    // Only the listening socket is moved to a free loopback port, so the test can run anywhere.
    const running = await start({
      ...env(),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CROSSTALK_DATA_DIR: tempDataDir(),
    });
    await running.close();
  });

  it('lets CDS calls name the HAPI base the seed service loads as fhirServer', async () => {
    const hapiBase = commandOf(service('seed')).find((w) => /^https?:\/\//.test(w)) as string;
    const e = env();
    if (e.CROSSTALK_DEV_MODE !== 'true') {
      // Production mode: HAPI is plain http on a private address, which must be explicitly allowed.
      expect(e.CROSSTALK_TRUSTED_CLIENTS).toBeDefined();
      expect((e.CROSSTALK_INSECURE_FHIR_ORIGINS ?? '').split(',').map((o) => o.trim())).toContain(
        new URL(hapiBase).origin,
      );
      return;
    }
    // Development mode: a call naming HAPI passes the egress policy and fails only at the network (no "hapi"
    // host here), whereas an origin the policy refuses gives "security" issues.
    const running = await start({
      ...e,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CROSSTALK_DATA_DIR: tempDataDir(),
    });
    try {
      const call = async (fhirServer: string) => {
        const res = await fetch(`${running.url}/cds-services/bone-muscle-patient-view`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            hook: 'patient-view',
            hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
            fhirServer,
            context: { userId: 'Practitioner/example', patientId: 'demo-low-ccr' },
          }),
        });
        const body = (await res.json()) as { issue?: { code: string }[] };
        return (body.issue ?? []).map((i) => i.code);
      };
      expect(await call('http://localhost:8080/fhir')).toContain('security');
      expect(await call(hapiBase)).not.toContain('security');
    } finally {
      await running.close();
    }
  }, 30_000);

  it('publishes its port on the loopback interface only while CDS calls are unauthenticated', () => {
    if (env().CROSSTALK_DEV_MODE === 'true') for (const p of portsOf(crosstalk)) expect(p.ip).toBe('127.0.0.1');
  });

  it('listens on all interfaces and reads FHIR from HAPI rather than the embedded demo server', () => {
    expect(env().HOST).toBe('0.0.0.0');
    expect(env().CROSSTALK_EMBEDDED_FHIR).toBe('false');
  });

  it('publishes the PORT it listens on, which is the port the Dockerfile exposes', () => {
    const ports = portsOf(crosstalk);
    expect(ports).toHaveLength(1);
    expect(ports[0]?.container).toBe(env().PORT);
    const exposed = final.instructions
      .filter((i) => i.op === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/).map((p) => p.replace(/\/tcp$/, '')));
    expect(exposed).toEqual([env().PORT]);
  });

  it('advertises a PUBLIC_BASE_URL on the port published to the host', () => {
    const url = new URL(env().PUBLIC_BASE_URL as string);
    expect(['localhost', '127.0.0.1']).toContain(url.hostname);
    expect(url.port || (url.protocol === 'https:' ? '443' : '80')).toBe(portsOf(crosstalk)[0]?.host);
  });

  it('is built from the Dockerfile in the repository root and starts after HAPI', () => {
    expect(buildContext(crosstalk)).toBe('.');
    expect(typeof crosstalk.build === 'object' ? (crosstalk.build.dockerfile ?? 'Dockerfile') : 'Dockerfile').toBe(
      'Dockerfile',
    );
    expect(hapiName).toBeDefined();
    expect(dependsOn(crosstalk)).toContain(hapiName);
  });
});

describe('the docker-compose hapi service', () => {
  it('runs the hapiproject/hapi image at a pinned tag', () => {
    const [name, tag] = (service(hapiName ?? 'hapi').image as string).split(':');
    expect(name).toBe('hapiproject/hapi');
    expect(tag).toMatch(/^v\d+\.\d+\.\d+/);
  });

  it('publishes the unauthenticated FHIR server on the loopback interface only', () => {
    for (const p of portsOf(service(hapiName ?? 'hapi'))) expect(p.ip).toBe('127.0.0.1');
  });

  it('serves FHIR R4 on container port 8080', () => {
    const hapi = service(hapiName ?? 'hapi');
    expect(portsOf(hapi).map((p) => p.container)).toContain('8080');
    expect(environmentOf(hapi)['hapi.fhir.fhir_version']).toBe('R4');
  });
});

describe('the docker-compose seed service', () => {
  const seed = service('seed');
  const command = commandOf(seed);

  it("seeds the hapi service's /fhir base on its container port, once", () => {
    const urls = command.filter((w) => /^https?:\/\//.test(w)).map((w) => new URL(w));
    expect(urls).toHaveLength(1);
    const [url] = urls as [URL];
    expect(url.hostname).toBe(hapiName);
    expect(portsOf(service(hapiName ?? 'hapi')).map((p) => p.container)).toContain(url.port || '80');
    expect(url.pathname.replace(/\/$/, '')).toBe('/fhir');
    expect(dependsOn(seed)).toContain(hapiName);
    expect(seed.restart).toBe('no');
  });

  it('runs a script that the crosstalk image contains, with the image from the Dockerfile', () => {
    expect(buildContext(seed)).toBe('.');
    expect(command[0]).toBe('node');
    expect(sourceOf(final, path.posix.resolve(workdir(final), command[1] as string))).toBe(command[1]);
  });

  it('runs by default the compiled CLI, which the image builds from src/cli/main.ts', () => {
    const m = /path\.resolve\(__dirname,((?:\s*'[^']*',?)+)\)/.exec(read('deploy/seed.js'));
    expect(m, 'deploy/seed.js names its default CLI with path.resolve(__dirname, ...)').not.toBeNull();
    const segments = [...(m?.[1] ?? '').matchAll(/'([^']*)'/g)].map((x) => x[1] as string);
    const cli = path.posix.resolve(workdir(final), 'deploy', ...segments);
    expect(sourceOf(final, cli)).toBe('src/cli/main.ts');
  });
});

/** Runs deploy/seed.js against a stand-in FHIR server; the real CLI runs from source through tsx. */
async function runSeed(
  fhir: (req: http.IncomingMessage, body: string) => { status: number; body: unknown },
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const answer = fhir(req, body);
      res.writeHead(answer.status, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'deploy/seed.js'), `http://127.0.0.1:${port}/fhir`], {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim(),
          CROSSTALK_CLI: path.join(ROOT, 'src/cli/main.ts'),
          SEED_RETRY_INTERVAL_MS: '50',
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 45_000,
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const CAPABILITY = { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1' };

describe('deploy/seed.js', () => {
  it('waits until the FHIR server answers /metadata, then POSTs the demo transaction Bundle to its base', async () => {
    let metadataCalls = 0;
    const posts: { url: string | undefined; body: { resourceType?: string; type?: string; entry?: unknown[] } }[] = [];
    const { code, stderr } = await runSeed(
      (req, body) => {
        if (req.method === 'GET' && req.url === '/fhir/metadata') {
          metadataCalls++;
          return metadataCalls <= 2 ? { status: 503, body: {} } : { status: 200, body: CAPABILITY };
        }
        if (req.method === 'POST') {
          posts.push({ url: req.url, body: JSON.parse(body) });
          return { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: [] } };
        }
        return { status: 404, body: {} };
      },
      { SEED_WAIT_SECONDS: '30' },
    );
    expect(code, stderr).toBe(0);
    expect(metadataCalls).toBe(3);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.url).toBe('/fhir');
    expect(posts[0]?.body.resourceType).toBe('Bundle');
    expect(posts[0]?.body.type).toBe('transaction');
    expect(posts[0]?.body.entry?.length).toBeGreaterThan(0);
  }, 60_000);

  it('gives up with a failing exit code when the FHIR server never comes up', async () => {
    let posts = 0;
    const { code, stderr } = await runSeed(
      (req) => {
        if (req.method === 'POST') posts++;
        return { status: 503, body: {} };
      },
      { SEED_WAIT_SECONDS: '1' },
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/giving up/);
    expect(posts).toBe(0);
  }, 30_000);

  it('retries and then fails when the FHIR server rejects the Bundle', async () => {
    let posts = 0;
    const { code, stderr } = await runSeed(
      (req) => {
        if (req.method === 'GET') return { status: 200, body: CAPABILITY };
        posts++;
        return {
          status: 400,
          body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] },
        };
      },
      { SEED_WAIT_SECONDS: '30', SEED_ATTEMPTS: '2' },
    );
    expect(code, stderr).not.toBe(0);
    expect(posts).toBe(2);
  }, 60_000);
});

describe('the Dockerfile', () => {
  it('builds and runs on an LTS Node image whose version satisfies the engines of package.json and @medplum/core', () => {
    const medplum = readJson<{ engines: { node: string } }>('node_modules/@medplum/core/package.json');
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(new Set(dockerfile.map((s) => s.image)).size, 'build and runtime stages use the same Node').toBe(1);
    for (const stage of dockerfile) {
      const version = nodeImageVersion(stage.image);
      expect(version[0] % 2, `${stage.image}: LTS lines are even`).toBe(0);
      expect(satisfies(pkg.engines.node, version), `${stage.image} vs package.json ${pkg.engines.node}`).toBe(true);
      expect(satisfies(medplum.engines.node, version), `${stage.image} vs @medplum/core ${medplum.engines.node}`).toBe(
        true,
      );
    }
  });

  it('copies .npmrc into the project folder before every npm ci', () => {
    const installing = dockerfile.filter((stage) =>
      stage.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args)),
    );
    expect(installing.length).toBeGreaterThan(0);
    for (const stage of installing) {
      const ci = stage.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
      const before = { ...stage, instructions: stage.instructions.slice(0, ci) };
      const wd = workdir(stage, ci);
      expect(sourceOf(before, path.posix.join(wd, '.npmrc'))).toBe('.npmrc');
      expect(sourceOf(before, path.posix.join(wd, 'package-lock.json'))).toBe('package-lock.json');
    }
  });

  it('ships only the runtime dependencies: pruned after the build, copied into a final stage that installs nothing', () => {
    const build = dockerfile.find(
      (stage) => stage !== final && stage.instructions.some((i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args)),
    );
    expect(build).toBeDefined();
    const buildAt = build!.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args));
    const pruneAt = build!.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm prune\b.*--omit=dev\b/.test(i.args));
    expect(pruneAt).toBeGreaterThanOrEqual(buildAt);
    expect(final.instructions.filter((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args))).toHaveLength(0);
    expect(final.instructions.some((i) => i.op === 'COPY' && /--from=build\s+\/app\/node_modules\b/.test(i.args))).toBe(
      true,
    );
  });

  it('starts the compiled server, built from src/server/main.ts', () => {
    const cmd = execForm(final, 'CMD');
    expect(cmd[0]).toBe('node');
    expect(cmd).toHaveLength(2);
    expect(cmd[1]).toBe(path.posix.join(tsconfig.compilerOptions.outDir, 'src/server/main.js'));
    expect(sourceOf(final, path.posix.resolve(workdir(final), cmd[1] as string))).toBe('src/server/main.ts');
    expect(
      final.instructions.some((i) => i.op === 'ENTRYPOINT'),
      'keeps the node image entrypoint',
    ).toBe(false);
  });

  it('puts all of cds-hooks/ where the compiled code finds its root: the first folder above it with package.json and cds-hooks/', () => {
    // src/config/paths.ts walks up from dist/src/config/ to the first folder holding package.json and cds-hooks/.
    expect(read('src/config/paths.ts')).toMatch(/package\.json[\s\S]*cds-hooks/);
    const wd = workdir(final);
    let root: string | undefined;
    for (
      let dir = path.posix.join(wd, tsconfig.compilerOptions.outDir, 'src/config');
      ;
      dir = path.posix.dirname(dir)
    ) {
      if (sourceOf(final, `${dir}/package.json`) && sourceOf(final, `${dir}/cds-hooks/schemas/config.schema.json`)) {
        root = dir;
        break;
      }
      if (dir === '/') break;
    }
    expect(root).toBe(wd);
    for (const f of filesUnder('cds-hooks')) expect(sourceOf(final, path.posix.join(wd, f)), f).toBe(f);
  });

  it('contains the CLI launcher and the compiled CLI', () => {
    const wd = workdir(final);
    expect(sourceOf(final, path.posix.join(wd, 'bin/crosstalk.js'))).toBe('bin/crosstalk.js');
    expect(sourceOf(final, path.posix.join(wd, tsconfig.compilerOptions.outDir, 'src/cli/main.js'))).toBe(
      'src/cli/main.ts',
    );
  });

  it('runs as the non-root user node', () => {
    const users = final.instructions.filter((i) => i.op === 'USER');
    expect(users.pop()?.args.split(':')[0]).toBe('node');
  });

  it('sets only configuration variables the schema accepts, and HOST=0.0.0.0', () => {
    const env: Record<string, string> = {};
    for (const i of final.instructions.filter((x) => x.op === 'ENV')) {
      for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g))
        env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    }
    const { NODE_ENV, ...config } = env;
    expect(NODE_ENV).toBe('production');
    expect(config.HOST).toBe('0.0.0.0');
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    const validate = ajv.compile(readJson<object>('cds-hooks/schemas/config.schema.json'));
    expect(validate(config), ajv.errorsText(validate.errors)).toBe(true);
  });

  it('checks health with node (no curl in slim images) against /healthz on the PORT the service listens on', async () => {
    const check = execForm(final, 'HEALTHCHECK');
    expect(check[0]).toBe('node');
    const script = check[1] as string;
    expect(sourceOf(final, path.posix.resolve(workdir(final), script))).toBe(script);
    const probe = (port: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, script)], {
          env: { ...process.env, PORT: String(port) },
          stdio: 'ignore',
        });
        child.on('close', resolve);
      });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-deploy-'));
    const running = await start(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        CROSSTALK_DEV_MODE: 'true',
        CROSSTALK_EMBEDDED_FHIR: 'true',
        CROSSTALK_DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
      },
      undefined,
      [demoPlugin],
    );
    const port = (running.server.address() as AddressInfo).port;
    try {
      expect(await probe(port)).toBe(0);
    } finally {
      await running.close();
    }
    expect(await probe(port)).toBe(1);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);
});

describe('the .dockerignore', () => {
  it('keeps local installs and build output out of the build context', () => {
    for (const p of ['node_modules', 'node_modules/ajv/package.json', 'dist', 'dist/src/server/main.js', '.git'])
      expect(ignored(p), p).toBe(true);
  });

  it('lets in every file the Dockerfile copies from the context', () => {
    for (const stage of dockerfile) {
      for (const i of stage.instructions.filter((x) => x.op === 'COPY')) {
        const { flags, words: w } = words(i.args);
        if (flags.from) continue;
        for (const src of w.slice(0, -1)) {
          expect(fs.existsSync(path.join(ROOT, src)), `${src} exists`).toBe(true);
          expect(ignored(src), `${src} is not ignored`).toBe(false);
        }
      }
    }
    for (const f of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'tsconfig.json',
      'src/server/main.ts',
      'cds-hooks/schemas/config.schema.json',
      'bin/crosstalk.js',
    ]) {
      expect(ignored(f), f).toBe(false);
    }
  });
});
