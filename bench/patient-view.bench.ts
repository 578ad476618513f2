/**
 * Patient-view throughput/latency benchmark (`npm run bench`): see bench/README.md.
 *
 * One run measures three modes with autocannon on 127.0.0.1:
 *   bare           a bare node:http server answering POSTs with a fixed ~1 KB JSON card (the floor)
 *   prefetch       POST /cds-services/bone-muscle-patient-view with full prefetch (no FHIR calls)
 *   fhir-fallback  the same call without prefetch; Crosstalk reads its own embedded FHIR server over HTTP
 *
 * Topology: each server runs in its own child process (this file forked with `--serve <kind>`), autocannon
 * runs in this process, so the load generator and the server under test never share an event loop.
 * BENCH_INPROCESS=1 runs the servers in this process instead (for comparison only).
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 3), BENCH_CONNECTIONS (default 10),
 *      BENCH_MODES (comma list, default all three), BENCH_OUT (JSON path, default bench/results/latest.json),
 *      BENCH_LOG_LEVEL (Crosstalk's LOG_LEVEL, default silent; logs go to /dev/null), BENCH_INPROCESS=1,
 *      BENCH_PROF=1 (--cpu-prof the Crosstalk child; BENCH_PROF_DIR, default <tmp>/crosstalk-bench-prof).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type * as StartModule from '../src/server/start';
import type * as DemoPluginModule from '../src/demo/plugin';

const HOST = '127.0.0.1';
const SERVICE_ID = 'bone-muscle-patient-view';
const PATIENT_ID = 'demo-low-ccr';
const EXPECTED_RULE = 'low-ccr';
const SERVICE_FILE = path.join(__dirname, '..', 'cds-hooks', 'services', `${SERVICE_ID}.json`);
const RESULTS_DIR = path.join(__dirname, 'results');

type ServerKind = 'bare' | 'crosstalk';
type Mode = 'bare' | 'prefetch' | 'fhir-fallback';

interface CpuSample {
  /** process.cpuUsage() of the server process, µs. */
  userUs: number;
  systemUs: number;
  rssBytes: number;
}

interface ServerHandle {
  kind: ServerKind;
  url: string;
  pid: number;
  cpu(): Promise<CpuSample>;
  close(): Promise<void>;
}

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

function sample(): CpuSample {
  const c = process.cpuUsage();
  return { userUs: c.user, systemUs: c.system, rssBytes: process.memoryUsage.rss() };
}

// ---------------------------------------------------------------------------------------------------------------
// Servers (run in a child process with --serve, or in-process with BENCH_INPROCESS=1)
// ---------------------------------------------------------------------------------------------------------------

/** A fixed card shaped like Crosstalk's, padded so the JSON body is ~1 KB. */
function bareBody(): Buffer {
  const card = {
    uuid: '00000000-0000-4000-8000-000000000000',
    summary: 'Possible low muscle mass: creatinine/cystatin C ratio 0.60 (below 0.68, PROVISIONAL)',
    indicator: 'warning',
    detail: '',
    source: { label: 'Crosstalk bone–muscle advisory (research-grade)' },
    extension: { crosstalk: { ruleId: EXPECTED_RULE, measures: [{ id: 'ccr', value: 0.6, unit: '1' }] } },
  };
  const base = Buffer.byteLength(JSON.stringify({ cards: [card] }));
  card.detail = '**What was found**\n\n- '.padEnd(Math.max(0, 1024 - base), 'x');
  return Buffer.from(JSON.stringify({ cards: [card] }));
}

async function startBare(): Promise<{ url: string; close(): Promise<void> }> {
  const body = bareBody();
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    // Drain the request body without parsing it: this is the floor, not a CDS service.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function startCrosstalk(): Promise<{ url: string; close(): Promise<void> }> {
  // Loaded lazily so that the bare server's process never loads Crosstalk.
  const { start } = require('../src/server/start') as typeof StartModule;
  const { demoPlugin } = require('../src/demo/plugin') as typeof DemoPluginModule;
  const running = await start({
    PORT: '0',
    HOST,
    // Logs go to the child's stdout, which is /dev/null: a level other than silent measures their cost.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'silent',
    CROSSTALK_EMBEDDED_FHIR: 'true',
    CROSSTALK_DEMO_SEED: 'true',
    // No JWT per call, and fhirServer may be this service's own origin (the embedded server) over http.
    // Production calls add JWT verification; see bench/README.md.
    CROSSTALK_DEV_MODE: 'true',
    // Every call is audited (SQLite, synchronous=FULL) as in production; the store goes to a throwaway directory.
    CROSSTALK_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-bench-')),
  }, undefined, [demoPlugin]);
  return {
    url: running.url,
    close: async () => {
      running.server.closeAllConnections();
      await running.close();
    },
  };
}

