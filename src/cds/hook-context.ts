import type { Bundle, Resource } from 'fhir/r4';
import type { DraftOrders, Unreadable } from '../clinical';
import { domainsOfType, judge, setAside } from './inputs';
import { problems } from './outcomes';
import { readsOf } from './reads';
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
  /** Draft orders set aside (they break a type the rules read), as the domains they would have fed. */
  unreadable?: Unreadable[];
  /** How many draft orders were set aside. */
  malformed?: number;
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
  const sent = entries.map((e, i) => ({ raw: e.resource as Resource, fullUrl: e.fullUrl, i }));
  // Each order is judged on its own: one the rules cannot read is set aside as an Unreadable of the domains it would
  // feed (a MedicationRequest feeds the medicines), so the rules say what could not be checked. Never a 400 for the
  // call, and never read as "no such order".
  const all: { resource: Resource; fullUrl: string | undefined; why?: string; where: string }[] = [];
  for (const o of sent) {
    const named = withId(o.raw, o.fullUrl);
    const j = judge(named);
    const where = `context.${spec.from}.entry[${o.i}]`;
    if (j.ok) all.push({ resource: j.resource, fullUrl: o.fullUrl, where });
    else all.push({ resource: named, fullUrl: o.fullUrl, why: j.why, where });
  }
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
  const counts = (r: Resource) => {
    const s = statusOf(r);
    return s === undefined || spec.statuses.includes(s);
  };
  // A resource without a status (or of a kind we do not read) is kept: the engine ignores what it does not know.
  const resources = all.filter((o) => !o.why && counts(o.resource)).map((o) => o.resource);
  const kept = new Set(resources.map(ref));
  // Each order is judged on its own: one the rules cannot read is set aside as an Unreadable of the domains it would
  // feed (a MedicationRequest feeds the medicines), so the rules say what could not be checked: never a 400 for the
  // call, never read as "no such order". One the hook is about (selected, or any order-sign order) says so.
  const reads = readsOf(def);
  const focusSet = focus ? new Set(focus) : undefined;
  const unreadable: Unreadable[] = all
    .filter((o) => o.why && counts(o.resource))
    .flatMap((o) => {
      const type = typeof o.resource.resourceType === 'string' ? o.resource.resourceType : '';
      const inFocus = !focusSet || focusSet.has(ref(o.resource)) || (!!o.fullUrl && focusSet.has(o.fullUrl));
      return setAside(o.resource, o.where, domainsOfType(reads, type), o.why as string).map((u) => ({
        ...u,
        ...(inFocus ? { focus: true } : {}),
      }));
    });
  return {
    ...base,
    draftOrders: { resources, ...(focus ? { focus: focus.filter((f) => kept.has(f)) } : {}) },
    unreadable,
    malformed: all.filter((o) => o.why).length,
  };
}
