import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlEngine } from '../src/store/engine';
import { openPostgres } from '../src/store/postgres';
import { openSqlite, SQLITE_FILE_NAME } from '../src/store/sqlite';
import { spawnCrosstalk } from './support/child';
import { freshDataDir, freshPostgresDatabase } from './support/databases';
import {
  buildPrefetch,
  expectValidCdsResponse,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
  startFaultProxy,
} from './support/harness';

/*
 * Crosstalk in a child process of its own, so it can really be killed. The FHIR data comes from a
 * demo-seeded Crosstalk in this process; the child runs as in production (embedded FHIR off).
 */

interface Card {
  uuid: string;
  suggestions?: { uuid: string }[];
  extension: { crosstalk: { ruleId: string } };
}

let fhirHost: Awaited<ReturnType<typeof startCrosstalk>>;
let lowCcrPrefetch: Record<string, unknown>;

beforeAll(async () => {
  fhirHost = await startCrosstalk();
  lowCcrPrefetch = await buildPrefetch(`${fhirHost.url}/fhir`, 'demo-low-ccr');
});
afterAll(async () => {
  await fhirHost?.close();
});

async function callFor(url: string, body: unknown): Promise<{ status: number; body: { cards: Card[] } }> {
  const res = await fetch(`${url}/cds-services/${SERVICE_ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { cards: Card[] } };
}

const engines = [
  {
    name: 'sqlite',
    async create() {
      const d = await freshDataDir();
      return { env: { CROSSTALK_DATA_DIR: d.dir }, open: (): SqlEngine => openSqlite(d.dir), drop: d.drop, dir: d.dir };
    },
  },
  {
    name: 'postgres',
    async create() {
      const d = await freshPostgresDatabase();
      return { env: { DATABASE_URL: d.url }, open: (): SqlEngine => openPostgres(d.url), drop: d.drop, dir: undefined };
    },
  },
];

describe.each(engines)('feedback on $name under load, when the process is killed with SIGKILL', (engine) => {
  it('keeps every entry it acknowledged with a 2xx', { timeout: 60_000 }, async () => {
    const db = await engine.create();
    const ct = await spawnCrosstalk({
      CROSSTALK_EMBEDDED_FHIR: 'false',
      ...db.env,
    });
    try {
      const cards: Card[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await callFor(ct.url, hookRequest('demo-low-ccr', { prefetch: lowCcrPrefetch }));
        expect(r.status).toBe(200);
        expectValidCdsResponse(r.body);
        cards.push(...r.body.cards);
      }
      expect(cards.length).toBe(8);

      type Entry = { card: string; outcome: 'accepted' | 'overridden'; outcomeTimestamp: string };
      const acknowledged: Entry[] = [];
      let sent = 0;
      let answered = 0;
      let failed = 0;
      let seq = 0;
      let killed = false;
      const base = Date.parse('2026-11-25T08:00:00Z');
      const nextEntry = (): Entry & Record<string, unknown> => {
        const card = cards[seq % cards.length] as Card;
        // Unique timestamps, so every entry is distinct feedback (not an idempotent repeat).
        const outcomeTimestamp = new Date(base + seq++).toISOString();
        return seq % 2
          ? {
              card: card.uuid,
              outcome: 'accepted',
              acceptedSuggestions: [{ id: card.suggestions?.[0]?.uuid as string }],
              outcomeTimestamp,
            }
          : {
              card: card.uuid,
              outcome: 'overridden',
              overrideReason: { reason: { system: 'urn:crosstalk:codesystem:override-reason', code: 'not-relevant' } },
              outcomeTimestamp,
            };
      };
      const worker = async () => {
        while (!killed) {
          const batch = Array.from({ length: 1 + (seq % 3) }, nextEntry);
          sent += 1;
          try {
            const res = await fetch(`${ct.url}/cds-services/${SERVICE_ID}/feedback`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ feedback: batch }),
            });
            await res.arrayBuffer();
            answered += 1;
            if (res.status >= 200 && res.status < 300)
              acknowledged.push(
                ...batch.map(({ card, outcome, outcomeTimestamp }) => ({ card, outcome, outcomeTimestamp })),
              );
            else throw new Error(`feedback answered ${res.status}`);
          } catch (e) {
            if (!killed) throw e;
            failed += 1;
            return;
          }
        }
      };
      const workers = Array.from({ length: 16 }, worker);
      // Let the load run until a good number of entries have been acknowledged (or, on a very busy machine,
      // for 20 s), then kill mid-stream.
      const deadline = Date.now() + 20_000;
      while (acknowledged.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const inFlight = sent - answered;
      killed = true;
      ct.child.kill('SIGKILL');
      await Promise.all(workers);
      expect(await ct.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(acknowledged.length).toBeGreaterThanOrEqual(50);
      // Requests were still in flight when the process died: the kill really came under load.
      expect(inFlight).toBeGreaterThan(0);

      const e = db.open();
      try {
        const rows = await e.db.selectFrom('feedback').select(['card_uuid', 'outcome', 'outcome_at']).execute();
        const stored = new Set(rows.map((r) => `${r.card_uuid}|${r.outcome}|${Number(r.outcome_at)}`));
        const missing = acknowledged.filter(
          (a) => !stored.has(`${a.card}|${a.outcome}|${Date.parse(a.outcomeTimestamp)}`),
        );
        expect(missing).toEqual([]);
        // Entries that were never acknowledged may or may not have made it; nothing else is there.
        expect(rows.length).toBeLessThanOrEqual(seq);
        // The numbers behind the verdict, for the run's log.
        console.info(
          `durability on ${engine.name}: ${acknowledged.length} entries acknowledged, all of them stored (${rows.length} rows); ${inFlight} requests in flight at the SIGKILL`,
        );
      } finally {
        await e.close();
      }
    } finally {
      if (ct.child.exitCode === null && ct.child.signalCode === null) ct.child.kill('SIGKILL');
      await db.drop();
    }
  });
});

describe('graceful shutdown on SIGTERM', () => {
  it('stops taking connections, finishes the call in flight, records it, and closes the store', {
    timeout: 60_000,
  }, async () => {
    const db = await engines[0]!.create();
    // FHIR answers arrive 4 s late, so the call is still in flight when SIGTERM comes; the budget leaves room for that.
    const proxy = await startFaultProxy(`${fhirHost.url}/fhir`, () => ({ delayMs: 4000 }));
    const ct = await spawnCrosstalk({
      CROSSTALK_EMBEDDED_FHIR: 'false',
      CROSSTALK_FHIR_TIMEOUT_MS: '20000',
      CROSSTALK_REQUEST_BUDGET_MS: '30000',
      ...db.env,
    });
    try {
      let settled = false;
      const inFlight = callFor(ct.url, hookRequest('demo-low-ccr', { fhirServer: proxy.fhirBase })).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 500));
      ct.child.kill('SIGTERM');
      // However busy the machine, the listener closes soon after the signal, and before the call in flight ends.
      const deadline = Date.now() + 15_000;
      let refused = false;
      while (!refused && Date.now() < deadline) {
        refused = await fetch(`${ct.url}/healthz`).then(
          () => false,
          () => true,
        );
        if (!refused) await new Promise((r) => setTimeout(r, 100));
      }
      expect(refused).toBe(true);
      expect(settled).toBe(false);

      const res = await inFlight;
      expect(res.status).toBe(200);
      expectValidCdsResponse(res.body);
      expect(res.body.cards.map((c) => c.extension.crosstalk.ruleId)).toEqual(['low-ccr']);
      expect(await ct.exited).toEqual({ code: 0, signal: null });
      expect(ct.output()).toContain('shutting down');

      // Closed cleanly: SQLite folded its write-ahead log back into the database and removed it.
      expect(fs.existsSync(path.join(db.dir as string, `${SQLITE_FILE_NAME}-wal`))).toBe(false);
      const e = db.open();
      try {
        const cards = await e.db.selectFrom('issued_cards').select('card_uuid').execute();
        expect(cards.map((c) => c.card_uuid)).toEqual(res.body.cards.map((c) => c.uuid));
      } finally {
        await e.close();
      }
    } finally {
      if (ct.child.exitCode === null && ct.child.signalCode === null) ct.child.kill('SIGKILL');
      await proxy.close();
      await db.drop();
    }
  });
});
