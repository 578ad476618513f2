import type {
  Condition,
  DiagnosticReport,
  Encounter,
  EpisodeOfCare,
  Medication,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Procedure,
  Resource,
  ServiceRequest,
  Specimen,
} from 'fhir/r4';
import type { ClinicalInput } from './engine';

function ofType<T extends Resource>(all: Resource[], type: T['resourceType']): T[] {
  return all.filter((r): r is T => r.resourceType === type);
}

/** Sorts a patient's resources by kind into the engine's input; kinds the engine does not read are left out. */
export function inputFromResources(patient: Patient, resources: Resource[]): ClinicalInput {
  return {
    patient,
    observations: ofType<Observation>(resources, 'Observation'),
    medicationRequests: ofType<MedicationRequest>(resources, 'MedicationRequest'),
    medicationStatements: ofType<MedicationStatement>(resources, 'MedicationStatement'),
    medicationAdministrations: ofType<MedicationAdministration>(resources, 'MedicationAdministration'),
    medicationDispenses: ofType<MedicationDispense>(resources, 'MedicationDispense'),
    medications: ofType<Medication>(resources, 'Medication'),
    conditions: ofType<Condition>(resources, 'Condition'),
    diagnosticReports: ofType<DiagnosticReport>(resources, 'DiagnosticReport'),
    serviceRequests: ofType<ServiceRequest>(resources, 'ServiceRequest'),
    procedures: ofType<Procedure>(resources, 'Procedure'),
    encounters: ofType<Encounter>(resources, 'Encounter'),
    episodesOfCare: ofType<EpisodeOfCare>(resources, 'EpisodeOfCare'),
    specimens: ofType<Specimen>(resources, 'Specimen'),
  };
}
