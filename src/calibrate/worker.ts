/**
 * One evaluation thread: patients in (their resources as NDJSON lines, Patient first), aggregates out. Each patient
 * gets what `crosstalk evaluate` gives a Bundle's patient: the resources the patient-view service's record reader
 * reads (the read plan), then the same engine with the same knowledge (and site file) and the same rule list.
 *
 * The main thread loads and validates the knowledge, the service and the read plan once and sends them here as data
 * (structured clone): this thread loads only the engine, not the validators (ajv, the schemas) nor the record reader,
 * so its start-up and its memory do not grow with the number of threads.
 */
import { parentPort } from 'node:worker_threads';
import type { Patient, Resource } from 'fhir/r4';
import { DEFAULT_RULES, evaluatePatient, inputFromResources, type Knowledge } from '../clinical';
import { type Aggregates, addPatient, emptyAggregates, knownObservationCodes } from './aggregate';
import { type PlanData, planFrom } from './read-plan';

/** The first message: everything the evaluation needs that does not change from patient to patient. */
export interface WorkerSetup {
  asOf: string;
  /** Loaded, merged with the site file and validated by the main thread. */
  knowledge: Knowledge;
  /** The patient-view service's rules, by id, in its order. */
  rules: string[];
  plan: PlanData;
  /** Medication resources (no subject) that any patient's orders may reference. */
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

interface Ready {
  knowledge: Knowledge;
  rules: typeof DEFAULT_RULES;
  asOf: Date;
  plan: ReturnType<typeof planFrom>;
  medications: Resource[];
  env: { known: ReturnType<typeof knownObservationCodes> };
}

let ready: Ready | undefined;

function prepare(s: WorkerSetup): Ready {
  const rules = s.rules.map((id) => {
    const rule = DEFAULT_RULES.find((r) => r.id === id);
    if (!rule) throw new Error(`rule ${id} is not in this engine`);
    return rule;
  });
  return {
    knowledge: s.knowledge,
    rules,
    asOf: new Date(s.asOf),
    plan: planFrom(s.plan),
    medications: s.medications.map((m) => JSON.parse(m) as Resource),
    env: { known: knownObservationCodes(s.knowledge) },
  };
}

function fail(e: unknown): void {
  // An engine failure ends the thread with the error, which the main thread reports; no patient data in it.
  setImmediate(() => {
    throw e instanceof Error ? new Error(e.message) : new Error('evaluation failed');
  });
}

parentPort?.on('message', (message: Batch | WorkerSetup) => {
  try {
    if ('knowledge' in message) {
      ready = prepare(message);
      return;
    }
    if (!ready) throw new Error('batch before setup');
    parentPort?.postMessage({ id: message.id, aggregates: evaluateBatch(ready, message) } satisfies BatchResult);
  } catch (e) {
    fail(e);
  }
});

function evaluateBatch(r: Ready, batch: Batch): Aggregates {
  const aggregates = emptyAggregates();
  for (const lines of batch.patients) {
    const [first, ...rest] = lines.map((l) => JSON.parse(l) as WithSubject);
    const patient = first as Patient;
    const id = patient.id ?? '';
    const ref = `Patient/${id}`;
    // Grouping matched the subject to this patient, however it was written (urn:uuid, absolute URL): say it the
    // way the reader and the engine look for it.
    for (const x of rest) {
      if (x.subject && x.subject.reference !== ref) x.subject = { ...x.subject, reference: ref };
    }
    const input = {
      ...inputFromResources(patient, [...r.plan.select(rest as Resource[]), ...r.medications]),
      unavailable: r.plan.unavailable,
    };
    const evaluation = evaluatePatient(input, r.knowledge, r.asOf, r.rules);
    addPatient(aggregates, evaluation, rest as Resource[], r.env);
  }
  return aggregates;
}
