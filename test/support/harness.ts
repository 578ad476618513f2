import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Resource } from 'fhir/r4';
import { expect } from 'vitest';
import { loadServices } from '../../src/cds/services';
import { compileSchema, formatErrors } from '../../src/config/schemas';
import { demoPlugin } from '../../src/demo/plugin';
import { createLogger } from '../../src/server/logger';
import { type Running, start } from '../../src/server/start';
import { cardProblems } from './card-check';

export const SERVICE_ID = 'bone-muscle-patient-view';
/** The templates as discovery serves them: code lists filled from the code sets. */
export const PREFETCH_TEMPLATES: Record<string, string> = loadServices().get(SERVICE_ID)!.definition.discovery.prefetch;

/** Every service log of the whole run also lands here, for the leak check in test/support/log-audit.ts. */
export const RUN_LOG_DIR = path.resolve(__dirname, '../../test-artifacts/logs');

/** Collects every log line, so tests can assert what the service did and did not log. */
export class LogCapture {
  readonly lines: string[] = [];
  private readonly file = path.join(RUN_LOG_DIR, `${process.pid}-${randomUUID()}.jsonl`);
  write(s: string): void {
    this.lines.push(s);
    fs.mkdirSync(RUN_LOG_DIR, { recursive: true });
    fs.appendFileSync(this.file, s);
  }
  get text(): string {
    return this.lines.join('');
  }
}

/**
 * Crosstalk on a random loopback port with its embedded, demo-seeded FHIR server, as `npm start` runs it,
 * with its SQLite store in a fresh temporary data directory (removed on close) unless env names one.
 */
