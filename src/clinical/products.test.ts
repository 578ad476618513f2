import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UcumLhcUtils } from '@lhncbc/ucum-lhc';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { PRODUCTS_FILE, loadProductsSync } from '../config/products';

const k = loadKnowledgeSync();
const table = k.products;
const ucum = UcumLhcUtils.getInstance();

describe('the RxNorm product table', () => {
  it('uses only valid UCUM units for strengths, their denominators and dose units', () => {
    const units = new Set(table.products.flatMap((p) => [p.unit, ...p.ingredients.flatMap((i) => [i.strength.unit, i.per.unit])]));
    const invalid = [...units].filter((u) => ucum.validateUnitString(u).status !== 'valid');
    expect(invalid).toEqual([]);
  });

  it('names only ingredients that exist in the code sets', () => {
    const missing = table.products.flatMap((p) => p.ingredients.filter((i) => !k.codesets[i.codeset].concepts.some((c) => c.id === i.concept)).map((i) => `${p.code}: ${i.codeset}/${i.concept}`));
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
    for (const p of table.products.filter((x) => x.tty === 'GPCK' || x.tty === 'BPCK')) expect(p.packUnits, p.code).toBeGreaterThan(0);
    const gc = table.products.filter((p) => p.ingredients.some((i) => i.codeset === 'glucocorticoids'));
    for (const p of gc) expect(p.ingredients.every((i) => i.per.unit === p.unit), p.code).toBe(true);
  });
});
