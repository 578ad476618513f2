/**
 * What the store costs on the call path and per feedback request (`npm run bench:store`).
 *
 * One run measures, in this process, one operation at a time:
 *   call            callService() for demo-low-ccr with full prefetch: validate, gather, evaluate, render (the baseline)
 *   audit           SqlStore.recordCall() of such a call: 1 card, 3 rule outcomes, its measures, in one transaction
 *   feedback        SqlStore.recordFeedback() of 2 entries, in one transaction
 * on SQLite with synchronous=FULL (what the service uses), SQLite with synchronous=NORMAL (for comparison),
 * and PostgreSQL (TEST_DATABASE_URL or DATABASE_URL, else a throwaway local cluster, as the tests start it);
 * and, on each, 16 audit or feedback writes in flight at once (as several requests would be: SQLite's writer
 * thread group-commits them, PostgreSQL spreads them over its pool).
 * Prints p50/p99 per operation, operations per second, and each one's p50 as a ratio to the call's p50.
 *
 * Env: BENCH_OPS (operations per measurement, default 400), BENCH_WARMUP (default 50).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callService } from '../src/cds/call';
import { loadServices } from '../src/cds/services';
import { loadKnowledgeSync } from '../src/config/knowledge-file';
import { demoPlugin } from '../src/demo/plugin';
import { EgressPolicy } from '../src/fhir/egress';
import { auditRecord } from '../src/server/audit';
import { createLogger } from '../src/server/logger';
import { start } from '../src/server/start';
import type { SqlEngine } from '../src/store/engine';
import { openPostgres } from '../src/store/postgres';
import { SqlStore } from '../src/store/sql-store';
import { openSqlite } from '../src/store/sqlite';
import type { FeedbackEntry } from '../src/store/types';
import { startThrowawayCluster } from '../test/support/postgres-cluster';

const OPS = Number(process.env.BENCH_OPS ?? 400);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 50);
const SERVICE_ID = 'bone-muscle-patient-view';

interface Row {
  measurement: string;
  ops: number;
  p50Us: number;
  p99Us: number;
  opsPerSec: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs fn OPS times (after WARMUP), `concurrency` at a time; per-operation latencies in µs. */
