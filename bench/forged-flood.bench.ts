/**
 * A trusted EHR's latency under a flood of forged tokens (`npx tsx bench/forged-flood.bench.ts`).
 *
 * Crosstalk in production mode, a process of its own per scenario, on 127.0.0.1. The EHR (127.0.0.1) makes
 * sequential discovery calls, each with a fresh ES384 token; the attacker (127.0.0.2) sends forged tokens (the trusted
 * issuer, audience and kid, signed with another key) at FLOOD_RATE a second, at most FLOOD_INFLIGHT at once.
 * Scenarios: no flood; flood with the failed-authentication limit off (every forged token's signature is checked);
 * flood with the default limit. Bounded: each scenario runs BENCH_DURATION seconds (default 8) and stops.
 *
 * Env: BENCH_DURATION (s), FLOOD_RATE (default 750), FLOOD_INFLIGHT (default 200), BENCH_OUT (JSON path, default
 * bench/results/forged-flood.json).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnCrosstalk } from '../test/support/child';
import { makeKey, sign } from '../test/support/tokens';

const PUBLIC = 'https://cds.bench.example';
const ISS = 'https://ehr.bench.example';
const AUD = `${PUBLIC}/cds-services`;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const FLOOD_RATE = Number(process.env.FLOOD_RATE ?? 750);
const FLOOD_INFLIGHT = Number(process.env.FLOOD_INFLIGHT ?? 200);
const OUT = process.env.BENCH_OUT ?? path.join(__dirname, 'results', 'forged-flood.json');

function get(base: string, token: string, from: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      `${base}/cds-services`,
      { localAddress: from, agent, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function scenario(name: string, flood: boolean, env: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-flood-'));
  const [ehr, attacker] = await Promise.all([makeKey('ES384'), makeKey('ES384')]);
  const clients = path.join(dir, 'clients.json');
  fs.writeFileSync(
    clients,
    JSON.stringify({ clients: [{ iss: ISS, jwks: { keys: [ehr.publicJwk] }, fhirServerOrigins: [] }] }),
  );
  const ct = await spawnCrosstalk({
    CROSSTALK_DEV_MODE: 'false',
    CROSSTALK_TRUSTED_CLIENTS: clients,
    CROSSTALK_AUDIT_HMAC_KEY: 'bench-audit-key-0123456789abcdef0123456789',
    CROSSTALK_DATA_DIR: path.join(dir, 'data'),
    PUBLIC_BASE_URL: PUBLIC,
    ...env,
  });
  const forged = await sign({ iss: ISS, aud: AUD, key: attacker, kid: ehr.kid, expSeconds: 600 });
  const tokens = await Promise.all(Array.from({ length: 4000 }, () => sign({ iss: ISS, aud: AUD, key: ehr })));
  const ehrAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const floodAgent = new http.Agent({ keepAlive: true, maxSockets: FLOOD_INFLIGHT });
  const statuses: Record<string, number> = {};
  let inflight = 0;
  let running = true;
  const floodTimer = flood
    ? setInterval(() => {
        for (let i = 0; i < FLOOD_RATE / 100 && inflight < FLOOD_INFLIGHT; i++) {
          inflight += 1;
          void get(ct.url, forged, '127.0.0.2', floodAgent).then((s) => {
            inflight -= 1;
            statuses[s] = (statuses[s] ?? 0) + 1;
          });
        }
      }, 10)
    : undefined;
  const latencies: number[] = [];
  const ehrStatuses: Record<string, number> = {};
  const stop = setTimeout(() => {
    running = false;
  }, DURATION_S * 1000);
  // A second of flood first: the EHR is measured under it, not before it.
  await new Promise((r) => setTimeout(r, 1000));
  while (running && latencies.length < tokens.length) {
    const t0 = performance.now();
    const s = await get(ct.url, tokens[latencies.length] as string, '127.0.0.1', ehrAgent);
    latencies.push(performance.now() - t0);
    ehrStatuses[s] = (ehrStatuses[s] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, 5));
  }
  clearTimeout(stop);
  if (floodTimer) clearInterval(floodTimer);
  while (inflight > 0) await new Promise((r) => setTimeout(r, 20));
  ehrAgent.destroy();
  floodAgent.destroy();
  ct.child.kill('SIGTERM');
  await ct.exited;
  fs.rmSync(dir, { recursive: true, force: true });
  const floodSent = Object.values(statuses).reduce((a, b) => a + b, 0);
  const r = {
    name,
    ehrCalls: latencies.length,
    ehrStatuses,
    p50Ms: Math.round(pct(latencies, 50) * 10) / 10,
    p95Ms: Math.round(pct(latencies, 95) * 10) / 10,
    floodPerS: Math.round(floodSent / DURATION_S),
    floodStatuses: statuses,
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
  return r;
}

async function main() {
  const results = [
    await scenario('no flood', false, {}),
    await scenario('flood, failed-auth limit off', true, { CROSSTALK_RATE_LIMIT_FAILED_AUTH_PER_MIN: '0' }),
    await scenario('flood, default limits', true, {}),
  ];
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(
    OUT,
    `${JSON.stringify({ at: new Date().toISOString(), cpus: os.cpus().length, floodRate: FLOOD_RATE, results }, null, 2)}\n`,
  );
}

void main();
