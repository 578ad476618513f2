import fs from 'node:fs';
import path from 'node:path';
import {
  type CodesetId,
  type Codesets,
  type Knowledge,
  KnowledgeSchema,
  malformed,
  type ProductTable,
  placeholders,
  type RuleText,
} from '../clinical';
import { loadCodesetsSync, namesIn } from './codesets';
import { ConfigError } from './errors';
import { CDS_HOOKS_DIR } from './paths';
import { loadProductsSync } from './products';
import { compileSchema, formatErrors } from './schemas';

export { CDS_HOOKS_DIR, ConfigError };

export const DEFAULT_KNOWLEDGE_FILE = path.join(CDS_HOOKS_DIR, 'knowledge/clinical.json');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Site overrides replace leaves and merge objects, so a site can set one threshold without copying the file. */
export function deepMerge(base: Json, over: Json): Json {
  if (
    over &&
    typeof over === 'object' &&
    !Array.isArray(over) &&
    base &&
    typeof base === 'object' &&
    !Array.isArray(base)
  ) {
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

/**
 * Loads the shipped knowledge, merges a site file over it, attaches the code sets, and refuses to start on
 * anything invalid, including a rule that names a code-set concept that does not exist.
 */
export function loadKnowledgeSync(
  siteFile?: string,
  baseFile = DEFAULT_KNOWLEDGE_FILE,
  codesets: Codesets = loadCodesetsSync(),
  products: ProductTable = loadProductsSync(),
): Knowledge {
  const shipped = readJson(baseFile);
  let data = shipped;
  if (siteFile) data = deepMerge(data, readJson(siteFile));
  const validate = compileSchema<Omit<Knowledge, 'codesets' | 'products'>>('knowledge.schema.json');
  if (!validate(data)) {
    throw new ConfigError(
      `invalid clinical knowledge${siteFile ? ` (after merging ${siteFile})` : ''}: ${formatErrors(validate.errors)}`,
    );
  }
  const k = { ...(data as Omit<Knowledge, 'codesets' | 'products'>), codesets, products } as Knowledge;
  for (const [id, rule] of Object.entries(k.rules)) {
    for (const c of rule.citations)
      if (!k.citations[c]) throw new ConfigError(`rule ${id} cites unknown citation "${c}"`);
  }
  checkTemplates(k, shipped as unknown as Pick<Knowledge, 'rules' | 'text'>);
  checkRules(k);
  resolveAnalyteCodes(k);
  checkNames(k);
  return k;
}

/**
 * Precedence decides which card wins, so two rules may not share one; a context line may only attach to a rule that
 * exists.
 */
function checkRules(k: Knowledge): void {
  const seen = new Map<number, string>();
  for (const [id, rule] of Object.entries(k.rules)) {
    const other = seen.get(rule.precedence);
    if (other)
      throw new ConfigError(
        `rules.${id}.precedence: ${rule.precedence} is also the precedence of ${other}; each rule needs its own`,
      );
    seen.set(rule.precedence, id);
    for (const target of 'attachTo' in rule ? rule.attachTo : []) {
      if (!(target in k.rules)) throw new ConfigError(`rules.${id}.attachTo: "${target}" is not a rule`);
    }
  }
  for (const id of k.ageGate.allAges)
    if (!(id in k.rules)) throw new ConfigError(`ageGate.allAges: "${id}" is not a rule`);
}

/** Every template of a rule's text, by its path under the text object (why, card.lead, reasons.age-unknown …). */
function templatesOf(text: RuleText | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of ['why', 'cite', 'action'] as const) if (text?.[key] !== undefined) out.set(key, text[key]);
  for (const group of ['card', 'reasons'] as const)
    for (const [key, t] of Object.entries(text?.[group] ?? {})) out.set(`${group}.${key}`, t);
  return out;
}

/**
 * A site may reword any template, but only with placeholders the rule fills: the shipped template for the same
 * sentence names them (a test drives every rule path to prove the shipped ones are filled). Refusing to start beats
 * a card that shows "{name}" or an evaluation that fails mid-request.
 */
function checkTemplates(k: Knowledge, shipped: Pick<Knowledge, 'rules' | 'text'>): void {
  checkTextAgainst('text', k.text, shipped.text);
  for (const [id, rule] of Object.entries(k.rules) as [keyof Knowledge['rules'], { text?: RuleText }][]) {
    checkTextAgainst(`rules.${id}.text`, rule.text, (shipped.rules[id] as { text?: RuleText } | undefined)?.text);
  }
}

function checkTextAgainst(path: string, text: RuleText | undefined, shipped: RuleText | undefined): void {
  const base = templatesOf(shipped);
  for (const [where, t] of templatesOf(text)) {
    const bad = malformed(t);
    if (bad !== undefined) throw new ConfigError(`${path}.${where}: malformed placeholder near "${bad}"`);
    const known = base.get(where);
    if (known === undefined) throw new ConfigError(`${path}.${where}: the rule has no such sentence`);
    const supplied = new Set(placeholders(known));
    for (const p of placeholders(t)) {
      if (!supplied.has(p))
        throw new ConfigError(
          `${path}.${where}: {${p}} is not filled by the rule (it fills ${[...supplied].map((x) => `{${x}}`).join(', ') || 'none'})`,
        );
    }
  }
}

/** Analytes whose codes live in a code set get them copied in, so the lab pipeline reads one list. */
function resolveAnalyteCodes(k: Knowledge): void {
  for (const [id, a] of Object.entries(k.analytes)) {
    if (!a.codesFrom) continue;
    const set = k.codesets[a.codesFrom.codeset as CodesetId];
    const concept = set?.concepts.find((c) => c.id === a.codesFrom?.concept);
    if (!concept)
      throw new ConfigError(`analyte ${id}: no concept "${a.codesFrom.concept}" in code set "${a.codesFrom.codeset}"`);
    a.codes = concept.codes.map((c) => ({ system: c.system, code: c.code, display: c.display, fasting: false }));
  }
}

type SchemaNode = {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  patternProperties?: Record<string, SchemaNode>;
  codesetNames?: 'medication' | 'condition';
};

/** Every list of code-set names in the data, found through the schema's `codesetNames` marks, with where it is. */
function nameLists(
  schema: SchemaNode,
  data: unknown,
  where: string,
  out: [string, string[], 'medication' | 'condition'][],
): void {
  if (schema.codesetNames && Array.isArray(data)) {
    out.push([where, data as string[], schema.codesetNames]);
    return;
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return;
  const extra =
    typeof schema.additionalProperties === 'object'
      ? schema.additionalProperties
      : Object.values(schema.patternProperties ?? {})[0];
  for (const [key, value] of Object.entries(data)) {
    const sub = schema.properties?.[key] ?? extra;
    if (sub) nameLists(sub, value, where ? `${where}.${key}` : key, out);
  }
}

/** Names in clinical.json must exist in the code set the engine will look them up in. */
function checkNames(k: Knowledge): void {
  const in_ = (ids: CodesetId[]) => new Set(ids.flatMap((id) => [...namesIn(k.codesets[id])]));
  const known = {
    medication: in_(['glucocorticoids', 'endocrine-therapy', 'osteoporosis-therapy', 'other-medications']),
    condition: in_(['conditions']),
  };
  const lists: [string, string[], 'medication' | 'condition'][] = [];
  nameLists(KnowledgeSchema as SchemaNode, k, '', lists);
  for (const [where, names, kind] of lists) {
    for (const n of names)
      if (!known[kind].has(n))
        throw new ConfigError(`${where}: "${n}" is not a concept or group in cds-hooks/codesets`);
  }
  for (const p of k.products.products) {
    for (const i of p.ingredients) {
      if (!k.codesets[i.codeset].concepts.some((c) => c.id === i.concept))
        throw new ConfigError(`product RxNorm ${p.code}: no concept "${i.concept}" in code set "${i.codeset}"`);
    }
  }
}
