import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlEngine } from '../src/store/engine';
import { openPostgres } from '../src/store/postgres';
import { openSqlite, SQLITE_FILE_NAME } from '../src/store/sqlite';
import { spawnCrosstalk } from './support/child';
import { freshDataDir, freshPostgresDatabase } from './support/databases';
import {
  callLog,
  expectOperationOutcome,
  expectValidCdsResponse,
  hookRequest,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';
import { BOMB_BYTES, type HostileFhir, spawnHostileFhir } from './support/hostile-fhir-server';

/*
 * Every bound a FHIR server or a caller could push past, against a FHIR server in a process of its own that sends
 * real compressed bombs, million-deep JSON, paging links beside its base and pages without end. Crosstalk runs in
 * this process, so its memory and its event loop are the ones measured here.
 */

const MB = 1024 * 1024;
const TOKEN = {
  access_token: 'ehr-token-that-stays-under-the-base',
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/*.read',
  subject: 'crosstalk',
};

let hostile: HostileFhir;
let ct: Awaited<ReturnType<typeof startCrosstalk>>;

beforeAll(async () => {
  hostile = await spawnHostileFhir();
  ct = await startCrosstalk({
    CROSSTALK_EMBEDDED_FHIR: 'false',
    CROSSTALK_FHIR_MAX_RESPONSE_BYTES: '1mb',
    CROSSTALK_FHIR_MAX_CALL_BYTES: '3mb',
    CROSSTALK_FHIR_TIMEOUT_MS: '4000',
    CROSSTALK_REQUEST_BUDGET_MS: '6000',
  });
}, 90_000);

afterAll(async () => {
  await ct?.close();
  await hostile?.close();
});

async function call(body: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${ct.url}/cds-services/${SERVICE_ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const issueTexts = (body: Record<string, unknown>) =>
  ((body.issue as { details?: { text?: string } }[]) ?? []).map((i) => i.details?.text ?? '').join('\n');

/** Samples this process's resident memory every few milliseconds while `work` runs; answers the peak growth. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

describe('a compressed answer that inflates far past the caps (a decompression bomb)', () => {
  for (const mode of ['bomb-gzip', 'bomb-x-gzip', 'bomb-deflate', 'bomb-br', 'bomb-br-small-window']) {
    it(`is counted as it inflates and cut at the cap, memory bounded, for ${mode.slice(5).replace(/-/g, ' ')}`, async () => {
      await hostile.requests();
      // Three calls at once: nine searches inflating together, each of them a 256 MB answer.
      const { result, growth } = await peakGrowth(() =>
        Promise.all([0, 1, 2].map(() => call(hookRequest('demo-low-ccr', { fhirServer: hostile.base(mode) })))),
      );
      for (const r of result) {
        expect(r.status).toBe(412);
        expectOperationOutcome(r.body);
        expect(issueTexts(r.body)).toMatch(/cap per answer|cap for all reads of one call/);
      }
      const searches = (await hostile.requests()).filter((q) => !q.path.includes('/Patient/'));
      expect(searches.length).toBeGreaterThan(0);
      // Three calls of at most 3 MB each, plus decompressor windows; each bomb alone inflates to 256 MB.
      expect(growth).toBeLessThan(96 * MB);
      expect(growth).toBeLessThan(BOMB_BYTES / 2);
    });
  }

  for (const mode of ['bomb-stacked', 'bomb-unknown']) {
    it(`is refused unread when its encoding is ${mode === 'bomb-stacked' ? 'stacked (gzip, br)' : 'unknown'}`, async () => {
      const r = await call(hookRequest('demo-low-ccr', { fhirServer: hostile.base(mode) }));
      expect(r.status).toBe(412);
      expect(issueTexts(r.body)).toMatch(/something other than FHIR JSON/);
    });
  }
});

/** Times /healthz answers while `work` runs: the longest wait seen. */
async function healthzWhile<T>(work: Promise<T>): Promise<{ result: T; slowestMs: number }> {
  let done = false;
  let slowest = 0;
  const poll = (async () => {
    while (!done) {
      const t0 = performance.now();
      const res = await fetch(`${ct.url}/healthz`);
      expect(res.status).toBe(200);
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const result = await work.finally(() => {
    done = true;
  });
  await poll;
  return { result, slowestMs: slowest };
}

describe('JSON nested a million levels deep', () => {
  it('in a FHIR answer makes its key unavailable (could not be checked), and /healthz answers promptly meanwhile', async () => {
    const { result, slowestMs } = await healthzWhile(
      Promise.all([0, 1, 2].map(() => call(hookRequest('demo-low-ccr', { fhirServer: hostile.base('deep') })))),
    );
    for (const r of result) {
      expect(r.status).toBe(412);
      expect(issueTexts(r.body)).toMatch(
        /fhirServer sent JSON nested deeper than 100 levels when reading "creatinine"/,
      );
    }
    expect(slowestMs).toBeLessThan(500);
  });

  it('in a CDS Hooks request is refused with a 400 OperationOutcome before it is parsed, and /healthz answers promptly meanwhile', async () => {
    const text = `{"hook":"patient-view","hookInstance":"deep","context":{"patientId":"x","deep":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}}`;
    const send = () =>
      fetch(`${ct.url}/cds-services/${SERVICE_ID}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const { result, slowestMs } = await healthzWhile(Promise.all([send(), send(), send()]));
    for (const r of result) {
      expect(r.status).toBe(400);
      expectOperationOutcome(r.body);
      expect(issueTexts(r.body)).toMatch(/nests JSON deeper than 100 levels/);
    }
    expect(slowestMs).toBeLessThan(500);
  });
});

describe('paging links', () => {
  it('are not followed to a sibling of the base path (/fhir → /fhir-admin), and the token goes nowhere but the base', async () => {
    await hostile.requests();
    const hook = hookRequest('demo-low-ccr', { fhirServer: hostile.base('sibling'), fhirAuthorization: TOKEN });
    const r = await call(hook);
    expect(r.status).toBe(200);
    expectValidCdsResponse(r.body);
    const asked = await hostile.requests();
    expect(asked.filter((q) => !q.path.startsWith('/sibling/fhir/'))).toEqual([]);
    expect(asked.every((q) => q.token)).toBe(true);
    const line = callLog(ct.logs, hook.hookInstance as string);
    expect((line.partial as string[]).length).toBeGreaterThan(0);
    expect(line.unreadable).toContain('ccr-labs');
  });

  it('stop at the page limit and leave the list could not be checked: no card from a list read in part', async () => {
    await hostile.requests();
    const hook = hookRequest('demo-low-ccr', { fhirServer: hostile.base('pages') });
    const r = await call(hook);
    expect(r.status).toBe(200);
    expectValidCdsResponse(r.body);
    // The first page holds a same-draw CCR of 0.60: read as the whole list it would give a low-CCR card.
    const cards = r.body.cards as { extension: { crosstalk: { ruleId: string } }; summary: string }[];
    expect(cards.map((c) => c.extension.crosstalk.ruleId)).not.toContain('low-ccr');
    const line = callLog(ct.logs, hook.hookInstance as string);
    expect(line.partial).toEqual(expect.arrayContaining(['creatinine', 'cystatinC']));
    expect(line.unreadable).toContain('ccr-labs');
    // Ten pages per key, never an eleventh.
    const asked = await hostile.requests();
    expect(asked.filter((q) => /page=11\b/.test(q.path)).length).toBe(0);
    const db = new Database(path.join(ct.dataDir, SQLITE_FILE_NAME), { readonly: true });
    try {
      const row = db
        .prepare('SELECT partial_keys FROM service_calls WHERE hook_instance = ?')
        .get(hook.hookInstance) as {
        partial_keys: string;
      };
      expect(JSON.parse(row.partial_keys)).toEqual(expect.arrayContaining(['creatinine', 'cystatinC']));
    } finally {
      db.close();
    }
  });
});

/** Sends a hook call by hand: headers now, the body after `bodyAfterMs` (never, if the answer comes first). */
function lateBodyCall(body: object, bodyAfterMs: number, base: string) {
  const text = JSON.stringify(body);
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    let sent = false;
    const req = http.request(
      `${base}/cds-services/${SERVICE_ID}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (res) => {
        let out = '';
        res.on('data', (c: Buffer) => {
          out += c.toString();
        });
        res.on('end', () => {
          // Answered before its body was sent: the body never follows, as from an EHR that gave up on it.
          if (!sent) {
            clearTimeout(timer);
            req.destroy();
          }
          resolve({ status: res.statusCode ?? 0, text: out });
        });
      },
    );
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.flushHeaders();
    const timer = setTimeout(() => {
      sent = true;
      req.end(text);
    }, bodyAfterMs);
  });
}

describe('the answer and the audit row', () => {
  it('agree call for call when a FHIR server slower than the budget ends calls at its edge: 503 answered is 503 audited, with no cards', {
    timeout: 60_000,
  }, async () => {
    // FHIR reads time out 4 s after the body arrives; the budget ends 6 s after the headers. A body 2 s late puts
    // the FHIR timeout on the budget's edge: calls either side of it end as 412 or 503, never as both.
    const delays = Array.from({ length: 24 }, (_, i) => 1940 + i * 5);
    const hooks = delays.map(() => hookRequest('demo-low-ccr', { fhirServer: hostile.base('slow') }));
    const answers = await Promise.all(hooks.map((h, i) => lateBodyCall(h, delays[i] as number, ct.url)));
    expect(answers.some((a) => a.status === 503)).toBe(true);
    const db = new Database(path.join(ct.dataDir, SQLITE_FILE_NAME), { readonly: true });
    try {
      const deadline = Date.now() + 10_000;
      const rowsOf = (h: Record<string, unknown>) =>
        db
          .prepare('SELECT call_id, status, card_count FROM service_calls WHERE hook_instance = ?')
          .all(h.hookInstance) as {
          call_id: string;
          status: number;
          card_count: number;
        }[];
      while (hooks.some((h) => rowsOf(h).length === 0) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      hooks.forEach((h, i) => {
        const rows = rowsOf(h);
        expect(rows.map((x) => x.status)).toEqual([answers[i]?.status]);
        if (answers[i]?.status === 503) {
          expect(rows[0]?.card_count).toBe(0);
          const cards = db
            .prepare('SELECT COUNT(*) AS n FROM issued_cards WHERE call_id = ?')
            .get(rows[0]?.call_id) as {
            n: number;
          };
          expect(cards.n).toBe(0);
        }
      });
    } finally {
      db.close();
    }
  });
});

// PostgreSQL commits over a socket, SQLite in a worker thread: shutdown must wait for either.
const stores = [
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

describe.each(stores)('shutdown on SIGTERM while the time budget ends calls, on $name', (store) => {
  it('waits for their handlers: every answered call has exactly one audit row, with the status it was answered', {
    timeout: 60_000,
  }, async () => {
    const data = await store.create();
    const child = await spawnCrosstalk({
      CROSSTALK_EMBEDDED_FHIR: 'false',
      ...data.env,
      CROSSTALK_FHIR_TIMEOUT_MS: '2000',
      CROSSTALK_REQUEST_BUDGET_MS: '3000',
    });
    try {
      // Half the bodies 1.5 s late: their FHIR reads would end at 3.5 s, so the 3 s budget answers first while their
      // handlers run. The other half never come: those calls are answered by the budget and their handlers never run.
      const hooks = Array.from({ length: 12 }, () => hookRequest('demo-low-ccr', { fhirServer: hostile.base('slow') }));
      const delayOf = (i: number) => (i % 2 ? 1500 + i * 10 : 60_000);
      let signalled = false;
      const answers = await Promise.all(
        hooks.map((h, i) =>
          lateBodyCall(h, delayOf(i), child.url).then(
            (a) => {
              // SIGTERM the moment the first budget-ended answer is out: the others' handlers are still running.
              if (!signalled) {
                signalled = true;
                child.child.kill('SIGTERM');
              }
              return a;
            },
            () => undefined,
          ),
        ),
      );
      expect(await child.exited).toEqual({ code: 0, signal: null });
      const answered = answers.flatMap((a, i) =>
        a ? [{ hook: hooks[i] as Record<string, unknown>, status: a.status }] : [],
      );
      expect(answered.length).toBeGreaterThan(0);
      expect(answered.map((a) => a.status)).toEqual(answered.map(() => 503));
      const e = data.open();
      try {
        for (const a of answered) {
          const rows = await e.db
            .selectFrom('service_calls')
            .select(['status', 'card_count'])
            .where('hook_instance', '=', a.hook.hookInstance as string)
            .execute();
          // A call answered before its body arrived has no hookInstance on record: it is counted among the rest below.
          if (rows.length) expect(rows).toEqual([{ status: 503, card_count: 0 }]);
        }
        const all = await e.db.selectFrom('service_calls').select(['status', 'card_count']).execute();
        expect(all.length).toBe(answered.length);
        expect(all).toEqual(all.map(() => ({ status: 503, card_count: 0 })));
      } finally {
        await e.close();
      }
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
      await data.drop();
    }
  });
});
