import fs from 'node:fs';
import path from 'node:path';
import { CDS_HOOKS_DIR, ConfigError } from '../config/knowledge-file';
import { compileSchema, formatErrors } from '../config/schemas';
import type { CdsService, DiscoveryEntry } from './services';

/*
 * How each kind of EHR behaves as a CDS Hooks client, as data (cds-hooks/ehr-profiles.json): what card shapes it
 * takes, which prefetch it fills, whether it passes appContext, where it puts override reasons. A trusted client
 * names its profile; a caller without one (development mode) is `generic`.
 */

export type Hook = 'patient-view' | 'order-select' | 'order-sign';
export type SelectionBehavior = 'at-most-one' | 'any';
export type PrefetchSupport = 'all' | 'none' | string[];

export interface EhrProfile {
  title: string;
  hooks: Hook[];
  selectionBehaviors: SelectionBehavior[];
  maxActionsPerSuggestion?: number;
  appContext: boolean;
  feedbackReasonKeys: ('overrideReason' | 'overrideReasons')[];
  prefetch?: Partial<Record<Hook, PrefetchSupport>>;
  registration: { keys: string; issuer: string; prefetch: string; notes?: string[] };
}

export interface EhrProfiles {
  profiles: Record<string, EhrProfile> & { generic: EhrProfile };
}

export const DEFAULT_PROFILE = 'generic';
export const EHR_PROFILES_FILE = path.join(CDS_HOOKS_DIR, 'ehr-profiles.json');

/** Reads and validates the profiles; a bad file stops start-up with a message naming it. */
export function loadEhrProfiles(file = EHR_PROFILES_FILE): EhrProfiles {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: cannot read (${(e as Error).message})`);
  }
  const validate = compileSchema<EhrProfiles>('ehr-profiles.schema.json');
  if (!validate(raw)) throw new ConfigError(`${file}: ${formatErrors(validate.errors)}`);
  return raw;
}

/** Checks the profiles against the services: a prefetch key a profile names must be one some service on that hook has. */
export function checkProfilesAgainstServices(p: EhrProfiles, services: Iterable<CdsService>, file = EHR_PROFILES_FILE) {
  const list = [...services];
  for (const [name, profile] of Object.entries(p.profiles)) {
    for (const [hook, support] of Object.entries(profile.prefetch ?? {})) {
      if (!Array.isArray(support)) continue;
      const keys = new Set(
        list
          .filter((s) => s.definition.discovery.hook === hook)
          .flatMap((s) => Object.keys(s.definition.discovery.prefetch)),
      );
      for (const k of support)
        if (!keys.has(k))
          throw new ConfigError(`${file}: profile ${name} names prefetch key "${k}", which no ${hook} service has`);
    }
  }
}

export function profileNamed(p: EhrProfiles, name: string | undefined): EhrProfile {
  return (name ? p.profiles[name] : undefined) ?? p.profiles.generic;
}

/** The prefetch templates of a service that this EHR fills; the rest Crosstalk reads from fhirServer. */
export function prefetchFor(profile: EhrProfile, discovery: DiscoveryEntry): Record<string, string> {
  const support = profile.prefetch?.[discovery.hook as Hook] ?? 'all';
  if (support === 'all') return discovery.prefetch;
  if (support === 'none') return {};
  return Object.fromEntries(Object.entries(discovery.prefetch).filter(([k]) => support.includes(k)));
}

/** A service's discovery entry as this EHR should see it: only the prefetch it fills (none, not an empty object). */
export function discoveryFor(profile: EhrProfile, discovery: DiscoveryEntry): DiscoveryEntry {
  const { prefetch: _all, ...rest } = discovery;
  const prefetch = prefetchFor(profile, discovery);
  return Object.keys(prefetch).length ? { ...rest, prefetch } : (rest as DiscoveryEntry);
}

/**
 * The card's selectionBehavior for this EHR: `any` when there are independent suggestions, `at-most-one` for a
 * single one; where the EHR takes only the other value, that one (for a single suggestion they mean the same).
 */
export function selectionBehaviorFor(
  profile: Pick<EhrProfile, 'selectionBehaviors'>,
  suggestions: number,
): SelectionBehavior {
  const wanted: SelectionBehavior = suggestions > 1 ? 'any' : 'at-most-one';
  if (profile.selectionBehaviors.includes(wanted)) return wanted;
  return profile.selectionBehaviors[0] as SelectionBehavior;
}
