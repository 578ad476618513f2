/** Finding cards link to the SMART app: a `smart` link to the launch URL, with an appContext naming the finding. */
import { describe, expect, it } from 'vitest';
import { parseAppContext } from '../src/cds/app-context';
import {
  buildPrefetch,
  expectValidCdsResponse,
  hookRequest,
  ruleIds,
  SERVICE_ID,
  startCrosstalk,
} from './support/harness';

interface Linked {
  cards: {
    links?: { label: string; url: string; type: string; appContext?: string }[];
    extension: { crosstalk: { ruleId: string } };
  }[];
}

async function call(env: Record<string, string>, patientId: string): Promise<Linked> {
  const c = await startCrosstalk(env);
  try {
    const res = await fetch(`${c.url}/cds-services/${SERVICE_ID}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hookRequest(patientId, { prefetch: await buildPrefetch(`${c.url}/fhir`, patientId) })),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Linked;
    expectValidCdsResponse(body);
    return body;
  } finally {
    await c.close();
  }
}

describe('finding cards', () => {
  it('link to the app’s launch URL under PUBLIC_BASE_URL, naming their finding in appContext', async () => {
    for (const [patient, rule] of [
      ['demo-low-ccr', 'low-ccr'],
      ['demo-missing-cystatin', 'missing-ccr-input'],
    ] as const) {
      const body = await call({ PUBLIC_BASE_URL: 'https://cds.hospital.example' }, patient);
      expect(ruleIds(body)).toEqual([rule]);
      const links = body.cards[0]?.links ?? [];
      expect(links).toHaveLength(1);
      expect(links[0]).toMatchObject({ type: 'smart', url: 'https://cds.hospital.example/app/launch.html' });
      expect(parseAppContext(links[0]?.appContext)).toEqual({ ruleId: rule });
    }
  });

  it('follow the port actually bound when PUBLIC_BASE_URL is left to its default', async () => {
    const c = await startCrosstalk();
    try {
      const port = new URL(c.url).port;
      expect(c.config.publicBaseUrl).toBe(`http://localhost:${port}`);
      const res = await fetch(`${c.url}/cds-services/${SERVICE_ID}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          hookRequest('demo-low-ccr', { prefetch: await buildPrefetch(`${c.url}/fhir`, 'demo-low-ccr') }),
        ),
      });
      const body = (await res.json()) as Linked;
      expectValidCdsResponse(body);
      // On the loopback name the call used (here 127.0.0.1), so the app opens on the origin the EHR already reaches.
      expect(body.cards[0]?.links?.[0]?.url).toBe(`${c.url}/app/launch.html`);
    } finally {
      await c.close();
    }
  });

  it('carry no app link when the app is switched off', async () => {
    const body = await call({ CROSSTALK_SMART_APP: 'false' }, 'demo-low-ccr');
    expect(ruleIds(body)).toEqual(['low-ccr']);
    expect(body.cards[0]).not.toHaveProperty('links');
  });
});
