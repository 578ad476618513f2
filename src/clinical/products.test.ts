import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UcumLhcUtils } from '@lhncbc/ucum-lhc';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { loadProductsSync, PRODUCTS_FILE } from '../config/products';

const k = loadKnowledgeSync();
const table = k.products;
const ucum = UcumLhcUtils.getInstance();

describe('the RxNorm product table', () => {
  it('uses only valid UCUM units for strengths, their denominators and dose units', () => {
    const units = new Set(
      table.products.flatMap((p) => [p.unit, ...p.ingredients.flatMap((i) => [i.strength.unit, i.per.unit])]),
    );
    const invalid = [...units].filter((u) => ucum.validateUnitString(u).status !== 'valid');
    expect(invalid).toEqual([]);
  });

  it('names only ingredients that exist in the code sets', () => {
    const missing = table.products.flatMap((p) =>
      p.ingredients
        .filter((i) => !k.codesets[i.codeset].concepts.some((c) => c.id === i.concept))
        .map((i) => `${p.code}: ${i.codeset}/${i.concept}`),
    );
    expect(missing).toEqual([]);
  });

  it('lists no code twice, and start-up refuses a table that does', () => {
    const codes = table.products.map((p) => p.code);
    expect(new Set(codes).size).toBe(codes.length);
    const data = JSON.parse(fs.readFileSync(PRODUCTS_FILE, 'utf8'));
    data.products.push(data.products[0]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-products-'));
    const file = path.join(dir, 'rxnorm-products.json');
    fs.writeFileSync(file, JSON.stringify(data));
    expect(() => loadProductsSync(file)).toThrow(/listed twice/);
  });

  it('records a source for every verified code and says why an unverified one is not', () => {
    for (const p of table.products) {
      if (p.verification.status === 'verified') expect(p.verification.sources.length, p.code).toBeGreaterThan(0);
      else expect(p.verification.note ?? p.verification.method, p.code).toMatch(/\w{10}/);
    }
  });

  it('keeps a pack’s unit count and a strength per dose unit for every glucocorticoid product', () => {
    for (const p of table.products.filter((x) => x.tty === 'GPCK' || x.tty === 'BPCK'))
      expect(p.packUnits, p.code).toBeGreaterThan(0);
    const gc = table.products.filter((p) => p.ingredients.some((i) => i.codeset === 'glucocorticoids'));
    for (const p of gc)
      expect(
        p.ingredients.every((i) => i.per.unit === p.unit),
        p.code,
      ).toBe(true);
  });

  it('states in each verified product the strength its RxNorm name gives, ingredient by ingredient', () => {
    // "1.5 ML leuprolide acetate 15 MG/ML Prefilled Syringe" holds 22.5 mg per syringe; "… 100 UNT/ML …" 100 [iU] per mL.
    const wrong: string[] = [];
    for (const p of table.products.filter((x) => x.verification.status === 'verified')) {
      const volume = /^(?:\d+-Month |Sensor )?(\d+(?:\.\d+)?) ML /.exec(p.name);
      const named = [...p.name.matchAll(/(\d+(?:\.\d+)?) (MG|UNT)(\/ML)?/g)].map((m) => ({
        value: Number(m[1]),
        unit: m[2] === 'MG' ? 'mg' : '[iU]',
        perMl: !!m[3],
      }));
      if (named.length !== p.ingredients.length)
        wrong.push(`${p.code}: ${named.length} strengths named, ${p.ingredients.length} ingredients`);
      p.ingredients.forEach((i, n) => {
        const s = named[n];
        if (!s) return;
        const perUnit = s.perMl && i.per.unit !== 'mL' ? Number(volume?.[1]) * s.value : s.value;
        if (Math.abs(i.strength.value / i.per.value - perUnit) > 1e-9 || i.strength.unit !== s.unit)
          wrong.push(`${p.code}: ${i.concept} ${i.strength.value} ${i.strength.unit} per ${i.per.value} ${i.per.unit}`);
        if (s.perMl && i.per.unit !== 'mL' && !volume)
          wrong.push(`${p.code}: per-mL strength, dosed per ${i.per.unit}, no volume in the name`);
      });
    }
    expect(wrong).toEqual([]);
  });

  it('lists which ingredients of the medication code sets have no verified product yet, so a gap is a decision, not an oversight', () => {
    const covered = new Set(
      table.products
        .filter((p) => p.verification.status === 'verified')
        .flatMap((p) => p.ingredients.map((i) => `${i.codeset}/${i.concept}`)),
    );
    const ingredients = (
      ['endocrine-therapy', 'osteoporosis-therapy', 'other-medications', 'glucocorticoids'] as const
    ).flatMap((id) =>
      k.codesets[id].concepts
        .filter(
          (c) =>
            !/-class$/.test(c.id) &&
            c.codes.every((x) => x.system !== 'http://www.whocc.no/atc' || x.code.length === 7),
        )
        .map((c) => `${id}/${c.id}`),
    );
    const without = ingredients.filter((i) => !covered.has(i));
    // No public RxNorm source for these products could be checked yet (README, Code sets): orders for them are
    // recognised by ingredient or ATC code only. A product added for one of them must be taken off this list.
    expect(without.sort()).toEqual([
      'endocrine-therapy/abiraterone',
      'endocrine-therapy/apalutamide',
      'endocrine-therapy/bicalutamide',
      'endocrine-therapy/buserelin',
      'endocrine-therapy/darolutamide',
      'endocrine-therapy/enzalutamide',
      'endocrine-therapy/histrelin',
      'endocrine-therapy/relugolix',
      'glucocorticoids/betamethasone',
      'glucocorticoids/cortisone',
      'glucocorticoids/deflazacort',
      'glucocorticoids/triamcinolone',
      'osteoporosis-therapy/abaloparatide',
      'osteoporosis-therapy/teriparatide',
      'other-medications/cimetidine',
      'other-medications/creatine',
      'other-medications/enzyme-inducing-antiepileptic',
      'other-medications/valproate',
    ]);
  });
});
