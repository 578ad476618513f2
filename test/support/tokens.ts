import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface SigningKey {
  alg: 'ES384' | 'RS384';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: 'ES384' | 'RS384', kid = `${alg}-${randomUUID()}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk };
}

/** A real HTTP endpoint serving a JWK Set, counting how often it is fetched. */
export async function startJwksServer(keys: () => JWK[]) {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: keys() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return {
    url,
    get hits() {
      return hits;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface TokenOptions {
  iss: string;
  aud: string | string[];
  key: SigningKey;
  jku?: string;
  kid?: string;
  expSeconds?: number; // relative to now
  iatSeconds?: number; // relative to now
  jti?: string;
  extra?: Record<string, unknown>;
}

export async function sign(o: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: o.jti ?? randomUUID(), ...(o.extra ?? {}) })
    .setProtectedHeader({ alg: o.key.alg, typ: 'JWT', kid: o.kid ?? o.key.kid, ...(o.jku ? { jku: o.jku } : {}) })
    .setIssuer(o.iss)
    .setAudience(o.aud)
    .setIssuedAt(now + (o.iatSeconds ?? 0))
    .setExpirationTime(now + (o.expSeconds ?? 300))
    .sign(o.key.privateKey);
}

export function b64url(x: unknown): string {
  return Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
}

/** From the CDS Hooks 2.0 specification (§Trusting CDS Clients, Example): ES384, expired in 2015. */
export const SPEC_EXAMPLE = {
  token:
    'eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsInN1YiI6ImNsaWVudF9pZCIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.CUFPkplnWd6YGIvzoHolWCQBDsCL8QtTWKGg_QFpS169WrqDGzktRi-_we6-6rVzbjerU27ZKww_SW0-b9RTz-dPJNcqsueMio8r6EqXUXhbLm_ch3XFSbDlGHDl_tqo',
  iss: 'https://fhir-ehr.example.com/',
  jku: 'https://fhir-ehr.example.com/jwk_uri',
  publicJwk: {
    kty: 'EC',
    use: 'sig',
    crv: 'P-384',
    kid: 'example-kid',
    x: '46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk',
    y: 'XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI',
    alg: 'ES384',
  },
};
