import fs from 'node:fs';
import path from 'node:path';
import { CODESET_IDS, type Codeset, type CodesetId, type Codesets } from '../clinical';
import { ConfigError } from './errors';
import { CDS_HOOKS_DIR } from './paths';
import { compileSchema, formatErrors } from './schemas';

export const CODESETS_DIR = path.join(CDS_HOOKS_DIR, 'codesets');

/** Reads and validates cds-hooks/codesets/*.json; a bad or missing file stops start-up with a message naming it. */
export function loadCodesetsSync(dir = CODESETS_DIR): Codesets {
  const validate = compileSchema<Codeset>('codeset.schema.json');
  const found = new Map<string, Codeset>();
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const where = path.join(dir, file);
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(where, 'utf8'));
    } catch (e) {
      throw new ConfigError(`cannot read ${where}: ${(e as Error).message}`);
    }
    if (!validate(data)) throw new ConfigError(`${where}: ${formatErrors(validate.errors)}`);
    if (`${data.id}.json` !== file) throw new ConfigError(`${where}: id "${data.id}" does not match the file name`);
    const ids = new Set<string>();
    for (const c of data.concepts) {
      if (ids.has(c.id)) throw new ConfigError(`${where}: duplicate concept "${c.id}"`);
      ids.add(c.id);
    }
    found.set(data.id, data);
  }
  for (const id of CODESET_IDS) if (!found.has(id)) throw new ConfigError(`${dir}: code set "${id}" is missing`);
  return Object.fromEntries(CODESET_IDS.map((id) => [id, found.get(id) as Codeset])) as Record<CodesetId, Codeset>;
}

/** Every concept id and group a set offers: what clinical.json may name. */
export function namesIn(set: Codeset): Set<string> {
  return new Set(set.concepts.flatMap((c) => [c.id, ...(c.group ? [c.group] : [])]));
}
