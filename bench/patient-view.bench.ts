/**
 * Patient-view throughput/latency benchmark (`npm run bench`): see bench/README.md.
 *
 * One run measures, with autocannon on 127.0.0.1, every server in a child process of its own:
 *   floor          a plain express app that parses the same ~10 KB prefetch body and answers Crosstalk's own
 *                  ~6.5 KB answer (res.json of the same object): what any express JSON endpoint costs
 *   prefetch       POST /cds-services/bone-muscle-patient-view with full prefetch, development mode (no JWT)
 *   prefetch-jwt   the same call to Crosstalk in production mode: an ES384 JWT on every call (pre-signed,
 *                  distinct jti), a trusted client with inline keys, the jti remembered in the store
 *   fhir-fallback  the same call without prefetch: Crosstalk reads a FHIR fixture (its own process) that answers
 *                  each read after 20 ms
 * then the three Crosstalk modes again at 100 connections, for peak RSS under a crowd.
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 3), BENCH_CONNECTIONS (default 10),
 *      BENCH_CROWD (connections of the RSS pass, default 100; 0 skips it), BENCH_CROWD_DURATION (s, default 5),
 *      BENCH_MODES (comma list, default all four), BENCH_FHIR_DELAY_MS (default 20), BENCH_JWT_TOKENS (pool
 *      size; default sized from the prefetch rate), BENCH_OUT (JSON path, default bench/results/latest.json),
 *      BENCH_LOG_LEVEL (Crosstalk's LOG_LEVEL, default silent; logs go to /dev/null),
 *      BENCH_PROF=1 (--cpu-prof the Crosstalk children; BENCH_PROF_DIR, default <tmp>/crosstalk-bench-prof).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type * as ExpressModule from 'express';
import type * as ServicesModule from '../src/cds/services';
import type * as FhirServerModule from '../src/demo/fhir-server';
import type * as PatientsModule from '../src/demo/patients';
import type * as StartModule from '../src/server/start';

const HOST = '127.0.0.1';
const SERVICE_ID = 'bone-muscle-patient-view';
const PATIENT_ID = 'demo-low-ccr';
const EXPECTED_RULE = 'low-ccr';
const RESULTS_DIR = path.join(__dirname, 'results');
const JWT_ISS = 'https://ehr.bench.example/';
const JWT_KID = 'bench-es384';
// A fixed, throwaway audit key: the bench's stores are deleted with their temporary directories.
const AUDIT_KEY = 'bench-audit-key-0123456789abcdef0123456789abcdef';

type ServerKind = 'floor' | 'crosstalk-dev' | 'crosstalk-prod' | 'fhir-fixture';
type Mode = 'floor' | 'prefetch' | 'prefetch-jwt' | 'fhir-fallback';
const MODES: Mode[] = ['floor', 'prefetch', 'prefetch-jwt', 'fhir-fallback'];

interface Sample {
  /** process.cpuUsage() of the server process, µs. */
  userUs: number;
  systemUs: number;
  rssBytes: number;
  /** The process's peak resident set so far (getrusage maxrss). */
  peakRssBytes: number;
}

interface ServerHandle {
  kind: ServerKind;
  url: string;
  pid: number;
  /** What the server reported when ready (Crosstalk: its public base URL, the JWT audience's origin). */
  info: Record<string, string>;
  sample(): Promise<Sample>;
  close(): Promise<void>;
}

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

function sample(): Sample {
  const c = process.cpuUsage();
  return {
    userUs: c.user,
    systemUs: c.system,
    rssBytes: process.memoryUsage.rss(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Servers (each in a child process: this file forked with --serve <kind> <json args>)
// ---------------------------------------------------------------------------------------------------------------

interface Started {
  url: string;
  info?: Record<string, string>;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(`http://${HOST}:${(server.address() as AddressInfo).port}`));
  });
}

