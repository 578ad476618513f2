import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Condition, Patient } from 'fhir/r4';
import { describe, expect, it } from 'vitest';

const NOW = '2026-12-01T00:00:00Z';
const bin = path.resolve(__dirname, '../bin/crosstalk.js');
const CHILD_PROCESS_MS = 30_000;

type Result = {
  patient: string;
  cards: { extension: { crosstalk: { ruleId: string } } }[];
  quiet: { ruleId: string; status: string; reasons: { code: string; text: string }[] }[];
};

function evaluateNdjson(bundle: Bundle): Result[] {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-')), 'bundle.json');
  fs.writeFileSync(f, JSON.stringify(bundle));
  const out = execFileSync(process.execPath, [bin, 'evaluate', f, '--now', NOW, '--format', 'ndjson'], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Result);
}

/* A Patient and a Condition as Synthea's Bulk Data export writes them (US Core profiles, urn:uuid-free ids). */
function syntheaPatient(id: string, extra: Partial<Patient>): Patient {
  return {
    resourceType: 'Patient',
    id,
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
    extension: [
      { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'F' },
      {
        url: 'http://synthetichealth.github.io/synthea/disability-adjusted-life-years',
        valueDecimal: 15.204322771446313,
      },
    ],
    identifier: [{ system: 'https://github.com/synthetichealth/synthea', value: id }],
    name: [{ use: 'official', family: 'Upton904', given: ['Marine542'], prefix: ['Mrs.'] }],
    gender: 'female',
    birthDate: '1927-05-21',
    multipleBirthBoolean: false,
    ...extra,
  };
}

function syntheaRa(id: string, patientId: string): Condition {
  return {
    resourceType: 'Condition',
    id,
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-encounter-diagnosis'] },
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    verificationStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    },
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/condition-category',
            code: 'encounter-diagnosis',
            display: 'Encounter Diagnosis',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://snomed.info/sct', code: '69896004', display: 'Rheumatoid arthritis (disorder)' }],
      text: 'Rheumatoid arthritis (disorder)',
    },
    subject: { reference: `Patient/${patientId}` },
    encounter: { reference: 'Encounter/3d14ec07-d167-8e78-82b0-408f046caa54' },
    onsetDateTime: '1971-03-13T23:40:54-05:00',
    recordedDate: '1971-03-13T23:40:54-05:00',
  };
}

describe('crosstalk evaluate on a Synthea-shaped Bundle', () => {
  it(
    'gives no card to a woman whose record shows she died in 1994, and says so in quiet; her living twin gets hers',
    () => {
      const dead = '79a66c97-6131-3213-f3c9-4606946ab056';
      const alive = 'a5cb8ce9-cec6-6b23-0990-cbaf753578a4';
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: syntheaPatient(dead, { deceasedDateTime: '1994-11-11T22:58:16-05:00' }) },
          { resource: syntheaRa('ra-dead', dead) },
          { resource: syntheaPatient(alive, {}) },
          { resource: syntheaRa('ra-alive', alive) },
        ],
      };
      const out = evaluateNdjson(bundle);
      const of = (id: string) => out.find((r) => r.patient === `Patient/${id}`) as Result;
      expect(of(alive).cards.map((c) => c.extension.crosstalk.ruleId)).toContain('secondary-osteoporosis');
      expect(of(dead).cards).toEqual([]);
      const reasons = of(dead).quiet.flatMap((q) => q.reasons);
      expect(of(dead).quiet.length).toBeGreaterThan(0);
      expect(new Set(reasons.map((r) => r.code))).toEqual(new Set(['patient-deceased-on']));
      expect(reasons[0]?.text).toMatch(/died on 1994-11-11/);
    },
    CHILD_PROCESS_MS,
  );
});