export async function startCrosstalk(
  env: Record<string, string> = {},
): Promise<Running & { logs: LogCapture; dataDir: string }> {
  const logs = new LogCapture();
  const dataDir = env.CROSSTALK_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-data-'));
  const running = await start(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      CROSSTALK_DEV_MODE: 'true',
      CROSSTALK_DEV_FHIR_ORIGINS: 'http://127.0.0.1:*',
      CROSSTALK_EMBEDDED_FHIR: 'true',
      CROSSTALK_DEMO_SEED: 'true',
      CROSSTALK_DATA_DIR: dataDir,
      ...env,
    },
    createLogger('info', logs),
    [demoPlugin],
  );
  const close = running.close;
  return Object.assign(running, {
    logs,
    dataDir,
    close: async () => {
      await close();
      if (!env.CROSSTALK_DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

const validateResponse = compileSchema('cds-response.schema.json');
const validateDiscovery = compileSchema('discovery-response.schema.json');

/** Every CDS response a test sees goes through the response schema (no nulls, no empty optionals, spec enums). */
export function expectValidCdsResponse(body: unknown): void {
  const ok = validateResponse(body);
  expect(ok, formatErrors(validateResponse.errors)).toBe(true);
  // Every card any test sees is one a clinician would read: within budget and free of our working notes.
  expect((body as { cards: Parameters<typeof cardProblems>[0][] }).cards.flatMap(cardProblems)).toEqual([]);
}

export function expectValidDiscovery(body: unknown): void {
  const ok = validateDiscovery(body);
  expect(ok, formatErrors(validateDiscovery.errors)).toBe(true);
}

export function expectOperationOutcome(body: unknown): void {
  const oo = body as { resourceType?: string; issue?: { severity?: unknown; code?: unknown }[] };
  expect(oo.resourceType).toBe('OperationOutcome');
  expect(oo.issue?.length).toBeGreaterThan(0);
  for (const i of oo.issue ?? []) {
    expect(typeof i.severity).toBe('string');
    expect(typeof i.code).toBe('string');
  }
}

export function fill(template: string, patientId: string): string {
  return template.replace(/\{\{context\.patientId\}\}/g, encodeURIComponent(patientId));
}

/** Runs the service's own prefetch templates against a FHIR server, as a conforming EHR would. */
export async function buildPrefetch(
  fhirBase: string,
  patientId: string,
  templates: Record<string, string> = PREFETCH_TEMPLATES,
): Promise<Record<string, Resource>> {
  const out: Record<string, Resource> = {};
  for (const [key, t] of Object.entries(templates)) {
    const res = await fetch(`${fhirBase}/${fill(t, patientId)}`);
    if (!res.ok) throw new Error(`prefetch ${key}: HTTP ${res.status}`);
    out[key] = (await res.json()) as Resource;
  }
  return out;
}

export function hookRequest(patientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/demo-clinician', patientId },
    ...extra,
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization?: string;
}

/**
 * delayMs: answer as the target did, but that much later (the target is asked at once). body: answer 200 with
 * this text as the content type given (default application/fhir+json). streamBytes: answer 200 with a searchset
 * Bundle of about that many bytes, generated while it is sent (never held in memory), until the client stops reading.
 */
export type Fault =
  | { status: number }
  | { delayMs: number }
  | { body: string; contentType?: string }
  | { streamBytes: number }
  | 'hang'
  | 'pass';

/** What a streamed answer sent: bytes written before the client hung up (or the end), and whether it hung up. */
export interface StreamRecord {
  url: string;
  planned: number;
  sent: number;
  cutByClient: boolean;
}

const PAD_ENTRY = `{"resource":{"resourceType":"Basic","id":"pad","code":{"text":"${'x'.repeat(900)}"}}}`;

/** Streams a searchset Bundle of about `bytes` bytes, honouring back-pressure, and records how far it got. */
function streamBundle(res: http.ServerResponse, bytes: number, rec: StreamRecord): void {
  res.writeHead(200, { 'content-type': 'application/fhir+json' });
  const head = '{"resourceType":"Bundle","type":"searchset","entry":[';
  let first = true;
  const write = (s: string) => {
    rec.sent += Buffer.byteLength(s);
    return res.write(s);
  };
  res.once('close', () => {
    if (!res.writableFinished) rec.cutByClient = true;
  });
  write(head);
  const pump = () => {
    while (rec.sent < bytes) {
      if (res.destroyed) return;
      const ok = write(`${first ? '' : ','}${PAD_ENTRY}`);
      first = false;
      if (!ok) return void res.once('drain', pump);
    }
    res.end(']}');
  };
  pump();
}

/**
 * A real HTTP server in front of the FHIR server that can answer with faults a healthy server will
 * not produce on demand (401, 500, a hang), and records what it was asked and with which token.
 */
export async function startFaultProxy(
  target: string | (() => string),
  fault: (req: http.IncomingMessage) => Fault = () => 'pass',
) {
  const targetOf = typeof target === 'string' ? () => target : target;
  const requests: RecordedRequest[] = [];
  const streams: StreamRecord[] = [];
  const hanging = new Set<http.ServerResponse>();
  let hangsAbandoned = 0;
  const server = http.createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const f = fault(req);
    if (f === 'hang') {
      hanging.add(res);
      // The client hung up on a request left hanging: proof that it stopped waiting.
      res.once('close', () => {
        if (hanging.delete(res)) hangsAbandoned += 1;
      });
      return;
    }
    if (typeof f === 'object' && 'streamBytes' in f) {
      const rec: StreamRecord = { url: req.url ?? '', planned: f.streamBytes, sent: 0, cutByClient: false };
      streams.push(rec);
      return streamBundle(res, f.streamBytes, rec);
    }
    if (typeof f === 'object' && 'body' in f) {
      res.writeHead(200, { 'content-type': f.contentType ?? 'application/fhir+json' });
      res.end(f.body);
      return;
    }
    if (typeof f === 'object' && 'status' in f) {
      res.writeHead(f.status, { 'content-type': 'application/fhir+json' });
      res.end(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'security', diagnostics: 'fault injected' }],
        }),
      );
      return;
    }
    const path = (req.url ?? '/').replace(/^\/fhir/, '');
    fetch(`${targetOf()}${path}`, { method: req.method ?? 'GET', headers: { accept: 'application/fhir+json' } })
      .then(async (r) => {
        // Rewrite the target's base in bodies (paging links) so clients keep talking to the proxy.
        const text = (await r.text()).split(targetOf()).join(`${base}/fhir`);
        if (typeof f === 'object' && 'delayMs' in f) await new Promise((done) => setTimeout(done, f.delayMs));
        res.writeHead(r.status, { 'content-type': 'application/fhir+json' });
        res.end(text);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin: base,
    fhirBase: `${base}/fhir`,
    requests,
    streams,
    /** Requests left hanging that the client has since given up (closed). */
    get hangsAbandoned() {
      return hangsAbandoned;
    },
    /** Requests still hanging, their client still connected. */
    get hangsOpen() {
      return hanging.size;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const h of [...hanging]) {
          hanging.delete(h);
          h.destroy();
        }
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The service's log line for one call ("cds call"), found by its hookInstance. */
export function callLog(logs: LogCapture, hookInstance: string): Record<string, unknown> {
  const line = logs.lines
    .flatMap((l) => l.split('\n'))
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.event === 'cds-call' && l.hookInstance === hookInstance);
  if (!line) throw new Error(`no log line for hookInstance ${hookInstance}`);
  return line;
}

export function ruleIds(body: { cards: { extension: { crosstalk: { ruleId: string } } }[] }): string[] {
  return body.cards.map((c) => c.extension.crosstalk.ruleId);
}

export function searchsetOf(resources: Resource[], next?: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: resources.map((resource) => ({ resource })),
    ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
  };
}

/** A bare TCP listener that counts connection attempts: proof that nothing left for a refused address. */
export async function startTcpRecorder() {
  const net = await import('node:net');
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A supertest assertion for every CDS service answer: a 200 must satisfy the response schema and
 * anything else must be an OperationOutcome. Tests chain it so no response escapes validation.
 */
export function everyAnswerValid(res: { status: number; body: unknown }): void {
  if (res.status === 200) expectValidCdsResponse(res.body);
  else expectOperationOutcome(res.body);
}