function closer(server: http.Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

/** The floor: what a plain express JSON endpoint costs for the same bytes in and out. */
async function startFloor(args: { answerFile: string }): Promise<Started> {
  const express = require('express') as typeof ExpressModule.default;
  const answer: unknown = JSON.parse(fs.readFileSync(args.answerFile, 'utf8'));
  const app = express();
  // As Crosstalk: no ETag on computed POST answers, no x-powered-by.
  app.set('etag', false);
  app.disable('x-powered-by');
  app.post('/cds-services/:id', express.json({ limit: '5mb' }), (req, res) => {
    if (typeof req.body !== 'object' || req.body === null) {
      res.status(400).end();
      return;
    }
    res.json(answer);
  });
  const server = http.createServer(app);
  const url = await listen(server);
  return { url, close: closer(server) };
}

function storeDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-bench-'));
}

async function startCrosstalk(env: NodeJS.ProcessEnv): Promise<Started> {
  // Loaded lazily so that the floor's and the fixture's processes never load Crosstalk.
  const { start } = require('../src/server/start') as typeof StartModule;
  const dataDir = storeDir();
  const running = await start({
    PORT: '0',
    HOST,
    // Logs go to the child's stdout, which is /dev/null: a level other than silent measures their cost.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'silent',
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_AUDIT_HMAC_KEY: AUDIT_KEY,
    // Every call is audited (SQLite, synchronous=FULL) as in production; the store goes to a throwaway directory.
    CROSSTALK_DATA_DIR: dataDir,
    ...env,
  });
  return {
    url: running.url,
    info: { publicBaseUrl: running.config.publicBaseUrl },
    close: async () => {
      running.server.closeAllConnections();
      await running.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Development mode: no JWT; fhirServer may be the fixture over http. */
function startCrosstalkDev(args: { fhirOrigin: string }): Promise<Started> {
  return startCrosstalk({ CROSSTALK_DEV_MODE: 'true', CROSSTALK_DEV_FHIR_ORIGINS: args.fhirOrigin });
}

/** Production mode, configured as README "Registering an EHR" says: one trusted client with an inline ES384 key. */
async function startCrosstalkProd(args: { fhirOrigin: string; publicJwk: Record<string, unknown> }): Promise<Started> {
  // A production deployment has a fixed port and PUBLIC_BASE_URL (the JWT audience): take a free port first.
  const probe = http.createServer();
  const port = new URL(await listen(probe)).port;
  await closer(probe)();
  const file = path.join(storeDir(), 'trusted-clients.json');
  const clients = {
    clients: [
      {
        name: 'bench EHR',
        iss: JWT_ISS,
        jwks: { keys: [args.publicJwk] },
        algorithms: ['ES384'],
        fhirServerOrigins: [args.fhirOrigin],
      },
    ],
  };
  fs.writeFileSync(file, JSON.stringify(clients));
  return startCrosstalk({
    PORT: port,
    PUBLIC_BASE_URL: `http://${HOST}:${port}`,
    CROSSTALK_DEV_MODE: 'false',
    CROSSTALK_TRUSTED_CLIENTS: file,
    // The fixture is plain http on loopback, which production refuses unless listed here too.
    CROSSTALK_INSECURE_FHIR_ORIGINS: args.fhirOrigin,
  });
}

/** `Observation?patient=x&code=a,b` and its percent-encoded form give the same key. */
function fixtureKey(pathAndQuery: string): string {
  const u = new URL(pathAndQuery, 'http://fixture.invalid/');
  const params = [...u.searchParams.entries()].sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y));
  return `${decodeURIComponent(u.pathname)}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

/**
 * A FHIR server in a process of its own that answers each of the patient-view reads for the benchmark patient
 * after a fixed delay, as a remote FHIR server would. The answers are read once, at start, from the demo's
 * in-memory FHIR server (medplum), then served from memory, so the fixture's own CPU cost stays small and
 * constant: the fallback mode measures Crosstalk, not a FHIR server's search engine.
 */
/** The service as discovery serves it: its prefetch code lists are filled from the code sets when services load. */
function serviceDefinition(): { discovery: { prefetch: Record<string, string> }; required: string[] } {
  const { loadServices } = require('../src/cds/services') as typeof ServicesModule;
  const service = loadServices().get(SERVICE_ID);
  if (!service) throw new Error(`no service ${SERVICE_ID}`);
  return service.definition;
}

async function startFhirFixture(args: { delayMs: number }): Promise<Started> {
  const express = require('express') as typeof ExpressModule.default;
  const { createEmbeddedFhirServer } = require('../src/demo/fhir-server') as typeof FhirServerModule;
  const { demoTransaction } = require('../src/demo/patients') as typeof PatientsModule;
  const source = await createEmbeddedFhirServer();
  await source.seed(demoTransaction(new Date()));
  const sourceApp = express();
  sourceApp.use('/fhir', source.router);
  const sourceServer = http.createServer(sourceApp);
  const sourceUrl = await listen(sourceServer);

  const answers = new Map<string, Buffer>();
  for (const template of Object.values(serviceDefinition().discovery.prefetch)) {
    const relative = template.replace(/\{\{\s*context\.patientId\s*\}\}/g, encodeURIComponent(PATIENT_ID));
    const r = await fetch(`${sourceUrl}/fhir/${relative}`, { headers: { accept: 'application/fhir+json' } });
    if (r.status !== 200) throw new Error(`fixture: ${relative} answered ${r.status}`);
    const resource = (await r.json()) as { link?: { relation: string }[] };
    // One page each: a next link would point at the source server, which goes away. The self link stays, as an
    // EHR's prefetch Bundle has one too.
    if (resource.link?.some((l) => l.relation === 'next'))
      throw new Error(`fixture: ${relative} has more than one page`);
    answers.set(fixtureKey(relative), Buffer.from(JSON.stringify(resource)));
  }
  await closer(sourceServer)();

  let hits = 0;
  let misses = 0;
  const server = http.createServer((req, res) => {
    const relative = (req.url ?? '').replace(/^\/fhir\//, '');
    if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hits, misses }));
      return;
    }
    const body = answers.get(fixtureKey(relative));
    if (body) hits += 1;
    else misses += 1;
    setTimeout(() => {
      if (body)
        res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': body.length }).end(body);
      else
        res
          .writeHead(404, { 'content-type': 'application/fhir+json' })
          .end('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}');
    }, args.delayMs);
  });
  const url = await listen(server);
  return { url, close: closer(server) };
}

const starters: Record<ServerKind, (args: never) => Promise<Started>> = {
  floor: startFloor,
  'crosstalk-dev': startCrosstalkDev,
  'crosstalk-prod': startCrosstalkProd,
  'fhir-fixture': startFhirFixture,
};

type ChildMessage =
  | { type: 'ready'; url: string; info: Record<string, string> }
  | ({ type: 'sample' } & Sample)
  | { type: 'failed'; message: string };

/** Child-process entry: start one server, report its URL, answer sample requests, stop on request. */
async function serve(kind: ServerKind, args: unknown): Promise<void> {
  const send = (m: ChildMessage) => process.send?.(m);
  try {
    const s = await (starters[kind] as (a: unknown) => Promise<Started>)(args);
    process.on('message', (m: { type?: string }) => {
      if (m?.type === 'sample') send({ type: 'sample', ...sample() });
      else if (m?.type === 'stop') void s.close().then(() => process.exit(0));
    });
    process.on('disconnect', () => process.exit(0)); // the bench process went away
    send({ type: 'ready', url: s.url, info: s.info ?? {} });
  } catch (e) {
    send({ type: 'failed', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    process.exit(1);
  }
}

function startChild(kind: ServerKind, args: unknown = {}): Promise<ServerHandle> {
  const execArgv = [...process.execArgv];
  if (kind.startsWith('crosstalk') && process.env.BENCH_PROF === '1') {
    const dir = process.env.BENCH_PROF_DIR || path.join(os.tmpdir(), 'crosstalk-bench-prof');
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  // The child inherits tsx's loader flags through execArgv.
  const child: ChildProcess = fork(__filename, ['--serve', kind, JSON.stringify(args)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv,
  });
  return new Promise<ServerHandle>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${kind} server process exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'failed') reject(new Error(`${kind} server failed to start: ${m.message}`));
      if (m.type !== 'ready') return;
      child.off('exit', onExit);
      resolve({
        kind,
        url: m.url,
        info: m.info,
        pid: child.pid as number,
        sample: () =>
          new Promise<Sample>((res) => {
            const on = (r: ChildMessage) => {
              if (r.type !== 'sample') return;
              child.off('message', on);
              const { type: _, ...s } = r;
              res(s);
            };
            child.on('message', on);
            child.send({ type: 'sample' });
          }),
        close: () =>
          new Promise<void>((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(timer);
              res();
            });
            child.send({ type: 'stop' });
          }),
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// JWTs: ES384, signed ahead of the run so the load generator only picks the next one
// ---------------------------------------------------------------------------------------------------------------

class TokenPool {
  private readonly tokens: string[] = [];
  private next = 0;
  exhausted = 0;

  constructor(
    private readonly key: KeyObject,
    private readonly audience: string,
  ) {}

  fill(n: number): void {
    const header = Buffer.from(JSON.stringify({ alg: 'ES384', typ: 'JWT', kid: JWT_KID })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < n; i++) {
      const claims = { iss: JWT_ISS, aud: this.audience, iat: now, exp: now + 600, jti: randomUUID() };
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      const signature = sign('sha384', Buffer.from(input), { key: this.key, dsaEncoding: 'ieee-p1363' }).toString(
        'base64url',
      );
      this.tokens.push(`${input}.${signature}`);
    }
  }

  get size(): number {
    return this.tokens.length;
  }

  get used(): number {
    return this.next;
  }

  /** A fresh token; once the pool is spent one is signed on the spot (the load generator's time: counted, reported). */
  take(): string {
    if (this.next >= this.tokens.length) {
      this.exhausted += 1;
      this.fill(1);
    }
    return this.tokens[this.next++] as string;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies and checks
// ---------------------------------------------------------------------------------------------------------------

interface CardLike {
  extension?: { crosstalk?: { ruleId?: string } };
}

/** Full prefetch, read from the fixture with the service's own templates: what an EHR would send. */
async function buildPrefetch(fhirServer: string): Promise<Record<string, unknown>> {
  const def = serviceDefinition();
  const prefetch: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(def.discovery.prefetch)) {
    const relative = template.replace(/\{\{\s*context\.patientId\s*\}\}/g, encodeURIComponent(PATIENT_ID));
    const r = await fetch(`${fhirServer}/${relative}`, { headers: { accept: 'application/fhir+json' } });
    if (r.status !== 200) throw new Error(`prefetch ${key}: the fixture answered ${r.status}`);
    const resource = (await r.json()) as { resourceType?: string; entry?: unknown[] };
    const expected = relative.includes('?') ? 'Bundle' : relative.split('/')[0];
    if (resource.resourceType !== expected)
      throw new Error(`prefetch ${key}: expected ${expected}, got ${resource.resourceType}`);
    // Optional context keys (medicines, conditions, DXA…) are legitimately empty for the benchmark patient.
    if (expected === 'Bundle' && def.required.includes(key) && !Array.isArray(resource.entry))
      throw new Error(`prefetch ${key}: the search found nothing`);
    prefetch[key] = resource;
  }
  return prefetch;
}

function requestBody(fhirServer: string, prefetch?: Record<string, unknown>): string {
  return JSON.stringify({
    hook: 'patient-view',
    hookInstance: randomUUID(),
    fhirServer,
    context: { userId: 'Practitioner/bench', patientId: PATIENT_ID },
    ...(prefetch ? { prefetch } : {}),
  });
}

interface Target {
  mode: Mode;
  url: string;
  body: string;
  server: ServerHandle;
  tokens?: TokenPool;
  /** Throws unless the response is the expected one. */
  check(status: number, text: string): void;
}

function checkCards(status: number, text: string): void {
  if (status !== 200) throw new Error(`HTTP ${status}: ${text.slice(0, 500)}`);
  const json = JSON.parse(text) as { cards?: CardLike[] };
  const cards = json.cards ?? [];
  const rules = cards.map((c) => c.extension?.crosstalk?.ruleId);
  if (cards.length !== 1 || rules[0] !== EXPECTED_RULE) {
    throw new Error(`expected exactly one "${EXPECTED_RULE}" card, got ${cards.length}: ${JSON.stringify(rules)}`);
  }
}

async function call(t: Target): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (t.tokens) headers.authorization = `Bearer ${t.tokens.take()}`;
  const r = await fetch(t.url, { method: 'POST', headers, body: t.body });
  return { status: r.status, text: await r.text() };
}

async function verify(t: Target): Promise<string> {
  const { status, text } = await call(t);
  try {
    t.check(status, text);
  } catch (e) {
    throw new Error(`${t.mode}: ${(e as Error).message}`);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------------------------

interface RunResult {
  mode: Mode;
  connections: number;
  reqPerSec: number;
  requests: number;
  durationS: number;
  latencyMs: {
    p50: number;
    p90: number;
    p99: number;
    max: number;
    mean: number;
    autocannonP50: number;
    autocannonP99: number;
  };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  serverCpuPct: number;
  serverCpuUsPerReq: number;
  serverRssMB: number;
  /** The server process's peak resident set since it started (so far, this mode included). */
  serverPeakRssMB: number;
  loadGenCpuPct: number;
  requestBytes: number;
  responseBytesAvg: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

function cannon(t: Target, seconds: number, connections: number, latencies?: number[]) {
  const headers = { 'content-type': 'application/json' };
  const tokens = t.tokens;
  const instance = autocannon({
    url: t.url,
    method: 'POST',
    headers,
    body: t.body,
    connections,
    duration: seconds,
    timeout: 10,
    title: t.mode,
    ...(tokens
      ? {
          requests: [
            {
              method: 'POST',
              body: t.body,
              setupRequest: (req) => ({ ...req, headers: { ...headers, authorization: `Bearer ${tokens.take()}` } }),
            },
          ],
        }
      : {}),
  });
  // autocannon's own histogram has 1 ms resolution; keep the exact (hrtime, fractional ms) times too.
  if (latencies) instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  return instance;
}

async function measure(
  t: Target,
  seconds: number,
  warmup: number,
  connections: number,
): Promise<{ result: RunResult; warmupFailures: number }> {
  let warmupFailures = 0;
  if (warmup > 0) {
    const w = await cannon(t, warmup, connections);
    warmupFailures = w.errors + w.non2xx;
  }
  const latencies: number[] = [];
  const s0 = await t.server.sample();
  const gen0 = process.cpuUsage();
  const wall0 = performance.now();
  const r = await cannon(t, seconds, connections, latencies);
  const wallUs = (performance.now() - wall0) * 1000;
  const gen = process.cpuUsage(gen0);
  const s1 = await t.server.sample();
  await verify(t); // still answering correctly after the load

  const sorted = Float64Array.from(latencies).sort();
  const serverCpuUs = s1.userUs - s0.userUs + (s1.systemUs - s0.systemUs);
  const completed = r.latency.totalCount || sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
  return {
    warmupFailures,
    result: {
      mode: t.mode,
      connections,
      reqPerSec: r.requests.average,
      requests: r['2xx'],
      durationS: r.duration,
      latencyMs: {
        p50: percentile(sorted, 0.5),
        p90: percentile(sorted, 0.9),
        p99: percentile(sorted, 0.99),
        max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
        mean,
        autocannonP50: r.latency.p50,
        autocannonP99: r.latency.p99,
      },
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
      serverCpuPct: (100 * serverCpuUs) / wallUs,
      serverCpuUsPerReq: completed ? serverCpuUs / completed : Number.NaN,
      serverRssMB: s1.rssBytes / 2 ** 20,
      serverPeakRssMB: s1.peakRssBytes / 2 ** 20,
      loadGenCpuPct: (100 * (gen.user + gen.system)) / wallUs,
      requestBytes: Buffer.byteLength(t.body),
      responseBytesAvg: r['2xx'] ? r.throughput.total / r['2xx'] : 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(rows[0] ?? []), sep, ...rows.slice(1).map(line)].join('\n');
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const times = (n: number) => (Number.isFinite(n) && n > 0 ? `${n.toFixed(2)}×` : 'n/a');
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : 'n/a');

interface TargetLine {
  name: string;
  actual: string;
  pass: boolean | null;
}

function targetsOf(results: RunResult[], crowd: RunResult[]): TargetLine[] {
  const at = (m: Mode) => results.find((r) => r.mode === m);
  const floor = at('floor');
  const pre = at('prefetch');
  const jwt = at('prefetch-jwt');
  const fb = at('fhir-fallback');
  const crosstalk = [...results, ...crowd].filter((r) => r.mode !== 'floor');
  const peak = crosstalk.length ? Math.max(...crosstalk.map((r) => r.serverPeakRssMB)) : Number.NaN;
  const crowdPeak = crowd.length ? Math.max(...crowd.map((r) => r.serverPeakRssMB)) : Number.NaN;
  const line = (name: string, ok: boolean | undefined, actual: string): TargetLine => ({
    name,
    actual: ok === undefined ? 'not measured' : actual,
    pass: ok ?? null,
  });
  return [
    line(
      'prefetch req/s ≥ 0.4 × floor',
      pre && floor ? pre.reqPerSec >= 0.4 * floor.reqPerSec : undefined,
      pre && floor
        ? `${f0(pre.reqPerSec)} req/s = ${f2(pre.reqPerSec / floor.reqPerSec)} × floor (${f0(floor.reqPerSec)})`
        : '',
    ),
    line(
      'prefetch-jwt req/s ≥ 0.85 × prefetch',
      jwt && pre ? jwt.reqPerSec >= 0.85 * pre.reqPerSec : undefined,
      jwt && pre ? `${f0(jwt.reqPerSec)} req/s = ${f2(jwt.reqPerSec / pre.reqPerSec)} × prefetch` : '',
    ),
    line('prefetch p99 < 20 ms', pre ? pre.latencyMs.p99 < 20 : undefined, pre ? `${f2(pre.latencyMs.p99)} ms` : ''),
    line(
      'prefetch-jwt p99 < 20 ms',
      jwt ? jwt.latencyMs.p99 < 20 : undefined,
      jwt ? `${f2(jwt.latencyMs.p99)} ms` : '',
    ),
    line('fhir-fallback p50 ≤ 45 ms', fb ? fb.latencyMs.p50 <= 45 : undefined, fb ? `${f2(fb.latencyMs.p50)} ms` : ''),
    line('peak RSS of each Crosstalk process < 300 MB', crosstalk.length ? peak < 300 : undefined, `${f0(peak)} MB`),
    line(
      `peak RSS < 300 MB with ${crowd[0]?.connections ?? 'n'} connections`,
      crowd.length ? crowdPeak < 300 : undefined,
      `${f0(crowdPeak)} MB`,
    ),
  ];
}

async function main(): Promise<number> {
  const seconds = intEnv('BENCH_DURATION', 10, 1);
  const warmup = intEnv('BENCH_WARMUP', 3, 0);
  const connections = intEnv('BENCH_CONNECTIONS', 10, 1);
  const crowdConnections = intEnv('BENCH_CROWD', 100, 0);
  const crowdSeconds = intEnv('BENCH_CROWD_DURATION', 5, 1);
  const delayMs = intEnv('BENCH_FHIR_DELAY_MS', 20, 0);
  const logLevel = process.env.BENCH_LOG_LEVEL || 'silent';
  const wanted = (process.env.BENCH_MODES || MODES.join(',')).split(',').map((m) => m.trim()) as Mode[];
  const unknown = wanted.filter((m) => !MODES.includes(m));
  if (unknown.length) throw new Error(`BENCH_MODES: unknown mode(s) ${unknown.join(', ')}`);

  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}, ${machine.platform}, ${machine.totalMemGB} GB, loadavg ${machine.loadavg.join(' ')}`,
  );
  console.log(
    `config:  ${connections} connections, ${warmup} s warm-up + ${seconds} s per mode; RSS pass ${crowdConnections} connections × ${crowdSeconds} s; FHIR fixture delay ${delayMs} ms; Crosstalk LOG_LEVEL ${logLevel}`,
  );
  if ((machine.loadavg[0] ?? 0) > 0.5 * machine.cpus) {
    console.log(
      `warning: the machine is busy (1-min load ${machine.loadavg[0]} on ${machine.cpus} CPUs): expect noisy numbers`,
    );
  }

  const servers: ServerHandle[] = [];
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: JWT_KID, alg: 'ES384', use: 'sig' };
  try {
    const fixture = await startChild('fhir-fixture', { delayMs });
    servers.push(fixture);
    const fhirServer = `${fixture.url}/fhir`;
    const [dev, prod] = await Promise.all([
      startChild('crosstalk-dev', { fhirOrigin: fixture.url }),
      startChild('crosstalk-prod', { fhirOrigin: fixture.url, publicJwk }),
    ]);
    servers.push(dev, prod);

    const prefetch = await buildPrefetch(fhirServer);
    const withPrefetch = requestBody(fhirServer, prefetch);
    const path_ = `/cds-services/${SERVICE_ID}`;
    const prodPublic = prod.info.publicBaseUrl ?? prod.url;
    const tokens = new TokenPool(privateKey, `${prodPublic}${path_}`);
    tokens.fill(50); // the checks below; the load's share is signed once the prefetch rate is known

    const devPrefetch: Target = {
      mode: 'prefetch',
      url: `${dev.url}${path_}`,
      body: withPrefetch,
      server: dev,
      check: checkCards,
    };
    // The floor answers what Crosstalk answers: the same object, stringified by res.json on every call.
    const answerFile = path.join(os.tmpdir(), `crosstalk-bench-answer-${process.pid}.json`);
    fs.writeFileSync(answerFile, await verify(devPrefetch));
    const floor = await startChild('floor', { answerFile });
    servers.push(floor);
    console.log(
      `servers: floor pid ${floor.pid}, crosstalk dev pid ${dev.pid}, crosstalk production pid ${prod.pid}, FHIR fixture pid ${fixture.pid}`,
    );

    const all: Target[] = [
      {
        mode: 'floor',
        url: `${floor.url}${path_}`,
        body: withPrefetch,
        server: floor,
        check: checkCards,
      },
      devPrefetch,
      { mode: 'prefetch-jwt', url: `${prod.url}${path_}`, body: withPrefetch, server: prod, tokens, check: checkCards },
      {
        mode: 'fhir-fallback',
        url: `${dev.url}${path_}`,
        body: requestBody(fhirServer),
        server: dev,
        check: checkCards,
      },
    ];
    const targets = all.filter((t) => wanted.includes(t.mode));
    for (const t of targets) await verify(t);
    const requestBytes = Buffer.byteLength(withPrefetch);
    const answerBytes = fs.statSync(answerFile).size;
    console.log(
      `checked: every mode answers 200 with exactly one "${EXPECTED_RULE}" card; request ${f1(requestBytes / 1024)} KB (${Object.keys(prefetch).length} prefetch keys), answer ${f1(answerBytes / 1024)} KB`,
    );

    const results: RunResult[] = [];
    const crowd: RunResult[] = [];
    let warmupFailures = 0;
    const run = async (t: Target, list: RunResult[], secs: number, warm: number, conns: number) => {
      process.stdout.write(`running: ${t.mode} at ${conns} connections …`);
      const m = await measure(t, secs, warm, conns);
      list.push(m.result);
      warmupFailures += m.warmupFailures;
      process.stdout.write(` ${f0(m.result.reqPerSec)} req/s\n`);
    };
    const signFor = (rate: number, secs: number) => {
      const wantedTokens = intEnv('BENCH_JWT_TOKENS', Math.ceil(rate * secs * 1.3) + 500, 1);
      const need = Math.max(0, wantedTokens - (tokens.size - tokens.used));
      const t0 = performance.now();
      tokens.fill(need);
      if (need) console.log(`signed:  ${need} ES384 tokens in ${f1((performance.now() - t0) / 1000)} s (not measured)`);
    };
    for (const t of targets) {
      if (t.mode === 'prefetch-jwt')
        signFor(results.find((r) => r.mode === 'prefetch')?.reqPerSec ?? 2000, warmup + seconds);
      await run(t, results, seconds, warmup, connections);
    }
    if (crowdConnections > 0) {
      for (const t of targets.filter((x) => x.mode !== 'floor')) {
        // At 100 connections the rate may exceed the 10-connection one: size from the fastest Crosstalk rate seen.
        const fastest = Math.max(
          0,
          ...[...results, ...crowd].filter((r) => r.mode !== 'floor').map((r) => r.reqPerSec),
        );
        if (t.mode === 'prefetch-jwt') signFor(fastest || 2000, 2 * (crowdSeconds + 1));
        await run(t, crowd, crowdSeconds, 1, crowdConnections);
      }
    }
    const stats = (await (await fetch(`${fixture.url}/stats`)).json()) as { hits: number; misses: number };

    const floorResult = results.find((r) => r.mode === 'floor');
    const pre = results.find((r) => r.mode === 'prefetch');
    const rows = [
      [
        'mode',
        'conns',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors/non-2xx',
        'vs floor',
        'vs prefetch',
        'server CPU',
        'CPU µs/req',
        'CPU vs floor',
        'peak RSS MB',
        'loadgen CPU',
      ],
      ...[...results, ...crowd].map((r) => [
        r.mode,
        String(r.connections),
        f0(r.reqPerSec),
        f2(r.latencyMs.p50),
        f2(r.latencyMs.p99),
        `${r.errors}/${r.non2xx}`,
        floorResult ? times(r.reqPerSec / floorResult.reqPerSec) : 'n/a',
        pre && r.mode === 'prefetch-jwt'
          ? times(
              r.reqPerSec /
                (crowd.includes(r)
                  ? (crowd.find((c) => c.mode === 'prefetch')?.reqPerSec ?? Number.NaN)
                  : pre.reqPerSec),
            )
          : '',
        `${f0(r.serverCpuPct)}%`,
        f0(r.serverCpuUsPerReq),
        floorResult ? times(floorResult.serverCpuUsPerReq / r.serverCpuUsPerReq) : 'n/a',
        f0(r.serverPeakRssMB),
        `${f0(r.loadGenCpuPct)}%`,
      ]),
    ];
    console.log('');
    console.log(table(rows));
    console.log('');
    console.log('latency: exact per-request times (hrtime); "server CPU" is % of one core used by the server process;');
    console.log(
      '"CPU vs floor" is the floor\'s CPU per request ÷ this mode\'s: the req/s ratio if both were CPU-bound on one core,',
    );
    console.log(
      'which a busy machine (that gives each process a different share of the CPU) does not distort as much.',
    );
    console.log(
      "peak RSS: the server process's high-water mark since it started (prefetch and fhir-fallback share one process).",
    );
    console.log(`FHIR fixture: ${stats.hits} reads answered, ${stats.misses} unknown URLs`);

    const targetsOut = targetsOf(results, crowd);
    console.log('targets:');
    for (const t of targetsOut)
      console.log(`  ${t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.actual}`);

    const failed = [...results, ...crowd].filter((r) => r.errors + r.non2xx > 0);
    if (warmupFailures) console.log(`warm-up: ${warmupFailures} requests errored or were not 2xx`);
    if (tokens.exhausted)
      console.log(
        `ERROR: the JWT pool ran out: ${tokens.exhausted} tokens were signed during the load (set BENCH_JWT_TOKENS higher)`,
      );
    if (stats.misses) console.log(`ERROR: the FHIR fixture was asked ${stats.misses} URLs it does not know`);
    for (const r of failed)
      console.log(
        `ERROR: ${r.mode}@${r.connections}: ${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx, status codes ${JSON.stringify(r.statusCodes)}`,
      );

    const out = path.resolve(process.env.BENCH_OUT || path.join(RESULTS_DIR, 'latest.json'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const bad = failed.length > 0 || warmupFailures > 0 || tokens.exhausted > 0 || stats.misses > 0;
    const report = {
      generatedAt: new Date().toISOString(),
      machine: { ...machine, loadavgAfter: os.loadavg().map((l) => Math.round(l * 100) / 100) },
      config: {
        connections,
        warmupS: warmup,
        durationS: seconds,
        crowdConnections,
        crowdS: crowdSeconds,
        fhirDelayMs: delayMs,
        logLevel,
        host: HOST,
        service: SERVICE_ID,
        patientId: PATIENT_ID,
        requestBytes,
        answerBytes,
      },
      results,
      crowd,
      fixture: stats,
      targets: targetsOut,
      requestErrors: bad,
    };
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    fs.rmSync(answerFile, { force: true });
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
    return bad ? 1 : 0;
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  const kind = process.argv[serveAt + 1] as ServerKind;
  if (!(kind in starters)) {
    process.stderr.write(`--serve needs one of ${Object.keys(starters).join(', ')}, got ${kind}\n`);
    process.exit(2);
  }
  void serve(kind, JSON.parse(process.argv[serveAt + 2] ?? '{}'));
} else {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
