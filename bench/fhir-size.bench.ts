/**
 * Memory under a FHIR server that answers far too much (`npm run bench:fhir-size`): see bench/README.md.
 *
 * Crosstalk runs in a child process of its own (as in production: embedded FHIR server off), so its resident
 * memory is its own; this process runs the hostile FHIR server and the EHR. The FHIR server streams each
 * answer as it is read (a searchset Bundle padded to the size asked for), never holding it in memory.
 *
 * Scenarios, each a fresh Crosstalk:
 *   one-200mb      the creatinine search answers 200 MB; every other key a small empty Bundle
 *   15x50mb        every one of the 15 keys (the Patient read included) answers 50 MB
 *   15x50mb-x8     the same, 8 calls at once, 3 rounds
 *
 * RSS is the kernel's high-water mark of the Crosstalk process (VmHWM in /proc/<pid>/status), plus its RSS
 * after the run. Target: peak RSS < 300 MB in every scenario.
 *
 * Env: BENCH_MAX_RESPONSE / BENCH_MAX_CALL (CROSSTALK_FHIR_MAX_RESPONSE_BYTES / _CALL_BYTES; default: the
 *      configuration defaults), BENCH_OUT (JSON path, default bench/results/fhir-size.json).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const SERVICE_ID = 'bone-muscle-patient-view';
const MB = 1024 * 1024;
const TARGET_MB = 300;
const OUT = process.env.BENCH_OUT ?? path.join(__dirname, 'results', 'fhir-size.json');

interface Scenario {
  name: string;
  /** Bytes the FHIR server sends for a request, or 0 for a small valid answer. */
  size: (url: string) => number;
  concurrency: number;
  rounds: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'one-200mb', size: (u) => (/code=[^&]*2160-0/.test(u) ? 200 * MB : 0), concurrency: 1, rounds: 1 },
  { name: '15x50mb', size: () => 50 * MB, concurrency: 1, rounds: 1 },
  { name: '15x50mb-x8', size: () => 50 * MB, concurrency: 8, rounds: 3 },
];

const PAD = `{"resource":{"resourceType":"Basic","id":"pad","code":{"text":"${'x'.repeat(900)}"}}}`;

/** The hostile FHIR server; counts what it sent and how many answers the client cut off. */
async function hostileFhir(size: (url: string) => number) {
  let sent = 0;
  let cut = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const bytes = size(url);
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    if (!bytes) {
      const patient = /\/Patient\/([^/?]+)$/.exec(url);
      res.end(
        JSON.stringify(
          patient
            ? { resourceType: 'Patient', id: patient[1], gender: 'female', birthDate: '1950-01-01' }
            : { resourceType: 'Bundle', type: 'searchset', entry: [] },
        ),
      );
      return;
    }
    let n = 0;
    let first = true;
    res.once('close', () => {
      if (!res.writableFinished) cut += 1;
    });
    const write = (s: string) => {
      n += s.length;
      sent += s.length;
      return res.write(s);
    };
    write(
      url.includes('/Patient/')
        ? '{"resourceType":"Patient","id":"p","text":{"status":"generated","div":"'
        : '{"resourceType":"Bundle","type":"searchset","entry":[',
    );
    const pump = () => {
      while (n < bytes) {
        if (res.destroyed) return;
        const ok = write(url.includes('/Patient/') ? 'x'.repeat(1000) : `${first ? '' : ','}${PAD}`);
        first = false;
        if (!ok) return void res.once('drain', pump);
      }
      res.end(url.includes('/Patient/') ? '"}}' : ']}');
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    stats: () => ({ sentMB: Math.round(sent / MB), cut }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function startCrosstalk(): Promise<{ url: string; child: ChildProcess }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    CROSSTALK_DEV_MODE: 'true',
    CROSSTALK_DEV_FHIR_ORIGINS: 'http://127.0.0.1:*',
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_AUDIT_HMAC_KEY: 'bench-only-audit-key-0123456789abcdef',
    CROSSTALK_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-bench-size-')),
    // Generous time, so the byte caps (not the FHIR time budget) are what stops the reads.
    CROSSTALK_FHIR_TIMEOUT_MS: '20000',
    CROSSTALK_REQUEST_BUDGET_MS: '30000',
    ...(process.env.BENCH_MAX_RESPONSE ? { CROSSTALK_FHIR_MAX_RESPONSE_BYTES: process.env.BENCH_MAX_RESPONSE } : {}),
    ...(process.env.BENCH_MAX_CALL ? { CROSSTALK_FHIR_MAX_CALL_BYTES: process.env.BENCH_MAX_CALL } : {}),
  };
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src/server/main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /"url":"(http:[^"]+)"[^\n]*crosstalk listening|crosstalk listening[^\n]*"url":"(http:[^"]+)"/.exec(out);
      if (m) resolve({ url: (m[1] ?? m[2]) as string, child });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('exit', (code) =>
      reject(new Error(`Crosstalk exited (${code}) before listening:\n${out.slice(-2000)}`)),
    );
  });
}

