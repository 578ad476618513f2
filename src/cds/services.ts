import fs from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { type ContextDomain, DEFAULT_RULES, type Knowledge, type Rule } from '../clinical';
import { CDS_HOOKS_DIR, ConfigError, loadKnowledgeSync } from '../config/knowledge-file';
import { compileSchema, formatErrors } from '../config/schemas';
import { expandCodes } from './prefetch-codes';

export interface DiscoveryEntry {
  hook: string;
  id: string;
  title: string;
  description: string;
  usageRequirements?: string;
  prefetch: Record<string, string>;
}

export interface OverrideReason {
  system: string;
  code: string;
  display: string;
  /** The rules whose cards offer this reason; absent means every rule's. */
  rules?: string[];
}

export interface OrdersInContext {
  /** The context field holding the draftOrders Bundle. */
  from: string;
  /** A context field listing the references the call is about (order-select `selections`). */
  narrowTo?: string;
  /** Order statuses that count (order-sign 1.1 re-signs orders that are no longer draft). */
  statuses: string[];
}

export interface ServiceDefinition {
  discovery: DiscoveryEntry;
  contextSchema: string;
  patientKey: string;
  required: string[];
  /** Not in the file: the rules whose knowledge data names this service's hook (rules.<id>.hooks). */
  rules: string[];
  /** Kinds of context carried by optional prefetch keys. */
  contextDomains?: Record<string, ContextDomain[]>;
  orders?: OrdersInContext;
}

/** A service definition joined with what it needs at run time: its rules and its context validator. */
export interface CdsService {
  definition: ServiceDefinition & { card: { source: { label: string }; overrideReasons: OverrideReason[] } };
  rules: Rule[];
  validateContext: ValidateFunction;
}

export const SERVICES_DIR = path.join(CDS_HOOKS_DIR, 'services');

/**
 * Reads cds-hooks/services/*.json; a bad file stops start-up with a message naming it. A service runs the rules whose
 * knowledge data lists its hook, and its prefetch templates get their `code=` lists from the code sets
 * ({codes:…}, see prefetch-codes.ts), so neither a rule nor a code is written into a service file.
 */
export function loadServices(
  dir = SERVICES_DIR,
  registry: readonly Rule[] = DEFAULT_RULES,
  knowledge: Knowledge = loadKnowledgeSync(),
): Map<string, CdsService> {
  const validate = compileSchema<Omit<CdsService['definition'], 'rules'>>('service-definition.schema.json');
  const services = new Map<string, CdsService>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const where = path.join(dir, file);
    const raw: unknown = JSON.parse(fs.readFileSync(where, 'utf8'));
    if (!validate(raw)) throw new ConfigError(`${where}: ${formatErrors(validate.errors)}`);
    let prefetch: Record<string, string>;
    try {
      prefetch = Object.fromEntries(
        Object.entries(raw.discovery.prefetch).map(([key, t]) => [key, expandCodes(t, knowledge)]),
      );
    } catch (e) {
      throw new ConfigError(`${where}: ${(e as Error).message}`);
    }
    const hook = raw.discovery.hook;
    const rules = registry.filter((r) =>
      (knowledge.rules as Record<string, { hooks: string[] } | undefined>)[r.id]?.hooks.includes(hook),
    );
    const def: CdsService['definition'] = {
      ...raw,
      discovery: { ...raw.discovery, prefetch },
      rules: rules.map((r) => r.id),
    };
    const { discovery } = def;
    if (services.has(discovery.id)) throw new ConfigError(`${where}: duplicate service id ${discovery.id}`);
    for (const key of [def.patientKey, ...def.required, ...Object.keys(def.contextDomains ?? {})]) {
      if (!(key in discovery.prefetch)) throw new ConfigError(`${where}: "${key}" is not a prefetch key`);
    }
    if (!rules.length)
      throw new ConfigError(`${where}: no rule in the knowledge data runs on ${hook} (rules.<id>.hooks)`);
    for (const r of def.card.overrideReasons) {
      for (const id of r.rules ?? [])
        if (!def.rules.includes(id))
          throw new ConfigError(
            `${where}: override reason "${r.code}" names rule "${id}", which this service does not run`,
          );
    }
    let validateContext: ValidateFunction;
    try {
      validateContext = compileSchema(def.contextSchema);
    } catch {
      throw new ConfigError(`${where}: unknown context schema ${def.contextSchema}`);
    }
    services.set(discovery.id, { definition: def, rules, validateContext });
  }
  return services;
}
