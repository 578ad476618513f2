/**
 * `crosstalk registration`: what hospital IT pastes into an EHR's CDS Hooks registration screen, from the same
 * service definitions and EHR profiles the service runs with; and `--check <url>`, which compares that with the
 * discovery document a running Crosstalk serves.
 */
import { discoveryFor, type EhrProfile, type EhrProfiles, loadEhrProfiles, prefetchFor } from '../cds/ehr-profiles';
import { resourceTypesRead } from '../cds/reads';
import { type DiscoveryEntry, loadServices } from '../cds/services';
import { ConfigError, loadKnowledgeSync } from '../config/knowledge-file';

export interface ServiceRegistration {
  id: string;
  hook: string;
  title: string;
  description: string;
  /** The URL the EHR calls, and the `aud` of its JWT on that call. */
  url: string;
  feedbackUrl: string;
  /** The templates this EHR fills, key by key; empty when it fills none. */
  prefetch: Record<string, string>;
  /** The FHIR read scopes fhirAuthorization must grant for what the EHR does not prefetch (SMART v1 syntax). */
  fhirScopes: string[];
  usageRequirements?: string;
}

export interface Registration {
  ehr: string;
  title: string;
  baseUrl: string;
  discoveryUrl: string;
  services: ServiceRegistration[];
  keys: string;
  issuer: string;
  prefetch: string;
  notes: string[];
  smartApp: { launchUrl: string; redirectUri: string; appContext: boolean };
  /** A skeleton of this EHR's entry in the CROSSTALK_TRUSTED_CLIENTS file. */
  trustedClient: Record<string, unknown>;
}

function profileOrFail(profiles: EhrProfiles, ehr: string): EhrProfile {
  const p = profiles.profiles[ehr];
  if (!p)
    throw new ConfigError(
      `--ehr: no profile "${ehr}" in cds-hooks/ehr-profiles.json (${Object.keys(profiles.profiles).join(', ')})`,
    );
  return p;
}

function baseUrlOrFail(raw: string | undefined): string {
  if (!raw) throw new ConfigError('registration needs --base-url <the URL EHRs use to reach Crosstalk>');
  if (!/^https?:\/\/[^/]+(\/.*[^/])?$/.test(raw))
    throw new ConfigError(`--base-url: ${raw} is not an http(s) URL without a trailing slash`);
  return raw;
}

/** Every service's discovery entry, as the service answers it to a caller with this EHR's profile. */
export function expectedDiscovery(profile: EhrProfile, discovery: DiscoveryEntry[]): DiscoveryEntry[] {
  return discovery.map((d) => discoveryFor(profile, d));
}

export function registrationFor(
  ehr: string,
  baseUrl: string,
  discovery: DiscoveryEntry[],
  profiles: EhrProfiles,
): Registration {
  const profile = profileOrFail(profiles, ehr);
  const base = baseUrlOrFail(baseUrl);
  const services = discovery
    .filter((d) => (profile.hooks as string[]).includes(d.hook))
    .map((d): ServiceRegistration => {
      const url = `${base}/cds-services/${d.id}`;
      return {
        id: d.id,
        hook: d.hook,
        title: d.title,
        description: d.description,
        url,
        feedbackUrl: `${url}/feedback`,
        prefetch: prefetchFor(profile, d),
        fhirScopes: resourceTypesRead(d.prefetch).map((t) => `patient/${t}.read`),
        ...(d.usageRequirements ? { usageRequirements: d.usageRequirements } : {}),
      };
    });
  return {
    ehr,
    title: profile.title,
    baseUrl: base,
    discoveryUrl: `${base}/cds-services`,
    services,
    keys: profile.registration.keys,
    issuer: profile.registration.issuer,
    prefetch: profile.registration.prefetch,
    notes: profile.registration.notes ?? [],
    smartApp: {
      launchUrl: `${base}/app/launch.html`,
      redirectUri: `${base}/app/index.html`,
      appContext: profile.appContext,
    },
    trustedClient: {
      name: profile.title,
      iss: '<the iss the EHR signs with>',
      jwksUrls: ['<https URL of the EHR’s JWK Set>'],
      ...(ehr === 'epic' ? { algorithms: ['RS384'], sub: '<the CDS client id>' } : {}),
      fhirServerOrigins: ['<https origin of the EHR’s FHIR server>'],
      profile: ehr,
    },
  };
}

const indent = (text: string, by: string) => text.replace(/\n/g, `\n${by}`);