function memoryOf(pid: number): { rssMB: number; hwmMB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: Math.round(kb('VmRSS') / 1024), hwmMB: Math.round(kb('VmHWM') / 1024) };
}

async function hookCall(url: string, fhirServer: string): Promise<{ status: number; issues: string[] }> {
  const res = await fetch(`${url}/cds-services/${SERVICE_ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      hook: 'patient-view',
      hookInstance: randomUUID(),
      fhirServer,
      context: { userId: 'Practitioner/bench', patientId: 'bench-patient' },
    }),
  });
  const body = (await res.json()) as { issue?: { code: string }[] };
  return { status: res.status, issues: (body.issue ?? []).map((i) => i.code) };
}

async function run(s: Scenario) {
  const fhir = await hostileFhir(s.size);
  const ct = await startCrosstalk();
  const pid = ct.child.pid as number;
  const atStart = memoryOf(pid);
  const t0 = performance.now();
  const statuses: Record<string, number> = {};
  for (let round = 0; round < s.rounds; round++) {
    const results = await Promise.all(Array.from({ length: s.concurrency }, () => hookCall(ct.url, fhir.base)));
    for (const r of results) {
      const k = `${r.status}${r.issues.length ? ` ${[...new Set(r.issues)].join('+')}` : ''}`;
      statuses[k] = (statuses[k] ?? 0) + 1;
    }
  }
  const ms = Math.round(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 500));
  const after = memoryOf(pid);
  ct.child.kill('SIGTERM');
  await new Promise((r) => ct.child.once('exit', r));
  await fhir.close();
  return {
    scenario: s.name,
    calls: s.concurrency * s.rounds,
    concurrency: s.concurrency,
    ms,
    statuses,
    rssAtStartMB: atStart.rssMB,
    peakRssMB: after.hwmMB,
    rssAfterMB: after.rssMB,
    fhirServer: fhir.stats(),
    pass: after.hwmMB < TARGET_MB,
  };
}

async function main() {
  const rows = [];
  for (const s of SCENARIOS) {
    const r = await run(s);
    rows.push(r);
    process.stdout.write(
      `${r.scenario.padEnd(12)} calls ${String(r.calls).padStart(2)}  ${String(r.ms).padStart(6)} ms  answers ${JSON.stringify(r.statuses)}  RSS start ${r.rssAtStartMB} MB, peak ${r.peakRssMB} MB, after ${r.rssAfterMB} MB  FHIR server sent ${r.fhirServer.sentMB} MB, ${r.fhirServer.cut} answers cut off  ${r.pass ? 'PASS' : 'FAIL'} (< ${TARGET_MB} MB)\n`,
    );
  }
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    caps: { response: process.env.BENCH_MAX_RESPONSE ?? 'default', call: process.env.BENCH_MAX_CALL ?? 'default' },
    targetPeakRssMB: TARGET_MB,
    rows,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`written ${path.relative(process.cwd(), OUT)}\n`);
  process.exitCode = rows.every((r) => r.pass) ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
