import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { KnowledgeSchema } from '../clinical';
import { CDS_HOOKS_DIR } from './paths';

export const SCHEMA_DIR = path.join(CDS_HOOKS_DIR, 'schemas');

/**
 * Schemas whose source is TypeScript (TypeBox): validated from that source; the files of the same name under
 * cds-hooks/schemas are copies written by `npm run derive` (src/config/derived.test.ts keeps them current). The
 * configuration schema is not here: it has its own ajv, which coerces environment strings.
 */
export const DERIVED_SCHEMAS: Record<string, object> = { 'knowledge.schema.json': KnowledgeSchema };

// One Ajv instance holds every schema, so $refs between files resolve by their $id.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
// An annotation, not a check: it marks lists of code-set names, which the knowledge loader checks against the code sets.
ajv.addKeyword({ keyword: 'codesetNames', schemaType: 'string' });
// Also an annotation: an array a sender often writes as its one value, which src/cds/inputs.ts wraps before checking.
ajv.addKeyword({ keyword: 'wrapSingle', schemaType: 'boolean' });
for (const f of fs
  .readdirSync(SCHEMA_DIR)
  .filter((f) => f.endsWith('.schema.json') && f !== 'config.schema.json')
  .sort()) {
  ajv.addSchema(DERIVED_SCHEMAS[f] ?? JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8')), f);
}

const cache = new Map<string, ValidateFunction>();

export function compileSchema<T>(name: string): ValidateFunction<T> {
  let v = cache.get(name);
  if (!v) {
    v = ajv.getSchema(name);
    if (!v) throw new Error(`no schema ${name} in ${SCHEMA_DIR}`);
    cache.set(name, v);
  }
  return v as ValidateFunction<T>;
}

/** Human-readable, one line per problem, for start-up errors and OperationOutcome diagnostics. */
export function formatErrors(errors: ErrorObject[] | null | undefined, limit = 10): string {
  if (!errors?.length) return 'invalid';
  const lines = errors
    .slice(0, limit)
    .map(
      (e) =>
        `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`,
    );
  if (errors.length > limit) lines.push(`… and ${errors.length - limit} more`);
  return lines.join('; ');
}
