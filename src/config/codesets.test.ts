import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODESET_IDS, type Codeset } from '../clinical/codesets';
import { CODESETS_DIR, loadCodesetsSync, namesIn } from './codesets';
import { loadKnowledgeSync } from './knowledge-file';
import { compileSchema, formatErrors } from './schemas';

const validate = compileSchema<Codeset>('codeset.schema.json');
const files = fs.readdirSync(CODESETS_DIR).filter((f) => f.endsWith('.json'));
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(CODESETS_DIR, f), 'utf8')) as Codeset;

function copyWith(change: (sets: Record<string, Codeset>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-codesets-'));
  const sets = Object.fromEntries(files.map((f) => [f, read(f)]));
  change(sets);
  for (const [f, s] of Object.entries(sets)) fs.writeFileSync(path.join(dir, f), JSON.stringify(s));
  return dir;
}

describe('the code-set files', () => {
  for (const f of files) {
    it(`${f} is valid against codeset.schema.json, every code with a verification record`, () => {
      const ok = validate(read(f));
      expect(ok, formatErrors(validate.errors)).toBe(true);
    });
  }

  it('are exactly the sets the engine reads, each named after its file', () => {
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...CODESET_IDS].sort());
    expect(Object.keys(loadCodesetsSync())).toEqual([...CODESET_IDS]);
  });

  it('say, for every verified code, where it was checked', () => {
    for (const f of files) {
      for (const c of read(f).concepts.flatMap((x) => x.codes)) {
        if (c.verification.status === 'verified')
          expect(c.verification.sources.length, `${f} ${c.code}`).toBeGreaterThan(0);
        expect(c.verification.method.length, `${f} ${c.code}`).toBeGreaterThan(10);
      }
    }
  });

  it('keep the codes the research brief verified ([V]) and mark the ones nobody could check', () => {
    const sets = loadCodesetsSync();
    const code = (set: keyof typeof sets, c: string) =>
      sets[set].concepts.flatMap((x) => x.codes).find((x) => x.code === c);
    for (const c of ['8640', '8638', '6902', '3264'])
      expect(code('glucocorticoids', c)?.verification.status).toBe('verified');
    expect(code('endocrine-therapy', '258494')?.verification.status).toBe('unverified');
    expect(code('conditions', 'R64')?.verification.status).toBe('unverified');
    expect(code('conditions', '34486009')?.verification.status).toBe('verified');
  });

  it('have a prednisone equivalence only for glucocorticoids that exist in the code set', () => {
    const k = loadKnowledgeSync();
    const gc = namesIn(k.codesets.glucocorticoids);
    for (const id of Object.keys(k.glucocorticoidEquivalence.prednisoneMgPerMg)) expect(gc.has(id), id).toBe(true);
  });
});

describe('loading code sets', () => {
  it('refuses a code without a verification record, naming the file', () => {
    const dir = copyWith((s) => {
      delete (s['routes.json']!.concepts[0]!.codes[0] as { verification?: unknown }).verification;
    });
    expect(() => loadCodesetsSync(dir)).toThrow(/routes\.json.*verification/);
  });

  it('refuses a verified code with no source', () => {
    const dir = copyWith((s) => {
      s['routes.json']!.concepts[0]!.codes[0]!.verification.sources = [];
    });
    expect(() => loadCodesetsSync(dir)).toThrow(/routes\.json.*sources/);
  });

  it('refuses a code system the engine does not know and a duplicate concept', () => {
    const bad = copyWith((s) => {
      s['routes.json']!.concepts[0]!.codes[0]!.system = 'http://example.org/routes';
    });
    expect(() => loadCodesetsSync(bad)).toThrow(/routes\.json/);
    const dup = copyWith((s) => {
      s['routes.json']!.concepts.push({ ...s['routes.json']!.concepts[0]! });
    });
    expect(() => loadCodesetsSync(dup)).toThrow(/duplicate concept "systemic"/);
  });

  it('refuses clinical knowledge that names a concept no code set has', () => {
    const site = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-site-')), 'site.json');
    fs.writeFileSync(
      site,
      JSON.stringify({ rules: { 'secondary-osteoporosis': { conditions: ['rheumatoid-arthritis', 'gout'] } } }),
    );
    expect(() => loadKnowledgeSync(site)).toThrow(/secondary-osteoporosis\.conditions: "gout"/);
  });
});
