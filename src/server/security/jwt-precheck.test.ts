import { describe, expect, it } from 'vitest';
import { makeKey, sign } from '../../../test/support/tokens';
import { AuthFailure, JwtVerifier } from './jwt';
import { MemoryReplayCache } from './replay';

const ISS = 'https://ehr.example.org';
const AUD = 'https://cds.example.org/cds-services';
const POLICY = { clockSkewS: 60, maxLifetimeS: 3600, jwksTimeoutMs: 1000, jwksCooldownS: 30 };

/** The reason the verifier gives, which says which check refused the token first. */
async function refusal(verifier: JwtVerifier, token: string): Promise<string> {
  try {
    await verifier.verify(`Bearer ${token}`, AUD);
  } catch (e) {
    if (e instanceof AuthFailure) return e.reason;
    throw e;
  }
  return 'accepted';
}

describe('forged tokens that must fail on their claims', () => {
  it('are refused on the unverified exp or aud, before their signature is checked', async () => {
    const [ehr, attacker] = await Promise.all([makeKey('ES384'), makeKey('ES384')]);
    const verifier = new JwtVerifier(
      [{ iss: ISS, jwks: { keys: [ehr.publicJwk] }, fhirServerOrigins: [] }],
      POLICY,
      new MemoryReplayCache(),
    );
    const forged = (o: Partial<Parameters<typeof sign>[0]>) =>
      sign({ iss: ISS, aud: AUD, key: attacker, kid: ehr.kid, ...o });
    // A bad signature with good claims is found by the signature check…
    expect(await refusal(verifier, await forged({}))).toMatch(/SIGNATURE_VERIFICATION_FAILED/);
    // …one that must fail on its claims never gets there.
    expect(await refusal(verifier, await forged({ expSeconds: -600, iatSeconds: -900 }))).toBe(
      'expired or no exp (checked before the signature)',
    );
    expect(await refusal(verifier, await forged({ aud: 'https://elsewhere.example.org/cds-services' }))).toMatch(
      /^aud mismatch: expected https:\/\/cds\.example\.org\/cds-services/,
    );
    // The genuine token is still accepted.
    expect(await refusal(verifier, await sign({ iss: ISS, aud: AUD, key: ehr }))).toBe('accepted');
  });
});
