/**
 * One evaluation thread: patients in (their resources as NDJSON lines, Patient first), aggregates out. It runs the
 * same engine with the same knowledge (and site file) and the same rule list as the patient-view service.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Patient, Resource } from 'fhir/r4';
import { evaluatePatient } from '../clinical/engine';
import { inputFromResources } from '../clinical/input';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { loadServices } from '../cds/services';
import { type Aggregates, addPatient, emptyAggregates, foldingRules, knownObservationCodes } from './aggregate';

export interface WorkerSetup {
  siteKnowledge?: string;
  asOf: string;
}

/** The first message: Medication resources (no subject) that any patient's orders may reference. */
export interface WorkerMedications {
  medications: string[];
}

export interface Batch {
  id: number;
  /** Per patient: its resources as JSON text, the Patient first. */
  patients: string[][];
}

export interface BatchResult {
  id: number;
  aggregates: Aggregates;
}

type WithSubject = Resource & { subject?: { reference?: string }; patient?: { reference?: string } };

const setup = workerData as WorkerSetup;
const knowledge = loadKnowledgeSync(setup.siteKnowledge);
const service = loadServices().get('bone-muscle-patient-view');
if (!service) throw new Error('service bone-muscle-patient-view is not defined');
const rules = service.rules;
const asOf = new Date(setup.asOf);
let medications: Resource[] = [];
const env = { known: knownObservationCodes(knowledge), folding: foldingRules(rules) };

parentPort?.on('message', (message: Batch | WorkerMedications) => {
  if ('medications' in message) {
    medications = message.medications.map((m) => JSON.parse(m) as Resource);
    return;
  }
  const batch = message;
  const aggregates = emptyAggregates();
  for (const lines of batch.patients) {
    const [first, ...rest] = lines.map((l) => JSON.parse(l) as WithSubject);
    const patient = first as Patient;
    const ref = `Patient/${patient.id ?? ''}`;
    // Grouping matched the subject to this patient, however it was written (urn:uuid, absolute URL): say it the
    // way the engine checks it.
    for (const r of rest) {
      if (r.subject && r.subject.reference !== ref) r.subject = { ...r.subject, reference: ref };
    }
    const resources = rest as Resource[];
    const evaluation = evaluatePatient(inputFromResources(patient, [...resources, ...medications]), knowledge, asOf, rules);
    addPatient(aggregates, evaluation, resources, env);
  }
  parentPort?.postMessage({ id: batch.id, aggregates } satisfies BatchResult);
});
