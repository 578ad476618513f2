/*
 * A FHIR server that attacks its client, in a process of its own (spawnHostileFhir below), one way per base
 * path `/<mode>/fhir`. The patient reads as any server's would; every search answers with the attack:
 *   bomb-gzip, bomb-x-gzip, bomb-deflate, bomb-br, bomb-br-small-window — a searchset that inflates to BOMB_BYTES
 *            (built with node:zlib here, at start-up, from a few hundred kilobytes or less on the wire); bomb-br
 *            declares brotli's largest window (16 MB), bomb-br-small-window 256 kB;
 *   bomb-stacked — gzip over br, labelled `gzip, br`; bomb-unknown — labelled `compress`;
 *   deep     — Observation searches nest DEEP levels of arrays inside one entry (2 MB, under any byte cap);
 *   sibling  — a next link to `/sibling/fhir-admin/…`, the same origin beside the base path;
 *   pages    — a next link under the base on every page, forever; Observation searches carry a same-draw
 *              creatinine 0.6 mg/dL and cystatin C 1.0 mg/L (CCR 0.60, a low-CCR card if read as the whole list)
 *              on their first page;
 *   slow     — searches answer after SLOW_MS.
 * Every request is recorded (path, whether it carried a token, whether the client hung up before the end);
 * GET /_requests answers them and empties the list.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { daysAgo, lab } from '../../src/demo/builders';
import { type ChildCrosstalk, spawnService } from './child';

export const BOMB_BYTES = 256 * 1024 * 1024;
export const DEEP = 1_000_000;
export const SLOW_MS = 8000;

export interface HostileRequest {
  path: string;
  token: boolean;
  /** The client closed the connection before the whole answer was sent. */
  cutByClient: boolean;
  /** Bytes written on the wire (compressed, for a bomb). */
  sent: number;
}

const HEAD = '{"resourceType":"Bundle","type":"searchset","entry":[';

function bombs(): Record<string, { encoding: string; body: Buffer }> {
  // Spaces are JSON whitespace: the answer stays valid JSON to its last byte, so only the byte cap can stop it.
  const raw = Buffer.alloc(BOMB_BYTES, 0x20);
  raw.write(HEAD);
  raw.write(']}', BOMB_BYTES - 2);
  const gzip = zlib.gzipSync(raw, { level: 9 });
  // The largest window brotli allows without its large-window extension (16 MB): the worst a decoder must keep.
  const br = zlib.brotliCompressSync(raw, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_LGWIN]: 24 },
  });
  return {
    'bomb-gzip': { encoding: 'gzip', body: gzip },
    'bomb-x-gzip': { encoding: 'x-gzip', body: gzip },
    'bomb-deflate': { encoding: 'deflate', body: zlib.deflateSync(raw, { level: 9 }) },
    'bomb-br': { encoding: 'br', body: br },
    // A window of 256 kB, under any per-answer cap: only counting what it inflates to can stop this one.
    'bomb-br-small-window': {
      encoding: 'br',
      body: zlib.brotliCompressSync(raw, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_LGWIN]: 18 },
      }),
    },
    // Codings are listed in the order applied: br first, then gzip over it.
    'bomb-stacked': { encoding: 'gzip, br', body: zlib.gzipSync(br) },
    'bomb-unknown': { encoding: 'compress', body: gzip },
  };
}

const searchset = (entries: unknown[], next?: string) =>
  JSON.stringify({
    resourceType: 'Bundle',
    type: 'searchset',
    entry: entries.map((resource) => ({ resource })),
    ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
  });

function main(): void {
  const bomb = bombs();
  const deep = Buffer.from(
    `${HEAD}{"resource":{"resourceType":"Observation","id":"deep","status":"final","code":{"text":"x"},"extension":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}}]}`,
  );
  const requests: HostileRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hostile.invalid');
    if (url.pathname === '/_requests') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(requests.splice(0)));
      return;
    }
    const rec: HostileRequest = { path: url.pathname, token: !!req.headers.authorization, cutByClient: false, sent: 0 };
    requests.push(rec);
    res.once('close', () => {
      if (!res.writableFinished) rec.cutByClient = true;
    });
    const send = (body: Buffer | string, headers: http.OutgoingHttpHeaders = {}) => {
      const b = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': b.length, ...headers });
      // Written in pieces so what reached the client before it hung up can be counted.
      let at = 0;
      const pump = () => {
        while (at < b.length) {
          if (res.destroyed) return;
          const piece = b.subarray(at, at + 16384);
          at += piece.length;
          rec.sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const [, mode = '', root = '', type = '', id] = url.pathname.split('/');
    const origin = `http://${req.headers.host}`;
    if (root === 'fhir' && type === 'Patient' && id) {
      return send(JSON.stringify({ resourceType: 'Patient', id, gender: 'female', birthDate: '1950-01-01' }));
    }
    if (root === 'fhir-admin') return send(searchset([]));
    const b = bomb[mode];
    if (b) return send(b.body, { 'content-encoding': b.encoding });
    if (mode === 'deep') return send(type === 'Observation' ? deep : searchset([]));
    if (mode === 'sibling') return send(searchset([], `${origin}/sibling/fhir-admin/${type}?page=2`));
    if (mode === 'pages') {
      const page = Number(url.searchParams.get('page') ?? '1');
      const next = new URL(`${origin}/pages/fhir/${type}`);
      next.searchParams.set('page', String(page + 1));
      const pid = (url.searchParams.get('patient') ?? url.searchParams.get('subject') ?? '').replace(/^Patient\//, '');
      const now = new Date();
      const labs =
        type === 'Observation' && page === 1
          ? [
              lab('cr', pid, 'creatinineMass', 0.6, daysAgo(now, 30)),
              lab('cys', pid, 'cystatinC', 1.0, daysAgo(now, 30, 10)),
            ]
          : [];
      return send(searchset(labs, next.toString()));
    }
    if (mode === 'slow') {
      const t = setTimeout(() => send(searchset([])), SLOW_MS);
      res.once('close', () => clearTimeout(t));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }));
  });
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
    const port = (server.address() as AddressInfo).port;
    // The line spawnService waits for.
    console.log(JSON.stringify({ msg: 'crosstalk listening', url: `http://127.0.0.1:${port}` }));
  });
}

export interface HostileFhir {
  url: string;
  base: (mode: string) => string;
  requests: () => Promise<HostileRequest[]>;
  close: () => Promise<void>;
}

export async function spawnHostileFhir(): Promise<HostileFhir> {
  const child: ChildCrosstalk = await spawnService({
    cwd: path.resolve(__dirname, '../..'),
    args: ['--require', 'tsx/cjs', __filename],
    env: { HOSTILE_FHIR_MAIN: 'true' },
    timeoutMs: 60_000,
  });
  return {
    url: child.url,
    base: (mode) => `${child.url}/${mode}/fhir`,
    requests: async () => (await (await fetch(`${child.url}/_requests`)).json()) as HostileRequest[],
    close: async () => {
      child.child.kill('SIGTERM');
      await child.exited;
    },
  };
}

if (process.env.HOSTILE_FHIR_MAIN === 'true') main();
