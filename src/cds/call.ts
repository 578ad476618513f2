import {
  type ClinicalInput,
  type ContextDomain,
  evaluatePatient,
  inputFromResources,
  type Knowledge,
  type PatientEvaluation,
  type Reason,
  type RuleStatus,
  type Unreadable,
} from '../clinical';
import { compileSchema, formatErrors } from '../config/schemas';
import { renderCards, ruleTitleIn } from './cards';
import type { EhrProfile } from './ehr-profiles';
import { type Gathered, type GatherOptions, gather } from './gather';
import { type HookContext, readHookContext } from './hook-context';
import { type Delivery, deliveries, encounterLocations, isShown, needsLocation } from './modes';
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
  /** Keys the hash that draws a pilot's share of patients. */
  pilotKey?: Buffer;
  /** The calling EHR's profile (its trusted client's `profile`): how it takes cards. Absent: generic. */
  profile?: EhrProfile;
}

/** One rule as it ran in a call: for a withheld rule, the outcome it would have had if it were shown. */
export interface RuleRun {
  ruleId: string;
  status: RuleStatus;
  reasons: Reason[];
  delivery: Delivery;
}

/** What the server logs and (later) audits about a call: never patient data, never the token. */
export interface CallRecord {
  gathered: Pick<Gathered, 'sources' | 'partial' | 'malformed' | 'failures' | 'fhirMs' | 'fhirBytes' | 'fallbacks'>;
  /** What the clinician was shown: the evaluation with only the rules shown in this call. */
  evaluation: PatientEvaluation;
  /** Every rule of the service, shown or withheld, with its delivery. */
  rules: RuleRun[];
  /** Kinds of context that could not be read (or held a resource set aside); rules say so on their cards and reasons. */
  unavailable: ContextDomain[];
  /** Resources set aside at the boundary (prefetch, FHIR, draft orders), by the domain each would have fed. */
  unreadable: Unreadable[];
  gatherMs: number;
  evaluateMs: number;
}

/** The gathered key under which a location pilot's encounter is read; not a prefetch key of any service. */
const ENCOUNTER_KEY = 'pilotEncounter';

const validateRequest = compileSchema<CdsRequest>('cds-request.schema.json');

/** A kind of context is unavailable when every prefetch key that carries it could not be had. */
export function unavailableDomains(def: ServiceDefinition, sources: Gathered['sources']): ContextDomain[] {
  return domainsUnavailable(def.contextDomains, (key) => sources[key] === 'unavailable');
}

/** Gathered resources, sorted by kind, plus the hook's orders: the engine's input. */
export function clinicalInput(data: Gathered, def: ServiceDefinition, hook: HookContext): ClinicalInput {
  return {
    // A Medication sent beside the draft orders resolves their references like one from the chart.
    ...inputFromResources(data.patient, [
      ...Object.values(data.resources).flat(),
      ...(hook.draftOrders?.resources.filter((r) => r.resourceType === 'Medication') ?? []),
    ]),
    ...(hook.draftOrders ? { draftOrders: hook.draftOrders } : {}),
    unavailable: data.unavailable,
    // Resources set aside at the boundary: their domains could not be checked (buildContext folds them in).
    unreadable: [...(data.unreadable ?? []), ...(hook.unreadable ?? [])],
  };
}

/** request → validate → gather → evaluate → render: one CDS Hooks service call, for any hook the definition describes. */
export async function callService(
  service: CdsService,
  body: unknown,
  deps: CallDeps,
): Promise<{ response: CdsResponse; record: CallRecord }> {
  if (!validateRequest(body))
    throw problems.badRequest('The request is not a valid CDS Hooks request.', formatErrors(validateRequest.errors));
  const req = body;
  const def = service.definition;
  const hook = def.discovery.hook;
  if (req.hook !== hook)
    throw problems.badRequest(`This service answers the "${hook}" hook, not "${req.hook}".`, undefined, ['hook']);
  if (!service.validateContext(req.context)) {
    throw problems.badRequest(`The ${hook} context is not valid.`, formatErrors(service.validateContext.errors), [
      'context',
    ]);
  }
  const context = readHookContext(def, req.context);

  const appLaunchUrl = deps.appLaunchUrl?.();
  const t0 = performance.now();
  if (!deps.gather.egress) throw new Error('no egress policy for this call');
  const ruleIds = service.rules.map((r) => r.id);
  // Only a location pilot needs to know where the call is, and only the encounter says (no hook context does).
  const readEncounter = context.encounterId !== undefined && needsLocation(ruleIds, deps.knowledge);
  const extraReads = readEncounter ? { [ENCOUNTER_KEY]: `Encounter/{{context.encounterId}}` } : undefined;
  const data = await gather(service, req, {
    ...deps.gather,
    egress: deps.gather.egress,
    ...(extraReads ? { extraReads } : {}),
  });
  const locations = encounterLocations(data.resources[ENCOUNTER_KEY] ?? []);
  if (readEncounter) delete data.resources[ENCOUNTER_KEY];
  const t1 = performance.now();
  const input = clinicalInput(data, def, context);
  const modes = deliveries(
    ruleIds,
    deps.knowledge,
    { userId: context.userId, patientId: context.patientId, locations },
    deps.pilotKey,
  );
  const asOf = deps.now();
  const full = evaluatePatient(input, deps.knowledge, asOf, service.rules);
  // The response is exactly what it would be without the withheld rules: they are left out of the evaluation, so
  // they neither supersede an active rule nor attach lines to its card. The full evaluation is what they would have shown.
  const shownRules = service.rules.filter((r) => isShown(modes.get(r.id) ?? 'active'));
  const evaluation =
    shownRules.length === service.rules.length ? full : evaluatePatient(input, deps.knowledge, asOf, shownRules);
  const rules: RuleRun[] = ruleIds.map((id) => {
    const delivery = modes.get(id) ?? 'active';
    const o = (isShown(delivery) ? evaluation : full).outcomes.find((x) => x.ruleId === id);
    return { ruleId: id, status: o?.status ?? 'not-met', reasons: o?.reasons ?? [], delivery };
  });
  const cards = renderCards(evaluation, {
    service,
    patientId: context.patientId,
    userId: context.userId,
    ...(context.encounterId ? { encounterId: context.encounterId } : {}),
    knowledgeVersion: deps.knowledge.version,
    ...(appLaunchUrl ? { appLaunchUrl } : {}),
    ...(deps.profile ? { profile: deps.profile } : {}),
    ruleTitle: ruleTitleIn(deps.knowledge),
  });
  const t2 = performance.now();
  return {
    response: { cards },
    record: {
      gathered: {
        sources: data.sources,
        partial: data.partial,
        malformed: data.malformed + (context.malformed ?? 0),
        failures: data.failures,
        ...(data.fhirMs !== undefined ? { fhirMs: data.fhirMs } : {}),
        ...(data.fhirBytes !== undefined ? { fhirBytes: data.fhirBytes } : {}),
        ...(data.fallbacks ? { fallbacks: data.fallbacks } : {}),
      },
      evaluation,
      rules,
      unavailable: [...new Set([...(input.unavailable ?? []), ...(input.unreadable ?? []).map((u) => u.domain)])],
      unreadable: input.unreadable ?? [],
      gatherMs: t1 - t0,
      evaluateMs: t2 - t1,
    },
  };
}
