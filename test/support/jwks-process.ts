/**
 * An EHR's key server in a process of its own (run with tsx): it publishes a JWK Set at /jwks.json and rotates it
 * on request, as Epic and Oracle Health rotate theirs. The test that drives it signs with the current private key,
 * which it reads from /control/current; /control/rotate replaces the key (the old one is no longer published), and
 * /control/hits says how often the set was fetched. Prints `jwks listening <url>` once it listens.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

const ALG = (process.env.JWKS_ALG ?? 'RS384') as 'RS384' | 'ES384';

interface Pair {
  publicJwk: JWK;
  privateJwk: JWK;
}

async function newPair(): Promise<Pair> {
  const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `${ALG}-${randomUUID()}`;
  return {
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG },
  };
}

async function main(): Promise<void> {
  let current = await newPair();
  let hits = 0;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/jwks.json' && req.method === 'GET') {
      hits += 1;
      return send(200, { keys: [current.publicJwk] });
    }
    if (req.url === '/control/current') return send(200, current.privateJwk);
    if (req.url === '/control/hits') return send(200, { hits });
    if (req.url === '/control/rotate' && req.method === 'POST') {
      void newPair().then((p) => {
        current = p;
        send(200, { kid: p.publicJwk.kid });
      });
      return;
    }
    send(404, {});
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`jwks listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

void main();
