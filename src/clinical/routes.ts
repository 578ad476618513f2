import type { CodeableConcept, Dosage } from 'fhir/r4';
import type { Codesets, ConceptMatch } from './codesets';
import { textsOf } from './codesets';
import { type Product, SYSTEMIC_ROUTES } from './products';

/** Whether a glucocorticoid reaches the whole body. Only `systemic` counts for R1 [evidence: route-policy]. */
export interface RouteJudgement {
  kind: 'systemic' | 'local' | 'unknown';
  how: string;
  /** The record states a route that could not be read (a code outside the known sets): "could not be checked". */
  unreadable?: boolean;
}

const SCT = 'http://snomed.info/sct';

// Local words are tested first: "Oral Inhalation" and "Metered Dose Inhaler" are local although they say oral.
const LOCAL =
  /\b(topical|cutaneous|dermal|cream|ointment|lotion|gel|foam|paste|shampoo|inhal\w*|nebuli[sz]\w*|ophthalmic|eye|otic|ear|nasal|intranasal|rectal|enema|suppositor\w*|vaginal|transdermal|intra-?articular|intralesional|intravitreal|dental|mouthwash|oromucosal|buccal|lozenge|metered dose|dry powder)\b/i;
const SYSTEMIC =
  /\b(oral|orally|by mouth|po|tablets?|tab|capsules?|caplet|intravenous|iv|intramuscular|im|subcutaneous|subcut|sc|injection|injectable)\b/i;

function byWords(texts: string[], source: string): RouteJudgement | undefined {
  for (const t of texts) {
    const local = LOCAL.exec(t);
    if (local) return { kind: 'local', how: `${source} "${t}" says ${local[0].toLowerCase()} (text)` };
    const sys = SYSTEMIC.exec(t);
    if (sys) return { kind: 'systemic', how: `${source} "${t}" says ${sys[0].toLowerCase()} (text)` };
  }
  return undefined;
}

/**
 * Route in order of trust: a SNOMED CT route code on the dosage (systemic, local, or unknown when in neither set); the route's words; an ATC class that is itself
 * systemic (H02AB) or local (D07, S01BA, R03BA...); the dose form of a verified RxNorm product; the dose form's
 * words in the product's name or Medication.form. Otherwise unknown.
 */
export function judgeRoute(
  dosages: Dosage[] | undefined,
  productConcepts: (CodeableConcept | undefined)[],
  glucocorticoidMatches: ConceptMatch[],
  codesets: Codesets,
  product?: Product,
): RouteJudgement {
  const systemic = codesets.routes.concepts.find((c) => c.id === 'systemic')?.codes ?? [];
  const local = codesets.routes.concepts.find((c) => c.id === 'local')?.codes ?? [];
  for (const d of dosages ?? []) {
    for (const c of d.route?.coding ?? []) {
      if (c.system !== SCT || !c.code) continue;
      const code = c.code.trim();
      const hit = systemic.find((s) => s.code === code);
      if (hit) return { kind: 'systemic', how: `route SNOMED CT ${code} (${hit.display})` };
      const away = local.find((s) => s.code === code);
      if (away) return { kind: 'local', how: `route SNOMED CT ${code} (${away.display}) is a local route` };
      // A route concept this service does not know is neither systemic nor local: reading it as local would hide a
      // systemic glucocorticoid (SNOMED CT has many kin of oral and parenteral). A code outranks any words.
      return {
        kind: 'unknown',
        how: `route SNOMED CT ${code}${c.display ? ` (${c.display})` : ''} is not one this service knows as systemic or local`,
        unreadable: true,
      };
    }
  }
  for (const d of dosages ?? []) {
    const r = byWords(textsOf(d.route), 'route');
    if (r) return r;
  }
  const atcClass = glucocorticoidMatches.find(
    (m) => m.basis === 'class' && m.coding?.system === 'http://www.whocc.no/atc',
  );
  if (atcClass?.concept.id === 'non-systemic-class')
    return { kind: 'local', how: `ATC ${atcClass.coding?.code} is a local-use class` };
  if (atcClass?.concept.id === 'systemic-class')
    return { kind: 'systemic', how: `ATC ${atcClass.coding?.code} is for systemic use` };
  if (product) {
    const kind = SYSTEMIC_ROUTES.has(product.route) ? 'systemic' : 'local';
    return { kind, how: `dose form ${product.doseForm} of RxNorm ${product.code} (${product.route})` };
  }
  const form = byWords(productConcepts.flatMap(textsOf), 'dose form');
  if (form) return form;
  return { kind: 'unknown', how: 'no route on the dosage and no dose form or ATC class that says' };
}
