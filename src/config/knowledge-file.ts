import fs from 'node:fs';
import path from 'node:path';
import type { Knowledge } from '../clinical/knowledge';
import { CDS_HOOKS_DIR } from './paths';
import { compileSchema, formatErrors } from './schemas';

export { CDS_HOOKS_DIR };

export const DEFAULT_KNOWLEDGE_FILE = path.join(CDS_HOOKS_DIR, 'knowledge/clinical.json');

export class ConfigError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Site overrides replace leaves and merge objects, so a site can set one threshold without copying the file. */
export function deepMerge(base: Json, over: Json): Json {
  if (over && typeof over === 'object' && !Array.isArray(over) && base && typeof base === 'object' && !Array.isArray(base)) {
    const out: { [k: string]: Json } = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k] as Json, v) : v;
    return out;
  }
  return over;
}

function readJson(file: string): Json {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Loads the shipped knowledge, merges a site file over it, and refuses to start on anything invalid. */
export function loadKnowledgeSync(siteFile?: string, baseFile = DEFAULT_KNOWLEDGE_FILE): Knowledge {
  let data = readJson(baseFile);
  if (siteFile) data = deepMerge(data, readJson(siteFile));
  const validate = compileSchema<Knowledge>('knowledge.schema.json');
  if (!validate(data)) {
    throw new ConfigError(`invalid clinical knowledge${siteFile ? ` (after merging ${siteFile})` : ''}: ${formatErrors(validate.errors)}`);
  }
  const k = data as Knowledge;
  for (const [id, rule] of Object.entries(k.rules)) {
    for (const c of rule.citations) if (!k.citations[c]) throw new ConfigError(`rule ${id} cites unknown citation "${c}"`);
  }
  return k;
}
