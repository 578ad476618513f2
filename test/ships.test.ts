/*
 * Runs what the image ships, the way the Dockerfile builds it: `tsc` to dist/, the web bundles, production
 * dependencies only (`npm ci --omit=dev`), and the compiled `node dist/src/server/main.js` on this Node (24, the
 * image's runtime). Nothing from the checkout's node_modules or sources reaches the staged service: it has only what
 * the Dockerfile copies. Both profiles on both stores, a few hundred audited calls each, then SIGTERM.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlEngine } from '../src/store/engine';
import { openPostgres } from '../src/store/postgres';
import { openSqlite } from '../src/store/sqlite';
import { type ChildCrosstalk, spawnService } from './support/child';
import { freshDataDir, freshPostgresDatabase } from './support/databases';
import { buildPrefetch, expectValidCdsResponse, hookRequest, SERVICE_ID, startCrosstalk } from './support/harness';
import { makeKey, sign } from './support/tokens';

const ROOT = path.resolve(__dirname, '..');
// Asynchronous: a minute of synchronous tsc and npm would stall the test worker's own messages to vitest.
const run = promisify(execFile);
const CALLS = 240;
const IN_FLIGHT = 8;
const ISS = 'https://ehr.ships-test.example.org';
const PUBLIC = 'https://cds.ships-test.example.org';
// Every call must be answered and audited; latency is the benchmarks' business, so a loaded machine gets time.
const PATIENT_TIME = { CROSSTALK_FHIR_TIMEOUT_MS: '30000', CROSSTALK_REQUEST_BUDGET_MS: '60000' };
const DEMO_PATIENTS = ['demo-low-ccr', 'demo-steroid', 'demo-normal', 'demo-missing-cystatin', 'demo-ra'];

let stage: string;

/** The image's build stage and runtime stage, in a throwaway folder. */
async function stageImage(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-image-'));
  // RUN npm run build (tsc; build:web already ran in the suite's global setup and writes the same bytes).
  await run(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(ROOT, 'tsconfig.json'),
      '--outDir',
      path.join(dir, 'build'),
    ],
    { cwd: ROOT },
  );
  // COPY package.json package-lock.json .npmrc, then production dependencies only, as after `npm prune --omit=dev`.
  for (const f of ['package.json', 'package-lock.json', '.npmrc'])
    fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  // COPY cds-hooks, bin, deploy scripts, dist/src and dist/web.
  fs.cpSync(path.join(ROOT, 'cds-hooks'), path.join(dir, 'cds-hooks'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'deploy'));
  for (const f of ['seed.js', 'healthcheck.js'])
    fs.copyFileSync(path.join(ROOT, 'deploy', f), path.join(dir, 'deploy', f));
  fs.mkdirSync(path.join(dir, 'dist'));
  fs.renameSync(path.join(dir, 'build', 'src'), path.join(dir, 'dist', 'src'));
  fs.cpSync(path.join(ROOT, 'dist', 'web'), path.join(dir, 'dist', 'web'), { recursive: true });
  fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  return dir;
}

beforeAll(async () => {
  stage = await stageImage();
}, 300_000);

afterAll(() => {
  if (stage) fs.rmSync(stage, { recursive: true, force: true });
});

const engines = [
  {
    name: 'SQLite',
    async create() {
      const d = await freshDataDir();
      return { env: { CROSSTALK_DATA_DIR: d.dir }, open: (): SqlEngine => openSqlite(d.dir), drop: d.drop };
    },
  },
  {
    name: 'PostgreSQL',
    async create() {
      const d = await freshPostgresDatabase();
      return { env: { DATABASE_URL: d.url }, open: (): SqlEngine => openPostgres(d.url), drop: d.drop };
    },
  },
];