async function measure(name: string, fn: () => Promise<unknown>, concurrency = 1): Promise<Row> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < OPS) {
        const t = process.hrtime.bigint();
        await fn();
        times.push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }),
  );
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  times.sort((a, b) => a - b);
  return {
    measurement: name,
    ops: times.length,
    p50Us: percentile(times, 50),
    p99Us: percentile(times, 99),
    opsPerSec: times.length / wallS,
  };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-bench-store-'));
  // A demo Crosstalk only to serve the demo patient's data, so the prefetch is what an EHR would send.
  const host = await start(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CROSSTALK_DEV_MODE: 'true',
      CROSSTALK_EMBEDDED_FHIR: 'true',
      CROSSTALK_DATA_DIR: path.join(tmp, 'host'),
    },
    createLogger('silent'),
    [demoPlugin],
  );
  const services = loadServices();
  const service = services.get(SERVICE_ID);
  if (!service) throw new Error(`no service ${SERVICE_ID}`);
  const prefetch: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(service.definition.discovery.prefetch)) {
    const res = await fetch(`${host.url}/fhir/${template.replace('{{context.patientId}}', 'demo-low-ccr')}`);
    prefetch[key] = await res.json();
  }
  await host.close();

  const knowledge = loadKnowledgeSync(undefined);
  // Full prefetch: no FHIR read is made, so the egress policy allows nothing.
  const deps = {
    knowledge,
    now: () => new Date(),
    gather: {
      timeoutMs: 3000,
      maxPages: 10,
      maxResponseBytes: 5 * 1048576,
      maxCallBytes: 20 * 1048576,
      maxJsonDepth: 100,
      egress: new EgressPolicy(() => []),
    },
  };
  const request = () => ({
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/bench', patientId: 'demo-low-ccr' },
    prefetch,
  });
  const sampleCall = await callService(service, request(), deps);
  if (sampleCall.response.cards[0]?.extension.crosstalk.ruleId !== 'low-ccr')
    throw new Error('the benchmark patient did not get its low-CCR card');
  const key = Buffer.alloc(32, 7);

  const rows: Row[] = [
    await measure('call (baseline): callService, full prefetch', () => callService(service, request(), deps)),
  ];

  let pg: { url: string; stop?: () => void };
  const given =
    process.env.TEST_DATABASE_URL ??
    (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined);
  if (given) pg = { url: given };
  else pg = await startThrowawayCluster();

  const engines: [string, () => SqlEngine][] = [
    ['sqlite FULL', () => openSqlite(path.join(tmp, 'full'))],
    ['sqlite NORMAL', () => openSqlite(path.join(tmp, 'normal'), { synchronous: 'NORMAL' })],
    ['postgres', () => openPostgres(pg.url)],
  ];
  try {
    for (const [name, open] of engines) {
      const store = await SqlStore.open(open());
      try {
        const audit = () => {
          const callId = randomUUID();
          const cards = sampleCall.response.cards.map((c) => ({ ...c, uuid: randomUUID() }));
          return auditRecord(
            {
              callId,
              calledAt: new Date(),
              serviceId: SERVICE_ID,
              body: request(),
              status: 200,
              latencyMs: 3,
              record: sampleCall.record,
              cards,
            },
            key,
          );
        };
        rows.push(await measure(`audit: recordCall, ${name}`, () => store.recordCall(audit())));
        const call = audit();
        await store.recordCall(call);
        const card = call.cards[0];
        if (!card) throw new Error('no card');
        const entry = (): FeedbackEntry => ({
          cardUuid: card.cardUuid,
          outcome: 'overridden',
          outcomeAt: new Date(Date.now() + Math.random() * 1e9),
          receivedAt: new Date(),
          serviceId: SERVICE_ID,
          ruleId: card.ruleId,
          callId: card.callId,
          cardIssuedAt: card.issuedAt,
          acceptedSuggestions: [],
          overrideReason: { system: 'urn:crosstalk:codesystem:override-reason', code: 'not-relevant' },
        });
        rows.push(
          await measure(`feedback: recordFeedback ×2, ${name}`, () => store.recordFeedback([entry(), entry()])),
        );
        // Several requests at once: PostgreSQL spreads them over its pool, SQLite's writer thread commits them together.
        rows.push(await measure(`audit: recordCall, ${name}, 16 in flight`, () => store.recordCall(audit()), 16));
        rows.push(
          await measure(
            `feedback: recordFeedback ×2, ${name}, 16 in flight`,
            () => store.recordFeedback([entry(), entry()]),
            16,
          ),
        );
      } finally {
        await store.close();
      }
    }
  } finally {
    pg.stop?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const base = rows[0] as Row;
  const table = rows.map((r) => ({
    measurement: r.measurement,
    'p50 µs': Math.round(r.p50Us),
    'p99 µs': Math.round(r.p99Us),
    'ops/s': Math.round(r.opsPerSec),
    'p50 ÷ call p50': (r.p50Us / base.p50Us).toFixed(2),
  }));
  console.table(table);
  const full = rows.find((r) => r.measurement.startsWith('feedback') && r.measurement.endsWith('sqlite FULL'));
  const normal = rows.find((r) => r.measurement.startsWith('feedback') && r.measurement.endsWith('sqlite NORMAL'));
  if (full && normal)
    console.log(`SQLite feedback commit, FULL ÷ NORMAL (p50): ${(full.p50Us / normal.p50Us).toFixed(2)}`);
  const out = path.join(__dirname, 'results', 'store.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ops: OPS, warmup: WARMUP, rows }, null, 2)}\n`,
  );
  console.log(`written to ${path.relative(process.cwd(), out)}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
