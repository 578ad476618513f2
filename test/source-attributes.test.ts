import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOperationOutcome, expectValidDiscovery, startCrosstalk } from './support/harness';

let ct: Awaited<ReturnType<typeof startCrosstalk>>;
beforeAll(async () => {
  ct = await startCrosstalk();
});
afterAll(async () => {
  await ct?.close();
});

type Service = { id: string; extension?: Record<string, { href: string; interventions: { rule: string }[] }> };

describe('source attributes over HTTP (ONC HTI-1)', () => {
  it('puts on every discovered service a brief extension that points at the full record of the same rules', async () => {
    const res = await request(ct.url).get('/cds-services').expect(200);
    expectValidDiscovery(res.body);
    const services: Service[] = res.body.services;
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) {
      const ext = s.extension?.['crosstalk.source-attributes'];
      expect(ext?.href, s.id).toBe(`/cds-services/${s.id}/source-attributes`);
      const full = await request(ct.url).get(ext!.href).expect(200);
      expect(full.body.service).toBe(s.id);
      expect(full.body.interventions.map((i: { rule: string }) => i.rule)).toEqual(
        ext!.interventions.map((i) => i.rule),
      );
    }
  });

  it('serves each rule of the patient-view service with its inputs, race and ethnicity unused', async () => {
    const res = await request(ct.url).get('/cds-services/bone-muscle-patient-view/source-attributes').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const low = res.body.interventions.find((i: { rule: string }) => i.rule === 'low-ccr');
    expect(low.inputs.race.used).toBe(false);
    expect(low.inputs.ethnicity.used).toBe(false);
    expect(low.inputs.sex.used).toBe(true);
    expect(low.inputs.reads.analytes).toEqual(expect.arrayContaining(['creatinine', 'cystatin-c']));
    expect(low.bibliographicCitation.length).toBeGreaterThan(0);
  });

  it('answers an unknown service with a 404 OperationOutcome and a POST with a 405', async () => {
    const missing = await request(ct.url).get('/cds-services/no-such-service/source-attributes').expect(404);
    expectOperationOutcome(missing.body);
    const post = await request(ct.url)
      .post('/cds-services/bone-muscle-patient-view/source-attributes')
      .send({})
      .expect(405);
    expectOperationOutcome(post.body);
  });
});