/** Sends every request, IN_FLIGHT at a time; returns each one's status and the hookInstances answered 200. */
async function drive(
  ct: ChildCrosstalk,
  request: (i: number) => Promise<{ headers: Record<string, string>; body: Record<string, unknown> }>,
) {
  const statuses: number[] = [];
  const answered: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      const i = next++;
      const { headers, body } = await request(i);
      const res = await fetch(`${ct.url}/cds-services/${SERVICE_ID}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as unknown;
      statuses.push(res.status);
      if (res.status === 200) {
        expectValidCdsResponse(json);
        answered.push(body.hookInstance as string);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { statuses, answered };
}

async function stopAndCheckAudit(ct: ChildCrosstalk, open: () => SqlEngine, answered: string[]) {
  ct.child.kill('SIGTERM');
  const exit = await ct.exited;
  expect(exit, ct.output().slice(-2000)).toEqual({ code: 0, signal: null });
  expect(ct.output()).not.toMatch(/Assertion failed|Segmentation fault|FATAL ERROR/);
  const db = open();
  try {
    const rows = await db.db.selectFrom('service_calls').select(['hook_instance', 'status']).execute();
    const audited = new Set(rows.filter((r) => r.status === 200).map((r) => r.hook_instance));
    expect(answered.filter((h) => !audited.has(h))).toEqual([]);
    expect(rows).toHaveLength(answered.length);
  } finally {
    await db.close();
  }
}

describe('the service as the image ships it', () => {
  it('runs on Node 24, the image runtime', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
    // The staged service has no TypeScript, no test tools and no demo-only dev tools.
    expect(fs.existsSync(path.join(stage, 'node_modules', 'typescript'))).toBe(false);
    expect(fs.existsSync(path.join(stage, 'node_modules', 'vitest'))).toBe(false);
    expect(fs.existsSync(path.join(stage, 'dist', 'src', 'server', 'main.js'))).toBe(true);
  });

  describe.each(engines)('on $name', (engine) => {
    it('answers every call in the demo profile, audits each one, and exits 0 on SIGTERM', {
      timeout: 180_000,
    }, async () => {
      const db = await engine.create();
      try {
        const ct = await spawnService({
          cwd: stage,
          args: ['dist/src/server/main.js', '--demo'],
          env: { ...db.env, ...PATIENT_TIME },
          timeoutMs: 60_000,
        });
        const fhirServer = `${ct.url}/fhir`;
        const { statuses, answered } = await drive(ct, async (i) => ({
          headers: {},
          body: { ...hookRequest(DEMO_PATIENTS[i % DEMO_PATIENTS.length] as string), fhirServer },
        }));
        expect(statuses.filter((s) => s !== 200)).toEqual([]);
        await stopAndCheckAudit(ct, db.open, answered);
      } finally {
        await db.drop();
      }
    });

    it('answers every authenticated call in the production profile, audits each one, and exits 0 on SIGTERM', {
      timeout: 180_000,
    }, async () => {
      const db = await engine.create();
      // Prefetch from a demo host in this process: production has no embedded FHIR server.
      const fhirHost = await startCrosstalk();
      try {
        const prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
        const key = await makeKey('ES384');
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-ships-'));
        const clients = path.join(dir, 'clients.json');
        fs.writeFileSync(
          clients,
          JSON.stringify({ clients: [{ iss: ISS, jwks: { keys: [key.publicJwk] }, fhirServerOrigins: [] }] }),
        );
        const ct = await spawnService({
          cwd: stage,
          args: ['dist/src/server/main.js'],
          env: {
            ...db.env,
            ...PATIENT_TIME,
            NODE_ENV: 'production',
            CROSSTALK_TRUSTED_CLIENTS: clients,
            CROSSTALK_AUDIT_HMAC_KEY: randomBytes(32).toString('hex'),
            PUBLIC_BASE_URL: PUBLIC,
          },
          timeoutMs: 60_000,
        });
        const { statuses, answered } = await drive(ct, async () => ({
          headers: {
            authorization: `Bearer ${await sign({ iss: ISS, aud: `${PUBLIC}/cds-services/${SERVICE_ID}`, key, jti: randomUUID() })}`,
          },
          body: hookRequest('demo-low-ccr', { prefetch }),
        }));
        expect(statuses.filter((s) => s !== 200)).toEqual([]);
        await stopAndCheckAudit(ct, db.open, answered);
      } finally {
        await fhirHost.close();
        await db.drop();
      }
    });
  });
});
