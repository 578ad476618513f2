/**
 * The ONC HTI-1 source attributes (45 CFR 170.315(b)(11)(iv)(A)) of a CDS service's rules, machine-readable: in full
 * at GET /cds-services/{id}/source-attributes (plain JSON, no FHIR), and in brief as a CDS Hooks `extension` on
 * the service's discovery entry, so an EHR's DSI inventory can list them without a second call.
 */
import { allSourceAttributes, type Knowledge, type SourceAttributes } from '../clinical';
import type { CdsService } from './services';

/** The discovery `extension` key; CDS Hooks asks that extension names be namespaced to avoid clashes. */
export const SOURCE_ATTRIBUTES_EXTENSION = 'crosstalk.source-attributes';

export const sourceAttributesPath = (serviceId: string) =>
  `/cds-services/${encodeURIComponent(serviceId)}/source-attributes`;

export interface ServiceSourceAttributes {
  service: string;
  regulation: string;
  knowledgeVersion: string;
  interventions: SourceAttributes[];
}

export function serviceSourceAttributes(service: CdsService, k: Knowledge): ServiceSourceAttributes {
  return {
    service: service.definition.discovery.id,
    regulation: k.sourceAttributes.regulation,
    knowledgeVersion: k.version,
    interventions: allSourceAttributes(k, service.definition.rules),
  };
}

type Demographic = keyof SourceAttributes['inputs'];

/** The brief form: where the full record is, and per rule its dates and which demographics it uses (true/false). */
export function sourceAttributesExtension(service: CdsService, k: Knowledge) {
  const full = serviceSourceAttributes(service, k);
  return {
    [SOURCE_ATTRIBUTES_EXTENSION]: {
      href: sourceAttributesPath(full.service),
      regulation: full.regulation,
      knowledgeVersion: full.knowledgeVersion,
      developer: k.sourceAttributes.developer.name,
      interventions: full.interventions.map((a) => ({
        rule: a.rule,
        title: a.title,
        released: a.releaseAndRevisionDates.released,
        revised: a.releaseAndRevisionDates.revised,
        uses: Object.fromEntries(
          (Object.keys(a.inputs) as Demographic[])
            .filter((d) => d !== 'reads')
            .map((d) => [d, (a.inputs[d] as { used: boolean }).used]),
        ),
      })),
    },
  };
}
