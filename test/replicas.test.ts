import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildCrosstalk, spawnService } from './support/child';
import { freshPostgresDatabase } from './support/databases';
import { buildPrefetch, hookRequest, ruleIds, SERVICE_ID, startCrosstalk } from './support/harness';
import { type Nginx, startNginx } from './support/nginx';
import { makeKey, type SigningKey, sign } from './support/tokens';

/*
 * Two replicas of the production service (JWTs, audit key, no demo) in processes of their own, on one real
 * PostgreSQL database, behind a real nginx: what the Kubernetes Deployment runs (deploy/kubernetes).
 */

const ROOT = path.resolve(__dirname, '..');
const PUBLIC = 'https://cds.example.org';
const ISS = 'https://ehr.example.org';
const CALL_AUD = `${PUBLIC}/cds-services/${SERVICE_ID}`;

let key: SigningKey;
let prefetch: Record<string, unknown>;
let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
let dir: string;
let siteFile: string;
let replicas: ChildCrosstalk[] = [];
let lb: Nginx;

const replica = (env: Record<string, string>) =>
  spawnService({
    cwd: ROOT,
    args: ['--require', 'tsx/cjs', path.join(ROOT, 'src/server/main.ts')],
    env,
    timeoutMs: 45_000,
  });

beforeAll(async () => {
  key = await makeKey('ES384');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-replicas-'));
  const clients = path.join(dir, 'clients.json');
  fs.writeFileSync(
    clients,
    JSON.stringify({ clients: [{ iss: ISS, jwks: { keys: [key.publicJwk] }, fhirServerOrigins: [] }] }),
  );
  siteFile = path.join(dir, 'site.json');
  fs.writeFileSync(siteFile, '{}');
  const fhirHost = await startCrosstalk();
  try {
    prefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
  } finally {
    await fhirHost.close();
  }
  db = await freshPostgresDatabase();
  const env = {
    NODE_ENV: 'production',
    CROSSTALK_DEV_MODE: 'false',
    CROSSTALK_TRUSTED_CLIENTS: clients,
    CROSSTALK_AUDIT_HMAC_KEY: 'replicas-suite-audit-key-0123456789abcdef',
    PUBLIC_BASE_URL: PUBLIC,
    DATABASE_URL: db.url,
    CROSSTALK_SITE_KNOWLEDGE: siteFile,
    CROSSTALK_SITE_KNOWLEDGE_POLL_MS: '200',
    // A loaded 2-core machine runs the suite beside others.
    CROSSTALK_REQUEST_BUDGET_MS: '15000',
    CROSSTALK_FHIR_TIMEOUT_MS: '10000',
  };
  // Started together on an empty database: one migrates under the lock, the other waits and finds nothing to do.
  replicas = await Promise.all([replica(env), replica(env)]);
  lb = await startNginx(replicas.map((r) => new URL(r.url).host));
}, 120_000);

afterAll(async () => {
  await lb?.stop();
  for (const r of replicas) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGTERM');
      await r.exited;
    }
  }
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const at = (i: number) => (replicas[i] as ChildCrosstalk).url;

