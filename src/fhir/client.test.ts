import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { FhirError } from './bundle';
import { ByteBudget, brotliWindow, nodeTransport } from './client';
import { EgressPolicy } from './egress';

const servers: http.Server[] = [];

async function fhirServer(handler: http.RequestListener): Promise<{ base: string; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`, connections: () => connections };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const bundle = (res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
};

function transport(base: string, origin: string, insecure: boolean) {
  const egress = new EgressPolicy(() => [{ origin, insecure }]);
  return nodeTransport(
    { baseUrl: base },
    { signal: new AbortController().signal, egress, bytes: new ByteBudget(1e6, 1e7), maxJsonDepth: 100 },
  );
}

describe('the FHIR transport on the server', () => {
  it('reuses connections across reads and calls instead of opening one per read', async () => {
    const fhir = await fhirServer((_req, res) => bundle(res));
    for (let call = 0; call < 3; call++) {
      const t = transport(fhir.base, 'http://127.0.0.1:*', true);
      for (let read = 0; read < 5; read++) await t.get(new URL(`${fhir.base}/Observation?code=${read}`));
    }
    expect(fhir.connections()).toBe(1);
  });

  it('still checks the address of every socket it opens: a public-only origin that resolves to loopback is refused', async () => {
    const fhir = await fhirServer((_req, res) => bundle(res));
    const port = new URL(fhir.base).port;
    // `localhost` is a name, so the allow-list check lets it through; only the socket's lookup sees 127.0.0.1.
    const t = transport(`https://localhost:${port}/fhir`, `https://localhost:${port}`, false);
    const err = await t.get(new URL(`https://localhost:${port}/fhir/Patient/1`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirError);
    expect((err as FhirError).failure).toMatchObject({ kind: 'refused' });
    expect(fhir.connections()).toBe(0);
  });

  it('sends a read again on a fresh socket when the server drops a pooled connection as the read arrives', async () => {
    let reads = 0;
    const fhir = await fhirServer((req, res) => {
      // The second read arrives on the first read's pooled socket: hanging up on it is what a server that closed
      // an idle connection just as the read was sent looks like to the client.
      if (++reads === 2) return req.socket.destroy();
      bundle(res);
    });
    const t = transport(fhir.base, 'http://127.0.0.1:*', true);
    await t.get(new URL(`${fhir.base}/Patient/1`));
    await expect(t.get(new URL(`${fhir.base}/Patient/1`))).resolves.toMatchObject({ resourceType: 'Bundle' });
    expect(reads).toBe(3);
    expect(fhir.connections()).toBe(2);
  });
});

describe('the window a brotli stream declares', () => {
  it('is read from its first byte as RFC 7932 encodes WBITS, and the large-window extension is not accepted', () => {
    for (const lgwin of [10, 16, 17, 18, 20, 22, 24]) {
      const first = zlib.brotliCompressSync(Buffer.alloc(1 << 20, 1), {
        params: { [zlib.constants.BROTLI_PARAM_LGWIN]: lgwin, [zlib.constants.BROTLI_PARAM_QUALITY]: 5 },
      })[0] as number;
      expect(brotliWindow(first)).toBe((1 << lgwin) - 16);
    }
    expect(brotliWindow(0b0010001)).toBeUndefined();
  });
});
