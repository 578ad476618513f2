/*
 * What a patient-view service reads, as plain data: its prefetch templates, which keys it cannot do
 * without, and which kinds of context each key carries. Pure (no I/O, no Node built-ins), so the server's
 * gather step and the SMART app in the browser read a patient the same way and judge gaps the same way.
 */
import type { ContextDomain } from '../clinical/context';

export interface ServiceReads {
  /** The key whose template reads the Patient. */
  patientKey: string;
  /** Keys without which the service answers 412 (and the app shows a FHIR error). */
  required: string[];
  /** CDS Hooks prefetch templates by key, `{{context.patientId}}` unfilled. */
  templates: Record<string, string>;
  contextDomains: Record<string, ContextDomain[]>;
}

const TOKEN = /\{\{\s*context\.([A-Za-z]+)\s*\}\}/g;

/** Fills `{{context.x}}` tokens with URL-encoded context values; a token without a value is an error. */
export function fillTokens(key: string, template: string, context: Record<string, unknown>): string {
  return template.replace(TOKEN, (_, name: string) => {
    const v = context[name];
    if (typeof v !== 'string' || v.length === 0) throw new Error(`prefetch ${key}: context.${name} is missing`);
    return encodeURIComponent(v);
  });
}

/** The resource types the templates read: what a token must grant. */
export function resourceTypesRead(templates: Record<string, string>): string[] {
  return [...new Set(Object.values(templates).map((t) => t.split(/[/?]/)[0] ?? '').filter(Boolean))];
}

/** A kind of context is unavailable when every key that carries it could not be had. */
export function unavailableDomains(contextDomains: Record<string, ContextDomain[]> | undefined, unavailable: (key: string) => boolean): ContextDomain[] {
  const byDomain = new Map<ContextDomain, boolean[]>();
  for (const [key, domains] of Object.entries(contextDomains ?? {})) {
    for (const d of domains) byDomain.set(d, [...(byDomain.get(d) ?? []), unavailable(key)]);
  }
  return [...byDomain.entries()].filter(([, flags]) => flags.every(Boolean)).map(([d]) => d);
}
