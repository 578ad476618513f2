/**
 * Writes the files derived from a single source (`npm run derive`):
 * - cds-hooks/schemas/knowledge.schema.json from src/clinical/knowledge-schema.ts and the rule files,
 * - cds-hooks/schemas/config.schema.json from src/server/config-schema.ts, as environment strings,
 * - cds-hooks/schemas/cds-request.schema.json from src/cds/wire-schema.ts,
 * - src/clinical/rules/registry.ts from the rule files,
 * - docs/source-attributes.md from the knowledge file and what the rules' code reads.
 * src/config/derived.test.ts fails when a committed copy differs from what this writes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadServices } from '../cds/services';
import { CdsRequestSchema } from '../cds/wire-schema';
import { KnowledgeSchema } from '../clinical';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { ConfigSchema } from '../server/config-schema';
import { REGISTRY_FILE, ruleRegistrySource } from './rule-registry';
import { sourceAttributesMarkdown } from './source-attributes-doc';

const ROOT = path.join(__dirname, '..', '..');
const SCHEMAS = path.join(ROOT, 'cds-hooks', 'schemas');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const FIRST = ['$schema', '$id', 'title', 'description', 'type', 'required', 'additionalProperties'];

/** A plain JSON copy (TypeBox's symbols dropped) with the keys a reader looks for first. */
function plain(v: unknown): Json {
  if (Array.isArray(v)) return v.map(plain);
  if (!v || typeof v !== 'object') return v as Json;
  const o = v as Record<string, unknown>;
  const keys = [...FIRST.filter((k) => k in o), ...Object.keys(o).filter((k) => !FIRST.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, plain(o[k])]));
}

const draft07 = (schema: unknown): Json =>
  plain({ $schema: 'http://json-schema.org/draft-07/schema#', ...(schema as object) });

/**
 * The configuration as hospital IT sees it: every value an environment string. Crosstalk reads numbers and booleans
 * from their text (ajv coerceTypes); here they are strings with the pattern that text must have.
 */
function asEnvironmentStrings(schema: typeof ConfigSchema): Json {
  const properties = Object.fromEntries(
    Object.entries(schema.properties).map(([key, p]) => {
      const { type, minimum, maximum, default: def, description, ...rest } = p as Record<string, unknown>;
      if (type === 'integer') {
        return [
          key,
          {
            type: 'string',
            pattern: '^[0-9]+$',
            description: `${String(description)} (a whole number, ${String(minimum)}–${String(maximum)})`,
            default: String(def),
          },
        ];
      }
      if (type === 'boolean') return [key, { enum: ['true', 'false'], description, default: String(def) }];
      return [key, { type, ...rest, description, ...(def !== undefined ? { default: def } : {}) }];
    }),
  );
  return draft07({ ...schema, properties });
}

/** The page reads the knowledge file as shipped (no site file): what the code and the data say together. */
function sourceAttributesDoc(): string {
  const services = [...loadServices().values()].map((s) => ({
    id: s.definition.discovery.id,
    rules: s.definition.rules,
  }));
  return sourceAttributesMarkdown(loadKnowledgeSync(), services);
}

export function derivedFiles(): { file: string; content: string }[] {
  const json = (v: Json) => `${JSON.stringify(v, null, 2)}\n`;
  return [
    { file: path.join(SCHEMAS, 'knowledge.schema.json'), content: json(draft07(KnowledgeSchema)) },
    { file: path.join(SCHEMAS, 'config.schema.json'), content: json(asEnvironmentStrings(ConfigSchema)) },
    { file: path.join(SCHEMAS, 'cds-request.schema.json'), content: json(draft07(CdsRequestSchema)) },
    { file: REGISTRY_FILE, content: ruleRegistrySource() },
    { file: path.join(ROOT, 'docs', 'source-attributes.md'), content: sourceAttributesDoc() },
  ];
}

if (require.main === module) {
  // The knowledge schema is built from the registry this script writes: a new registry is read by a second run.
  const registry = fs.existsSync(REGISTRY_FILE) ? fs.readFileSync(REGISTRY_FILE, 'utf8') : '';
  if (registry !== ruleRegistrySource()) {
    fs.writeFileSync(REGISTRY_FILE, ruleRegistrySource());
    process.stdout.write(`written  ${path.relative(ROOT, REGISTRY_FILE)}\n`);
    execFileSync(process.execPath, [...process.execArgv, __filename], { stdio: 'inherit' });
  } else {
    for (const { file, content } of derivedFiles()) {
      const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (old !== content) fs.writeFileSync(file, content);
      process.stdout.write(`${old === content ? 'current' : 'written'}  ${path.relative(ROOT, file)}\n`);
    }
  }
}