export function formatRegistration(r: Registration): string {
  const lines: string[] = [
    `Crosstalk registration for ${r.title} (profile ${r.ehr})`,
    '',
    `Discovery URL: ${r.discoveryUrl}`,
    '',
  ];
  r.services.forEach((s, i) => {
    lines.push(
      `Service ${i + 1} of ${r.services.length}`,
      `  ID:           ${s.id}`,
      `  Hook:         ${s.hook}`,
      `  Title:        ${s.title}`,
      `  Description:  ${s.description}`,
      `  Service URL:  ${s.url}   (the JWT's aud on calls)`,
      `  Feedback URL: ${s.feedbackUrl}`,
    );
    const keys = Object.entries(s.prefetch);
    if (keys.length) {
      lines.push('  Prefetch (key, template):');
      const width = Math.max(...keys.map(([k]) => k.length));
      for (const [k, t] of keys) lines.push(`    ${k.padEnd(width)}  ${t}`);
    } else lines.push('  Prefetch:     none (Crosstalk reads from fhirServer)');
    lines.push(`  FHIR scopes:  ${s.fhirScopes.join(' ')}`);
    if (s.usageRequirements) lines.push(`  Usage:        ${indent(s.usageRequirements, '                ')}`);
    lines.push('');
  });
  lines.push(
    `Signing keys: ${r.keys}`,
    `Issuer:       ${r.issuer}`,
    `Prefetch:     ${r.prefetch}`,
    `SMART app:    launch ${r.smartApp.launchUrl}, redirect ${r.smartApp.redirectUri}${r.smartApp.appContext ? '' : ' (no appContext: the app opens on the patient’s findings)'}`,
    ...r.notes.map((n) => `Note:         ${n}`),
    '',
    'Entry for the CROSSTALK_TRUSTED_CLIENTS file:',
    JSON.stringify(r.trustedClient, null, 2),
    '',
  );
  return lines.join('\n');
}

export interface Drift {
  service: string;
  field: string;
  expected?: unknown;
  actual?: unknown;
}

/** Differences between the discovery this EHR should see and the one served, field by field and key by key. */
export function discoveryDrift(expected: DiscoveryEntry[], actual: unknown): Drift[] {
  const served = (actual as { services?: unknown })?.services;
  if (!Array.isArray(served))
    return [{ service: '(discovery)', field: 'services', expected: 'an array', actual: served }];
  const out: Drift[] = [];
  const byId = new Map<string, Record<string, unknown>>();
  for (const s of served as Record<string, unknown>[]) byId.set(`${String(s?.id)} ${String(s?.hook)}`, s);
  for (const e of expected) {
    const key = `${e.id} ${e.hook}`;
    const a = byId.get(key);
    byId.delete(key);
    if (!a) {
      out.push({ service: e.id, field: '(service)', expected: e.hook, actual: undefined });
      continue;
    }
    for (const field of ['title', 'description', 'usageRequirements'] as const)
      if (e[field] !== a[field]) out.push({ service: e.id, field, expected: e[field], actual: a[field] });
    const ep = e.prefetch ?? {};
    const ap = (a.prefetch ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ep), ...Object.keys(ap)]))
      if (ep[k] !== ap[k]) out.push({ service: e.id, field: `prefetch.${k}`, expected: ep[k], actual: ap[k] });
  }
  for (const [key, a] of byId)
    out.push({ service: key.split(' ')[0] ?? '', field: '(service)', expected: undefined, actual: a.hook });
  return out;
}

export function formatDrift(drift: Drift[], url: string, ehr: string): string {
  if (!drift.length) return `No drift: ${url} serves what \`crosstalk registration --ehr ${ehr}\` prints.\n`;
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return `${[
    `Drift: ${url} differs from \`crosstalk registration --ehr ${ehr}\` in ${drift.length} place(s):`,
    ...drift.map((d) => `  ${d.service} ${d.field}: registered ${show(d.expected)}, served ${show(d.actual)}`),
  ].join('\n')}\n`;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The discovery URL for what the user gave: a base URL or the discovery URL itself. */
export function discoveryUrlOf(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`--check: ${raw} is not a URL`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = path.endsWith('/cds-services') ? path : `${path}/cds-services`;
  return u.toString();
}

export async function runRegistration(
  args: string[],
  env: NodeJS.ProcessEnv,
  write: (s: string) => Promise<void>,
): Promise<number> {
  const ehr = option(args, '--ehr') ?? 'generic';
  const knowledge = loadKnowledgeSync(option(args, '--site-knowledge') ?? env.CROSSTALK_SITE_KNOWLEDGE);
  const discovery = [...loadServices(undefined, undefined, knowledge).values()].map((s) => s.definition.discovery);
  const profiles = loadEhrProfiles();
  const check = option(args, '--check');
  if (check) {
    const profile = profileOrFail(profiles, ehr);
    const url = discoveryUrlOf(check);
    // The running service wants a client JWT outside development mode; it is read from the environment so it
    // stays out of shell history and process lists, and it is never printed.
    const token = env.CROSSTALK_CHECK_TOKEN;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        redirect: 'error',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw new ConfigError(`--check: ${url} could not be reached (${(e as Error).message})`);
    }
    if (!res.ok)
      throw new ConfigError(
        `--check: ${url} answered HTTP ${res.status}${res.status === 401 ? ' (set CROSSTALK_CHECK_TOKEN to a client JWT whose aud is this URL)' : ''}`,
      );
    let served: unknown;
    try {
      served = await res.json();
    } catch {
      throw new ConfigError(`--check: ${url} did not answer JSON`);
    }
    const drift = discoveryDrift(expectedDiscovery(profile, discovery), served);
    if (args.includes('--json')) await write(`${JSON.stringify({ url, ehr, drift }, null, 2)}\n`);
    else await write(formatDrift(drift, url, ehr));
    return drift.length ? 1 : 0;
  }
  const r = registrationFor(ehr, option(args, '--base-url') ?? '', discovery, profiles);
  await write(args.includes('--json') ? `${JSON.stringify(r, null, 2)}\n` : formatRegistration(r));
  return 0;
}
