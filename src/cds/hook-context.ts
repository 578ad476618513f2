import type { Bundle, Resource } from 'fhir/r4';
import type { DraftOrders } from '../clinical';
import { whyMalformed } from './inputs';
import { problems } from './outcomes';
import type { ServiceDefinition } from './services';

/**
 * The parts of a hook's context the pipeline uses, read the same way for every hook. What differs between hooks
 * (whether orders come with the call, which field narrows them, which statuses count) is data in the service
 * definition's `orders`, not code per hook.
 */
export interface HookContext {
  patientId: string;
  userId: string;
  encounterId?: string;
  draftOrders?: DraftOrders;
}

const UUID = /^urn:uuid:([0-9a-fA-F-]{36})$/;

/** An order without an id is named by its fullUrl's UUID, so a selection and a card can point at it. */
function withId(resource: Resource, fullUrl: string | undefined): Resource {
  if (resource.id) return resource;
  const m = fullUrl ? UUID.exec(fullUrl) : null;
  return m ? { ...resource, id: m[1] as string } : resource;
}

function statusOf(r: Resource): string | undefined {
  const s = (r as { status?: unknown }).status;
  return typeof s === 'string' ? s : undefined;
}

/** Reads a context already checked against the service's context schema. */
export function readHookContext(def: ServiceDefinition, context: Record<string, unknown>): HookContext {
  const base: HookContext = {
    patientId: context.patientId as string,
    userId: context.userId as string,
    ...(typeof context.encounterId === 'string' ? { encounterId: context.encounterId } : {}),
  };
  const spec = def.orders;
  if (!spec) return base;

  const bundle = context[spec.from] as Bundle;
  const entries = (bundle.entry ?? []).filter((e) => e.resource);
  const all = entries.map((e) => ({ resource: withId(e.resource as Resource, e.fullUrl), fullUrl: e.fullUrl }));
  // The orders are what the call is about: one the engine cannot read is the caller's error, not data to skip.
  all.forEach((o, i) => {
    const why = whyMalformed(o.resource);
    if (why)
      throw problems.badRequest(`${spec.from} entry ${i} is not a well-formed FHIR resource.`, why, [
        `context.${spec.from}.entry[${i}]`,
      ]);
  });
  const ref = (r: Resource) => `${r.resourceType}/${r.id ?? ''}`;
  let focus: string[] | undefined;
  if (spec.narrowTo) {
    const selections = (context[spec.narrowTo] as string[] | undefined) ?? [];
    focus = selections.map((sel) => {
      const hit = all.find((o) => ref(o.resource) === sel || o.fullUrl === sel);
      if (!hit)
        throw problems.badRequest(`"${spec.narrowTo}" names ${sel}, which is not in ${spec.from}.`, undefined, [
          `context.${spec.narrowTo}`,
        ]);
      return ref(hit.resource);
    });
  }
  // A resource without a status (or of a kind we do not read) is kept: the engine ignores what it does not know.
  const resources = all
    .map((o) => o.resource)
    .filter((r) => {
      const s = statusOf(r);
      return s === undefined || spec.statuses.includes(s);
    });
  const kept = new Set(resources.map(ref));
  return { ...base, draftOrders: { resources, ...(focus ? { focus: focus.filter((f) => kept.has(f)) } : {}) } };
}