async function call(base: string, hookInstance = randomUUID(), token?: string) {
  const res = await fetch(`${base}/cds-services/${SERVICE_ID}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token ?? (await sign({ iss: ISS, aud: CALL_AUD, key }))}`,
    },
    body: JSON.stringify({ ...hookRequest('demo-low-ccr', { prefetch }), hookInstance }),
  });
  const body = res.status === 200 ? ((await res.json()) as Parameters<typeof ruleIds>[0]) : await res.text();
  return { status: res.status, body, hookInstance };
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe('two replicas on one PostgreSQL behind nginx, in production mode', () => {
  it('refuses a token replayed at the other replica', async () => {
    const token = await sign({ iss: ISS, aud: CALL_AUD, key });
    expect((await call(at(0), randomUUID(), token)).status).toBe(200);
    const replay = await call(at(1), randomUUID(), token);
    expect(replay.status).toBe(401);
    expect(String(replay.body)).toMatch(/OperationOutcome/);
    // And through the balancer, whichever replica takes it.
    expect((await call(lb.url, randomUUID(), token)).status).toBe(401);
  });

  it('accepts feedback at one replica on a card the other replica served', async () => {
    const served = await call(at(0));
    expect(served.status).toBe(200);
    const card = (
      served.body as { cards: { uuid: string; extension: { crosstalk: { ruleId: string } } }[] }
    ).cards.find((c) => c.extension.crosstalk.ruleId === 'low-ccr');
    expect(card).toBeDefined();
    const feedbackUrl = `/cds-services/${SERVICE_ID}/feedback`;
    const res = await fetch(`${at(1)}${feedbackUrl}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await sign({ iss: ISS, aud: `${PUBLIC}${feedbackUrl}`, key })}`,
      },
      body: JSON.stringify({
        feedback: [{ card: card?.uuid, outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }],
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const rows = await query<{ rule_id: string; outcome: string }>(
      'SELECT rule_id, outcome FROM feedback WHERE card_uuid = $1',
      [card?.uuid],
    );
    expect(rows).toEqual([{ rule_id: 'low-ccr', outcome: 'overridden' }]);
  });

  it('brings a changed site knowledge file to both replicas without a restart', async () => {
    const pids = replicas.map((r) => r.child.pid);
    for (const i of [0, 1])
      expect(ruleIds((await call(at(i))).body as Parameters<typeof ruleIds>[0])).toContain('low-ccr');
    fs.writeFileSync(siteFile, JSON.stringify({ rules: { 'low-ccr': { mode: 'silent' } } }));
    for (const i of [0, 1]) {
      let ids: string[] = ['low-ccr'];
      for (let n = 0; n < 100 && ids.includes('low-ccr'); n++) {
        await new Promise((r) => setTimeout(r, 100));
        ids = ruleIds((await call(at(i))).body as Parameters<typeof ruleIds>[0]);
      }
      expect(ids, `replica ${i}`).not.toContain('low-ccr');
    }
    expect(replicas.map((r) => r.child.pid)).toEqual(pids);
    for (const r of replicas) expect(r.output()).toMatch(/"event":"knowledge-reload","result":"applied"/);
    fs.writeFileSync(siteFile, '{}');
  }, 30_000);

  it('loses no acknowledged call when one replica is SIGKILLed under load: every 200 has its audit row', async () => {
    const TOTAL = 120;
    const CONCURRENCY = 8;
    const results: { status: number; hookInstance: string; afterKill: boolean }[] = [];
    let sent = 0;
    let killed = false;
    const worker = async () => {
      while (sent < TOTAL) {
        sent += 1;
        if (sent === 30 && !killed) {
          killed = true;
          replicas[1]?.child.kill('SIGKILL');
        }
        const afterKill = killed;
        try {
          const r = await call(lb.url);
          results.push({ status: r.status, hookInstance: r.hookInstance, afterKill });
        } catch {
          // A connection cut by the kill is no acknowledgement: nothing to hold the service to.
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect((await replicas[1]?.exited)?.signal).toBe('SIGKILL');
    const ok = results.filter((r) => r.status === 200);
    // The survivor carried the load after the kill: the balancer took the dead replica out.
    expect(ok.filter((r) => r.afterKill).length).toBeGreaterThan(TOTAL / 2);
    const recorded = new Set(
      (
        await query<{ hook_instance: string }>(
          'SELECT hook_instance FROM service_calls WHERE hook_instance = ANY($1)',
          [ok.map((r) => r.hookInstance)],
        )
      ).map((r) => r.hook_instance),
    );
    expect(ok.filter((r) => !recorded.has(r.hookInstance))).toEqual([]);
    // Anything not 200 was refused whole (a 502 from nginx for a call cut mid-flight), never half-answered.
    expect(results.filter((r) => r.status !== 200).every((r) => r.status === 502)).toBe(true);
  }, 60_000);
});
