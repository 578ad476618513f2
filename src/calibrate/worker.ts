/**
 * One evaluation thread: patients in (their resources as NDJSON lines, Patient first), aggregates out. Each patient
 * gets what `crosstalk evaluate` gives a Bundle's patient: the resources the patient-view service's record reader
 * reads (`readPlan`), then the same engine with the same knowledge (and site file) and the same rule list.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Patient, Resource } from 'fhir/r4';
import { readsOf } from '../cds/reads';
import { loadServices } from '../cds/services';
import { evaluatePatient, inputFromResources } from '../clinical';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { type Aggregates, addPatient, emptyAggregates, knownObservationCodes } from './aggregate';
import { type ReadPlan, readPlan } from './read-plan';

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
const reads = readsOf(service.definition);
let plan: ReadPlan | undefined;
const env = { known: knownObservationCodes(knowledge) };

parentPort?.on('message', (message: Batch | WorkerMedications) => {
  if ('medications' in message) {
    medications = message.medications.map((m) => JSON.parse(m) as Resource);
    return;
  }
  void evaluateBatch(message).then(
    (aggregates) => parentPort?.postMessage({ id: message.id, aggregates } satisfies BatchResult),
    // An engine failure ends the thread with the error, which the main thread reports; no patient data in it.
    (e: unknown) =>
      setImmediate(() => {
        throw e instanceof Error ? new Error(e.message) : new Error('evaluation failed');
      }),
  );
});

async function evaluateBatch(batch: Batch): Promise<Aggregates> {
  const aggregates = emptyAggregates();
  for (const lines of batch.patients) {
    const [first, ...rest] = lines.map((l) => JSON.parse(l) as WithSubject);
    const patient = first as Patient;
    const id = patient.id ?? '';
    const ref = `Patient/${id}`;
    // Grouping matched the subject to this patient, however it was written (urn:uuid, absolute URL): say it the
    // way the reader and the engine look for it.
    for (const r of rest) {
      if (r.subject && r.subject.reference !== ref) r.subject = { ...r.subject, reference: ref };
    }
    plan ??= await readPlan(reads);
    const input = {
      ...inputFromResources(patient, [...plan.select(rest as Resource[]), ...medications]),
      unavailable: plan.unavailable,
    };
    const evaluation = evaluatePatient(input, knowledge, asOf, rules);
    addPatient(aggregates, evaluation, rest as Resource[], env);
  }
  return aggregates;
}
