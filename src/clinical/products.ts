import type { CodeableConcept } from 'fhir/r4';
import type { CodesetId, CodeVerification } from './codesets';

/*
 * The RxNorm product table (cds-hooks/products/rxnorm-products.json) as the engine sees it: what one unit of a
 * clinical or branded drug (or pack) holds, in which dose form, by which route. The engine gets it inside
 * Knowledge, so it never reads files.
 */

export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

export interface ProductQuantity {
  value: number;
  /** UCUM code. */
  unit: string;
}

export interface ProductIngredient {
  codeset: Extract<CodesetId, 'glucocorticoids' | 'endocrine-therapy' | 'osteoporosis-therapy' | 'other-medications'>;
  concept: string;
  strength: ProductQuantity;
  per: ProductQuantity;
}

export type ProductRoute =
  | 'oral'
  | 'parenteral'
  | 'inhalation'
  | 'nasal'
  | 'topical'
  | 'ophthalmic'
  | 'otic'
  | 'rectal'
  | 'vaginal'
  | 'oromucosal'
  | 'intra-articular';

/** Routes by which a product reaches the whole body; every other route is local. */
export const SYSTEMIC_ROUTES: ReadonlySet<ProductRoute> = new Set(['oral', 'parenteral']);

export interface Product {
  code: string;
  tty: 'SCD' | 'SBD' | 'GPCK' | 'BPCK';
  name: string;
  ingredients: ProductIngredient[];
  doseForm: string;
  route: ProductRoute;
  unit: string;
  packUnits?: number;
  verification: CodeVerification;
}

export interface ProductTable {
  id: 'rxnorm-products';
  version: string;
  title: string;
  purpose: string;
  checked?: string;
  products: Product[];
}

/** The products a CodeableConcept names by RxNorm code (an EHR often sends the SCD and the SBD side by side). */
export function productsIn(cc: CodeableConcept | undefined, table: ProductTable | undefined): Product[] {
  if (!cc || !table) return [];
  const codes = new Set(
    (cc.coding ?? []).filter((c) => c.system === RXNORM && c.code).map((c) => (c.code as string).trim()),
  );
  return table.products.filter((p) => codes.has(p.code));
}