const starters: Record<ServerKind, () => Promise<{ url: string; close(): Promise<void> }>> = {
  bare: startBare,
  crosstalk: startCrosstalk,
};

type ChildMessage = { type: 'ready'; url: string } | ({ type: 'cpu' } & CpuSample) | { type: 'failed'; message: string };

/** Child-process entry: start one server, report its URL, answer CPU-usage requests, stop on request. */
async function serve(kind: ServerKind): Promise<void> {
  const send = (m: ChildMessage) => process.send?.(m);
  try {
    const s = await starters[kind]();
    process.on('message', (m: { type?: string }) => {
      if (m?.type === 'cpu') send({ type: 'cpu', ...sample() });
      else if (m?.type === 'stop') void s.close().then(() => process.exit(0));
    });
    process.on('disconnect', () => process.exit(0)); // the bench process went away
    send({ type: 'ready', url: s.url });
  } catch (e) {
    send({ type: 'failed', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    process.exit(1);
  }
}

function startChild(kind: ServerKind): Promise<ServerHandle> {
  const execArgv = [...process.execArgv];
  if (kind === 'crosstalk' && process.env.BENCH_PROF === '1') {
    const dir = process.env.BENCH_PROF_DIR || path.join(os.tmpdir(), 'crosstalk-bench-prof');
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  // The child inherits tsx's loader flags through execArgv.
  const child: ChildProcess = fork(__filename, ['--serve', kind], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
  return new Promise<ServerHandle>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${kind} server process exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'failed') reject(new Error(`${kind} server failed to start: ${m.message}`));
      if (m.type !== 'ready') return;
      child.off('exit', onExit);
      resolve({
        kind,
        url: m.url,
        pid: child.pid as number,
        cpu: () =>
          new Promise<CpuSample>((res) => {
            const on = (r: ChildMessage) => {
              if (r.type !== 'cpu') return;
              child.off('message', on);
              res({ userUs: r.userUs, systemUs: r.systemUs, rssBytes: r.rssBytes });
            };
            child.on('message', on);
            child.send({ type: 'cpu' });
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

async function startInProcess(kind: ServerKind): Promise<ServerHandle> {
  const s = await starters[kind]();
  return { kind, url: s.url, pid: process.pid, cpu: async () => sample(), close: s.close };
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies and checks
// ---------------------------------------------------------------------------------------------------------------

interface CardLike {
  extension?: { crosstalk?: { ruleId?: string } };
}

async function getJson(url: string): Promise<{ resourceType?: string } & Record<string, unknown>> {
  const r = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
  return (await r.json()) as { resourceType?: string } & Record<string, unknown>;
}

/** Full prefetch, read from the embedded FHIR server with the service's own templates. */
async function buildPrefetch(crosstalkUrl: string): Promise<Record<string, unknown>> {
  const def = JSON.parse(fs.readFileSync(SERVICE_FILE, 'utf8')) as { required: string[] };
  // The templates as discovery serves them: their code lists are filled from the code sets when the services load.
  const { services } = (await getJson(`${crosstalkUrl}/cds-services`)) as unknown as { services: { id: string; prefetch: Record<string, string> }[] };
  const prefetch: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(services.find((s) => s.id === SERVICE_ID)?.prefetch ?? {})) {
    const relative = template.replace(/\{\{\s*context\.patientId\s*\}\}/g, encodeURIComponent(PATIENT_ID));
    if (/\{\{/.test(relative)) throw new Error(`prefetch ${key}: unfilled token in ${template}`);
    const resource = await getJson(`${crosstalkUrl}/fhir/${relative}`);
    const expected = relative.includes('?') ? 'Bundle' : relative.split('/')[0];
    if (resource.resourceType !== expected) throw new Error(`prefetch ${key}: expected ${expected}, got ${resource.resourceType}`);
    // Optional context keys (medicines, conditions, DXA…) are legitimately empty for the benchmark patient.
    if (expected === 'Bundle' && def.required.includes(key) && !Array.isArray(resource.entry)) throw new Error(`prefetch ${key}: the search found nothing`);
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

function checkBare(status: number, text: string): void {
  if (status !== 200) throw new Error(`HTTP ${status}`);
  const json = JSON.parse(text) as { cards?: CardLike[] };
  if (json.cards?.[0]?.extension?.crosstalk?.ruleId !== EXPECTED_RULE) throw new Error('unexpected bare body');
}

async function verify(t: Target): Promise<void> {
  const r = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: t.body });
  const text = await r.text();
  try {
    t.check(r.status, text);
  } catch (e) {
    throw new Error(`${t.mode}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------------------------

interface RunResult {
  mode: Mode;
  reqPerSec: number;
  requests: number;
  durationS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number; autocannonP50: number; autocannonP99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  serverCpuPct: number;
  serverCpuUsPerReq: number;
  serverRssMB: number;
  loadGenCpuPct: number;
  requestBytes: number;
  responseBytesAvg: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

async function cannon(t: Target, seconds: number, connections: number, latencies?: number[]) {
  const instance = autocannon({
    url: t.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: t.body,
    connections,
    duration: seconds,
    timeout: 10,
    title: t.mode,
  });
  // autocannon's own histogram has 1 ms resolution; keep the exact (hrtime, fractional ms) times too.
  if (latencies) instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  return instance;
}

async function measure(t: Target, seconds: number, warmup: number, connections: number): Promise<{ result: RunResult; warmupFailures: number }> {
  let warmupFailures = 0;
  if (warmup > 0) {
    const w = await cannon(t, warmup, connections);
    warmupFailures = w.errors + w.non2xx;
  }
  const latencies: number[] = [];
  const cpu0 = await t.server.cpu();
  const gen0 = process.cpuUsage();
  const wall0 = performance.now();
  const r = await cannon(t, seconds, connections, latencies);
  const wallUs = (performance.now() - wall0) * 1000;
  const gen = process.cpuUsage(gen0);
  const cpu1 = await t.server.cpu();
  await verify(t); // still answering correctly after the load

  const sorted = Float64Array.from(latencies).sort();
  const serverCpuUs = cpu1.userUs - cpu0.userUs + (cpu1.systemUs - cpu0.systemUs);
  const completed = r.latency.totalCount || sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
  return {
    warmupFailures,
    result: {
      mode: t.mode,
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
      serverRssMB: cpu1.rssBytes / 2 ** 20,
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
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(rows[0] ?? []), sep, ...rows.slice(1).map(line)].join('\n');
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : 'n/a');

async function main(): Promise<number> {
  const seconds = intEnv('BENCH_DURATION', 10, 1);
  const warmup = intEnv('BENCH_WARMUP', 3, 0);
  const connections = intEnv('BENCH_CONNECTIONS', 10, 1);
  const inProcess = process.env.BENCH_INPROCESS === '1';
  const logLevel = process.env.BENCH_LOG_LEVEL || 'silent';
  if (inProcess && logLevel !== 'silent') throw new Error('BENCH_LOG_LEVEL needs the child-process topology (its logs would fill this output)');
  const topology = inProcess
    ? 'in-process: servers and autocannon share one process and event loop'
    : 'child processes: each server in its own process (fork), autocannon in the parent';

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
  console.log(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}, ${machine.platform}, ${machine.totalMemGB} GB, loadavg ${machine.loadavg.join(' ')}`);
  console.log(`config:  ${connections} connections, ${warmup} s warm-up + ${seconds} s per mode, Crosstalk LOG_LEVEL ${logLevel}, ${topology}`);
  if ((machine.loadavg[0] ?? 0) > 0.5 * machine.cpus) {
    console.log(`warning: the machine is busy (1-min load ${machine.loadavg[0]} on ${machine.cpus} CPUs): expect noisy numbers`);
  }

  const startServer = inProcess ? startInProcess : startChild;
  const servers: ServerHandle[] = [];
  try {
    const [bare, crosstalk] = await Promise.all([startServer('bare'), startServer('crosstalk')]);
    servers.push(bare, crosstalk);
    console.log(`servers: bare ${bare.url} (pid ${bare.pid}), crosstalk ${crosstalk.url} (pid ${crosstalk.pid})`);

    const fhirServer = `${crosstalk.url}/fhir`;
    const prefetch = await buildPrefetch(crosstalk.url);
    const withPrefetch = requestBody(fhirServer, prefetch);
    const serviceUrl = `${crosstalk.url}/cds-services/${SERVICE_ID}`;
    const targets: Target[] = [
      // The bare server gets the same request body as the prefetch call, so both move the same bytes.
      { mode: 'bare', url: `${bare.url}/cds-services/${SERVICE_ID}`, body: withPrefetch, server: bare, check: checkBare },
      { mode: 'prefetch', url: serviceUrl, body: withPrefetch, server: crosstalk, check: checkCards },
      { mode: 'fhir-fallback', url: serviceUrl, body: requestBody(fhirServer), server: crosstalk, check: checkCards },
    ];
    const wanted = (process.env.BENCH_MODES || 'bare,prefetch,fhir-fallback').split(',').map((m) => m.trim());
    const unknown = wanted.filter((m) => !targets.some((t) => t.mode === m));
    if (unknown.length) throw new Error(`BENCH_MODES: unknown mode(s) ${unknown.join(', ')}`);
    for (const t of targets) await verify(t);
    console.log(`checked: every mode answers 200; Crosstalk modes return exactly one "${EXPECTED_RULE}" card`);

    const results: RunResult[] = [];
    let warmupFailures = 0;
    for (const t of targets.filter((x) => wanted.includes(x.mode))) {
      process.stdout.write(`running: ${t.mode} …`);
      const m = await measure(t, seconds, warmup, connections);
      results.push(m.result);
      warmupFailures += m.warmupFailures;
      process.stdout.write(` ${f0(m.result.reqPerSec)} req/s\n`);
    }

    const bareResult = results.find((r) => r.mode === 'bare');
    const pre = results.find((r) => r.mode === 'prefetch');
    const rows = [
      ['mode', 'req/s', 'p50 ms', 'p99 ms', 'errors/non-2xx', 'req/s vs bare', 'p99 vs bare', 'server CPU', 'CPU µs/req', 'loadgen CPU'],
      ...results.map((r) => [
        r.mode,
        f0(r.reqPerSec),
        f2(r.latencyMs.p50),
        f2(r.latencyMs.p99),
        `${r.errors}/${r.non2xx}`,
        bareResult ? `${f2(r.reqPerSec / bareResult.reqPerSec)}×` : 'n/a',
        bareResult ? `${f1(r.latencyMs.p99 / bareResult.latencyMs.p99)}×` : 'n/a',
        `${f0(r.serverCpuPct)}%`,
        f0(r.serverCpuUsPerReq),
        `${f0(r.loadGenCpuPct)}%`,
      ]),
    ];
    console.log('');
    console.log(table(rows));
    console.log('');
    console.log('latency: exact per-request times (hrtime); "server CPU" is % of one core used by the server process.');

    const targetsOut = [
      {
        name: 'prefetch req/s ≥ 0.5 × bare',
        actual: pre && bareResult ? `${f0(pre.reqPerSec)} req/s = ${f2(pre.reqPerSec / bareResult.reqPerSec)} × bare (${f0(bareResult.reqPerSec)})` : 'not measured',
        pass: pre && bareResult ? pre.reqPerSec >= 0.5 * bareResult.reqPerSec : null,
      },
      { name: 'prefetch p99 < 25 ms', actual: pre ? `${f2(pre.latencyMs.p99)} ms` : 'not measured', pass: pre ? pre.latencyMs.p99 < 25 : null },
    ];
    console.log('targets:');
    for (const t of targetsOut) console.log(`  ${t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.actual}`);

    const failed = results.filter((r) => r.errors + r.non2xx > 0);
    if (warmupFailures) console.log(`warm-up: ${warmupFailures} requests errored or were not 2xx`);
    for (const r of failed) console.log(`ERROR: ${r.mode}: ${r.errors} errors (${r.timeouts} timeouts), ${r.non2xx} non-2xx, status codes ${JSON.stringify(r.statusCodes)}`);

    const out = path.resolve(process.env.BENCH_OUT || path.join(RESULTS_DIR, 'latest.json'));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const report = {
      generatedAt: new Date().toISOString(),
      machine: { ...machine, loadavgAfter: os.loadavg().map((l) => Math.round(l * 100) / 100) },
      config: { connections, warmupS: warmup, durationS: seconds, topology, inProcess, logLevel, host: HOST, service: SERVICE_ID, patientId: PATIENT_ID },
      results,
      targets: targetsOut,
      requestErrors: failed.length > 0 || warmupFailures > 0,
    };
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
    return failed.length > 0 || warmupFailures > 0 ? 1 : 0;
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  const kind = process.argv[serveAt + 1];
  if (kind !== 'bare' && kind !== 'crosstalk') {
    process.stderr.write(`--serve needs bare or crosstalk, got ${kind}\n`);
    process.exit(2);
  }
  void serve(kind);
} else {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
