import type { ContextDomain } from '../clinical/context';
import type { ClinicalInput } from '../clinical/engine';
import type { Knowledge } from '../clinical/knowledge';
import type { PatientEvaluation } from '../clinical/types';
import { evaluatePatient } from '../clinical/engine';
import { inputFromResources } from '../clinical/input';
import { compileSchema, formatErrors } from '../config/schemas';
import { renderCards } from './cards';
import { type GatherOptions, type Gathered, gather } from './gather';
import { type HookContext, readHookContext } from './hook-context';
import { problems } from './outcomes';
import { unavailableDomains as domainsUnavailable } from './reads';
import type { CdsService, ServiceDefinition } from './services';
import type { CdsRequest, CdsResponse } from './types';

export interface CallDeps {
  knowledge: Knowledge;
  now: () => Date;
  gather: Omit<GatherOptions, 'egress'> & Partial<Pick<GatherOptions, 'egress'>>;
  /** Asked per call: the public base URL is known only once the server listens. */
  appLaunchUrl?: () => string | undefined;
}

/** What the server logs and (later) audits about a call: never patient data, never the token. */
export interface CallRecord {
  gathered: Pick<Gathered, 'sources' | 'partial' | 'malformed' | 'failures' | 'fhirMs' | 'fhirBytes'>;
  evaluation: PatientEvaluation;
  /** Kinds of context that could not be read; rules say so on their cards and in their reasons. */
  unavailable: ContextDomain[];
  gatherMs: number;
  evaluateMs: number;
}

const validateRequest = compileSchema<CdsRequest>('cds-request.schema.json');

/** A kind of context is unavailable when every prefetch key that carries it could not be had. */
export function unavailableDomains(def: ServiceDefinition, sources: Gathered['sources']): ContextDomain[] {
  return domainsUnavailable(def.contextDomains, (key) => sources[key] === 'unavailable');
}

/** Gathered resources, sorted by kind, plus the hook's orders: the engine's input. */
export function clinicalInput(data: Gathered, def: ServiceDefinition, hook: HookContext): ClinicalInput {
  return {
    ...inputFromResources(data.patient, Object.values(data.resources).flat()),
    ...(hook.draftOrders ? { draftOrders: hook.draftOrders } : {}),
    // An order whose Medication could not be read is an unknown medicine, not no medicine.
    unavailable: [...new Set([...unavailableDomains(def, data.sources), ...(data.unreadMedications ? (['medications'] as const) : [])])],
  };
}

/** request → validate → gather → evaluate → render: one CDS Hooks service call, for any hook the definition describes. */
export async function callService(
  service: CdsService,
  body: unknown,
  deps: CallDeps,
): Promise<{ response: CdsResponse; record: CallRecord }> {
  if (!validateRequest(body)) throw problems.badRequest('The request is not a valid CDS Hooks request.', formatErrors(validateRequest.errors));
  const req = body;
  const def = service.definition;
  const hook = def.discovery.hook;
  if (req.hook !== hook) throw problems.badRequest(`This service answers the "${hook}" hook, not "${req.hook}".`, undefined, ['hook']);
  if (!service.validateContext(req.context)) {
    throw problems.badRequest(`The ${hook} context is not valid.`, formatErrors(service.validateContext.errors), ['context']);
  }
  const context = readHookContext(def, req.context);

  const appLaunchUrl = deps.appLaunchUrl?.();
  const t0 = performance.now();
  if (!deps.gather.egress) throw new Error('no egress policy for this call');
  const data = await gather(service, req, { ...deps.gather, egress: deps.gather.egress });
  const t1 = performance.now();
  const input = clinicalInput(data, def, context);
  const evaluation = evaluatePatient(input, deps.knowledge, deps.now(), service.rules);
  const cards = renderCards(evaluation, {
    service,
    patientId: context.patientId,
    userId: context.userId,
    ...(context.encounterId ? { encounterId: context.encounterId } : {}),
    knowledgeVersion: deps.knowledge.version,
    ...(appLaunchUrl ? { appLaunchUrl } : {}),
  });
  const t2 = performance.now();
  return {
    response: { cards },
    record: {
      gathered: {
        sources: data.sources,
        partial: data.partial,
        malformed: data.malformed,
        failures: data.failures,
        ...(data.fhirMs !== undefined ? { fhirMs: data.fhirMs } : {}),
        ...(data.fhirBytes !== undefined ? { fhirBytes: data.fhirBytes } : {}),
      },
      evaluation,
      unavailable: input.unavailable ?? [],
      gatherMs: t1 - t0,
      evaluateMs: t2 - t1,
    },
  };
}
