import fs from 'node:fs';
import path from 'node:path';
import type { ProductTable } from '../clinical';
import { ConfigError } from './errors';
import { CDS_HOOKS_DIR } from './paths';
import { compileSchema, formatErrors } from './schemas';

export const PRODUCTS_FILE = path.join(CDS_HOOKS_DIR, 'products', 'rxnorm-products.json');

/** Reads and validates the RxNorm product table; a bad file, or a code listed twice, stops start-up. */
export function loadProductsSync(file = PRODUCTS_FILE): ProductTable {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const validate = compileSchema<ProductTable>('rxnorm-products.schema.json');
  if (!validate(data)) throw new ConfigError(`${file}: ${formatErrors(validate.errors)}`);
  const seen = new Set<string>();
  for (const p of data.products) {
    if (seen.has(p.code)) throw new ConfigError(`${file}: RxNorm ${p.code} is listed twice`);
    seen.add(p.code);
  }
  return data;
}
