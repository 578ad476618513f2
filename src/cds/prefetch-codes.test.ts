import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { expandCodes } from './prefetch-codes';
import { loadServices, SERVICES_DIR } from './services';

const k = loadKnowledgeSync();

describe('prefetch code lists filled from the code sets', () => {
  it('serves every template with its codes filled in and no placeholder left', () => {
    for (const s of loadServices().values()) {
      for (const [key, t] of Object.entries(s.definition.discovery.prefetch)) {
        expect(t, `${s.definition.discovery.id} ${key}`).not.toMatch(/\{codes:/);
        expect(t).toMatch(/^[A-Z][A-Za-z]+(\/\{\{context\.patientId\}\}|\?.+)$/);
      }
    }
  });

  it('asks for every searchable code of a code set, so a code added there is asked for by every service', () => {
    const template = loadServices().get('bone-muscle-patient-view')!.definition.discovery.prefetch.osteoporosisTherapy!;
    const exact = k.codesets['osteoporosis-therapy'].concepts.flatMap((c) =>
      c.codes.filter((x) => x.match !== 'prefix'),
    );
    expect(exact.length).toBeGreaterThan(5);
    const tokens = /code=([^&]+)/.exec(template)![1]!.split(',');
    expect(tokens.sort()).toEqual(exact.map((c) => `${c.system}|${c.code}`).sort());
    // A prefix code (an ATC level) cannot be searched as a token.
    expect(tokens).not.toContain('http://www.whocc.no/atc|M05BA');
  });

  it("takes an analyte's codes from the knowledge data and a concept's from its code set", () => {
    expect(expandCodes('Observation?code={codes:analyte/cystatin-c}', k)).toBe(
      'Observation?code=http://loinc.org|33863-2',
    );
    expect(expandCodes('Observation?code={codes:observations/crp,observations/bmi}', k)).toBe(
      'Observation?code=http://loinc.org|1988-5,http://loinc.org|30522-7,http://loinc.org|76485-2,http://loinc.org|76486-0,http://loinc.org|39156-5',
    );
  });

  it('asks every service for hs-CRP and the molar CRP codes, and for the weight and height a BMI is derived from', () => {
    for (const s of loadServices(SERVICES_DIR).values()) {
      const prefetch = s.definition.discovery.prefetch ?? {};
      const crp = expandCodes(prefetch.crp ?? '', k);
      const bmi = expandCodes(prefetch.bmi ?? '', k);
      for (const code of ['1988-5', '30522-7', '76485-2', '76486-0']) expect(crp).toContain(`http://loinc.org|${code}`);
      for (const code of ['39156-5', '29463-7', '8302-2']) expect(bmi).toContain(`http://loinc.org|${code}`);
    }
  });

  it('refuses to start on a template that names a code set, concept or analyte that does not exist, naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-services-'));
    const def = JSON.parse(fs.readFileSync(path.join(SERVICES_DIR, 'bone-muscle-patient-view.json'), 'utf8')) as {
      discovery: { prefetch: Record<string, string> };
    };
    def.discovery.prefetch.crp = 'Observation?patient={{context.patientId}}&code={codes:observations/c-reactive}';
    fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify(def));
    expect(() => loadServices(dir)).toThrow(
      /x\.json: \{codes:observations\/c-reactive\}: no concept or group "c-reactive" in code set "observations"/,
    );
    expect(() => expandCodes('{codes:analyte/sodium}', k)).toThrow(/no analyte "sodium"/);
    expect(() => expandCodes('{codes:labs}', k)).toThrow(/no code set "labs"/);
  });
});
