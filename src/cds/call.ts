import type { Observation } from 'fhir/r4';
import type { Knowledge } from '../clinical/knowledge';
import type { PatientEvaluation } from '../clinical/types';
import { evaluatePatient } from '../clinical/engine';
import { compileSchema, formatErrors } from '../config/schemas';
import { renderCards } from './cards';
import { type GatherOptions, type Gathered, gather } from './gather';
import { problems } from './outcomes';
import type { CdsService } from './services';
import type { CdsRequest, CdsResponse, PatientViewContext } from './types';

export interface CallDeps {
  knowledge: Knowledge;
  now: () => Date;
  gather: GatherOptions;
  /** Asked per call: the public base URL is known only once the server listens. */
  appLaunchUrl?: () => string | undefined;
}

/** What the server logs and (later) audits about a call: never patient data, never the token. */
export interface CallRecord {
  gathered: Pick<Gathered, 'sources' | 'partial' | 'fhirMs'>;
  evaluation: PatientEvaluation;
  gatherMs: number;
  evaluateMs: number;
}

const validateRequest = compileSchema<CdsRequest>('cds-request.schema.json');

/** request → validate → gather → evaluate → render: one CDS Hooks service call. */
export async function callService(
  service: CdsService,
  body: unknown,
  deps: CallDeps,
): Promise<{ response: CdsResponse; record: CallRecord }> {
  if (!validateRequest(body)) throw problems.badRequest('The request is not a valid CDS Hooks request.', formatErrors(validateRequest.errors));
  const req = body;
  const hook = service.definition.discovery.hook;
  if (req.hook !== hook) throw problems.badRequest(`This service answers the "${hook}" hook, not "${req.hook}".`, undefined, ['hook']);
  if (!service.validateContext(req.context)) {
    throw problems.badRequest(`The ${hook} context is not valid.`, formatErrors(service.validateContext.errors), ['context']);
  }
  const context = req.context as unknown as PatientViewContext;

  const appLaunchUrl = deps.appLaunchUrl?.();
  const t0 = performance.now();
  const data = await gather(service, req, deps.gather);
  const t1 = performance.now();
  const observations = Object.values(data.resources).flat().filter((r): r is Observation => r.resourceType === 'Observation');
  const evaluation = evaluatePatient({ patient: data.patient, observations }, deps.knowledge, deps.now(), service.rules);
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
    record: { gathered: { sources: data.sources, partial: data.partial, ...(data.fhirMs !== undefined ? { fhirMs: data.fhirMs } : {}) }, evaluation, gatherMs: t1 - t0, evaluateMs: t2 - t1 },
  };
}
