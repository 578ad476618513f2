/*
 * What a patient-view service reads, as plain data: its prefetch templates, which keys it cannot do
 * without, and which kinds of context each key carries. Pure (no I/O, no Node built-ins), so the server's
 * gather step and the SMART app in the browser read a patient the same way and judge gaps the same way.
 */
import { type ContextDomain, joinParts, memo } from '../clinical';
import type { ServiceDefinition } from './services';

export interface ServiceReads {
  /** The key whose template reads the Patient. */
  patientKey: string;
  /** Keys without which the service answers 412 (and the app shows a FHIR error). */
  required: string[];
  /** CDS Hooks prefetch templates by key, `{{context.patientId}}` unfilled. */
  templates: Record<string, string>;
  contextDomains: Record<string, ContextDomain[]>;
}

/** What one service reads, from its definition. */
export function readsOf(def: ServiceDefinition): ServiceReads {
  return {
    patientKey: def.patientKey,
    required: def.required,
    templates: def.discovery.prefetch ?? {},
    contextDomains: def.contextDomains ?? {},
  };
}

const TOKEN = /\{\{\s*context\.([A-Za-z]+)\s*\}\}/g;

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray % is a literal percent sign
  }
}

/**
 * One query value, percent-encoded. Commas stay: in FHIR search they separate the values of an "or". Everything
 * else is encoded, the `//` and `|` of `code=http://loinc.org|2160-0` included: proxies in front of FHIR servers
 * (the SMART App Launcher's among them) collapse `//` anywhere in a URL, and the search then matches nothing.
 * Runs once per template (see `compiled`), not per call.
 */
const encodeValue = (literal: string): string =>
  literal
    .split(',')
    .map((v) => encodeURIComponent(decoded(v)))
    .join(',');

/**
 * Fills `{{context.x}}` tokens with URL-encoded context values and percent-encodes every query value (see
 * `encodeValue`); a token without a value is an error. Templates stay readable in discovery; what goes on the
 * wire is encoded.
 */
export function fillTokens(key: string, template: string, context: Record<string, unknown>): string {
  return joinParts(compiled(template), ({ token }) => {
    const v = context[token];
    if (typeof v !== 'string' || v.length === 0) throw new Error(`prefetch ${key}: context.${token} is missing`);
    return encodeURIComponent(v);
  });
}

/** A template cut into its encoded literal text and its tokens, once: only the context values differ per call. */
type Part = string | { token: string };

const compiled = memo((template: string): Part[] => {
  const parts: Part[] = [];
  const cut = (s: string, encodeLiteral: (x: string) => string): void => {
    let last = 0;
    for (const m of s.matchAll(TOKEN)) {
      parts.push(encodeLiteral(s.slice(last, m.index)), { token: m[1] as string });
      last = (m.index ?? 0) + m[0].length;
    }
    parts.push(encodeLiteral(s.slice(last)));
  };
  const q = template.indexOf('?');
  cut(q < 0 ? template : template.slice(0, q), (x) => x);
  if (q >= 0) {
    parts.push('?');
    template
      .slice(q + 1)
      .split('&')
      .filter(Boolean)
      .forEach((pair, i) => {
        if (i > 0) parts.push('&');
        const eq = pair.indexOf('=');
        if (eq < 0) return void parts.push(pair);
        parts.push(`${pair.slice(0, eq)}=`);
        cut(pair.slice(eq + 1), encodeValue);
      });
  }
  return parts;
}, 512);

/** The resource types the templates read: what a token must grant. */
export function resourceTypesRead(templates: Record<string, string>): string[] {
  return [
    ...new Set(
      Object.values(templates)
        .map((t) => t.split(/[/?]/)[0] ?? '')
        .filter(Boolean),
    ),
  ];
}

/** A kind of context is unavailable when every key that carries it could not be had. */
export function unavailableDomains(
  contextDomains: Record<string, ContextDomain[]> | undefined,
  unavailable: (key: string) => boolean,
): ContextDomain[] {
  const byDomain = new Map<ContextDomain, boolean[]>();
  for (const [key, domains] of Object.entries(contextDomains ?? {})) {
    for (const d of domains) byDomain.set(d, [...(byDomain.get(d) ?? []), unavailable(key)]);
  }
  return [...byDomain.entries()].filter(([, flags]) => flags.every(Boolean)).map(([d]) => d);
}
