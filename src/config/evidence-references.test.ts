import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shownCitation } from '../app/evidence';
import { loadKnowledgeSync } from './knowledge-file';
import { CDS_HOOKS_DIR, PROJECT_ROOT } from './paths';

/**
 * The safety argument has to be checkable from the repository alone: every source the product cites resolves to
 * an entry in docs/evidence.md, and nothing points at working notes that are not shipped with it.
 */

const EVIDENCE_MD = path.join(PROJECT_ROOT, 'docs', 'evidence.md');
const SRC_DIR = path.join(PROJECT_ROOT, 'src');

interface Finding {
  file: string;
  line: number;
  column: number;
  text: string;
}

function walk(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, keep));
    else if (keep(full)) out.push(full);
  }
  return out.sort();
}

const jsonFiles = walk(CDS_HOOKS_DIR, (f) => f.endsWith('.json'));
const sourceFiles = walk(SRC_DIR, (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
const productFiles = [...jsonFiles, ...sourceFiles];

/** Anchors are explicit `<a id="…"></a>` tags so that rewording a heading never breaks a citation. */
export function evidenceAnchors(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/<a id="([a-z0-9][a-z0-9-]*)"><\/a>/g)].map((m) => m[1] ?? ''));
}

function positionOf(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - before.lastIndexOf('\n') };
}

function describeFindings(findings: Finding[]): string {
  return findings.map((f) => `${path.relative(PROJECT_ROOT, f.file)}:${f.line}:${f.column}  ${f.text}`).join('\n');
}

/** `[evidence: id]` or `[evidence: id-a, id-b]` anywhere in a file. */
export function evidenceReferences(text: string): Array<{ id: string; index: number }> {
  const out: Array<{ id: string; index: number }> = [];
  for (const m of text.matchAll(/\[evidence:\s*([^\]]*)\]/g)) {
    for (const id of (m[1] ?? '').split(',').map((s) => s.trim())) out.push({ id, index: m.index ?? 0 });
  }
  return out;
}

/**
 * Working notes that live outside the repository (the research brief and its siblings) and section signs, which
 * only ever pointed into them or into specifications by section number.
 */
const OUTSIDE_NOTES = [
  /\bclinical\.md\b/g,
  /\bcds-hooks\.md\b/g,
  /\bfhir-and-smart\.md\b/g,
  /\bpitfalls\.md\b/g,
  /\bstyle\.md\b/g,
  /(?<![\w-])cards\.md\b/g,
  /\begfr\.py\b/g,
  /\/work\/shared\b/g,
  /(?<![\w/-])shared\//g,
  /§/g,
];

export function outsideNoteReferences(text: string): Array<{ match: string; index: number }> {
  const out: Array<{ match: string; index: number }> = [];
  for (const re of OUTSIDE_NOTES) for (const m of text.matchAll(re)) out.push({ match: m[0], index: m.index ?? 0 });
  return out.sort((a, b) => a.index - b.index);
}

/** Every array of strings held under a key named `citations` (rules, measures, site overrides alike). */
function citationLists(value: unknown, trail: string[] = []): Array<{ ids: string[]; trail: string[] }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => citationLists(v, [...trail, String(i)]));
  if (!value || typeof value !== 'object') return [];
  const out: Array<{ ids: string[]; trail: string[] }> = [];
  for (const [k, v] of Object.entries(value)) {
    if (k === 'citations' && Array.isArray(v) && v.every((x) => typeof x === 'string'))
      out.push({ ids: v as string[], trail: [...trail, k] });
    else out.push(...citationLists(v, [...trail, k]));
  }
  return out;
}

/**
 * Citation ids written in code: an array literal of quoted ids that each end in a year (`['kashani-2016', 'he-2024']`),
 * the shape measures use when they name their sources.
 */
export function citationIdsInCode(text: string): Array<{ id: string; index: number }> {
  const out: Array<{ id: string; index: number }> = [];
  const id = String.raw`'[a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:19|20)\d\d(?:-[a-z0-9]+)*'`;
  // Not an index (`FORMULAS['egfr-cr-2021']`): the bracket must not follow a name or a closing bracket.
  for (const m of text.matchAll(new RegExp(String.raw`(?<![\w\])])\[\s*${id}(?:\s*,\s*${id})*\s*\]`, 'g'))) {
    for (const q of m[0].matchAll(/'([^']+)'/g)) out.push({ id: q[1] ?? '', index: (m.index ?? 0) + (q.index ?? 0) });
  }
  return out;
}

/** Measure codes share the citation-id shape (`egfr-cr-2021`) and are not citations. */
function measureCodes(): Set<string> {
  const types = fs.readFileSync(path.join(SRC_DIR, 'clinical', 'types.ts'), 'utf8');
  const union = /export type MeasureCode =([^;]*);/.exec(types)?.[1] ?? '';
  return new Set([...union.matchAll(/'([^']+)'/g)].map((m) => m[1] ?? ''));
}

const anchors = evidenceAnchors(fs.existsSync(EVIDENCE_MD) ? fs.readFileSync(EVIDENCE_MD, 'utf8') : '');
const read = (f: string) => fs.readFileSync(f, 'utf8');

describe('the reference checks themselves', () => {
  it('find a dangling evidence reference, an outside note and a section sign, with their positions', () => {
    const text =
      'ok [evidence: he-2024]\nbad [evidence: nowhere-1999, he-2024] see clinical.md §4.5 and /work/shared/x';
    expect(evidenceReferences(text).map((r) => r.id)).toEqual(['he-2024', 'nowhere-1999', 'he-2024']);
    const outside = outsideNoteReferences(text);
    expect(outside.map((o) => o.match)).toEqual(['clinical.md', '§', '/work/shared']);
    expect(positionOf(text, outside[0]?.index ?? -1)).toEqual({ line: 2, column: 43 });
  });

  it('leave in-repository files and ordinary words alone', () => {
    expect(
      outsideNoteReferences('see README.md, cds-hooks/knowledge/clinical.json and docs/evidence.md; the shared store'),
    ).toEqual([]);
  });

  it('read citation ids out of a measure call', () => {
    expect(
      citationIdsInCode("measure('ccr', x, u, [c, y], F.ccr, ['kashani-2016', 'he-2024'])").map((c) => c.id),
    ).toEqual(['kashani-2016', 'he-2024']);
    expect(citationIdsInCode("const units = ['mg/dL', 'umol/L'];")).toEqual([]);
    expect(citationIdsInCode("FORMULAS['egfr-cr-2021']")).toEqual([]);
  });
});

describe('every reference in the product resolves inside the repository', () => {
  it('docs/evidence.md exists and has anchors', () => {
    expect(fs.existsSync(EVIDENCE_MD), 'docs/evidence.md is missing').toBe(true);
    expect(anchors.size).toBeGreaterThan(0);
  });

  it(`every [evidence: id] in cds-hooks/**/*.json and src/**/*.ts names an anchor of docs/evidence.md`, () => {
    const dangling: Finding[] = [];
    let seen = 0;
    for (const file of productFiles) {
      const text = read(file);
      for (const ref of evidenceReferences(text)) {
        seen++;
        if (!anchors.has(ref.id))
          dangling.push({
            file,
            ...positionOf(text, ref.index),
            text: `[evidence: ${ref.id}] has no entry in docs/evidence.md`,
          });
      }
    }
    expect(dangling, `dangling evidence references:\n${describeFindings(dangling)}`).toEqual([]);
    expect(seen).toBeGreaterThan(0);
  });

  it('no file of the product refers to notes outside the repository or to § sections', () => {
    const found: Finding[] = [];
    for (const file of productFiles) {
      const text = read(file);
      for (const o of outsideNoteReferences(text))
        found.push({ file, ...positionOf(text, o.index), text: `refers to "${o.match}"` });
    }
    expect(found, `references to notes outside the repository:\n${describeFindings(found)}`).toEqual([]);
  });

  it('every citation id (the knowledge file, every list of citations in cds-hooks/, every measure) has an entry', () => {
    const missing: Finding[] = [];
    const knowledgeFile = path.join(CDS_HOOKS_DIR, 'knowledge', 'clinical.json');
    const knowledgeText = read(knowledgeFile);
    const knowledge = JSON.parse(knowledgeText) as { citations: Record<string, unknown> };
    const known = new Set(Object.keys(knowledge.citations));
    const at = (file: string, text: string, id: string) => {
      const i = text.indexOf(`"${id}"`);
      return positionOf(text, i < 0 ? 0 : i);
    };
    for (const id of known) {
      if (!anchors.has(id))
        missing.push({
          file: knowledgeFile,
          ...at(knowledgeFile, knowledgeText, id),
          text: `citation "${id}" has no entry in docs/evidence.md`,
        });
    }
    for (const file of jsonFiles) {
      const text = read(file);
      for (const list of citationLists(JSON.parse(text))) {
        for (const id of list.ids) {
          const where = `${list.trail.join('.')} cites "${id}"`;
          if (!known.has(id))
            missing.push({
              file,
              ...at(file, text, id),
              text: `${where}, which is not in the knowledge file's citations`,
            });
          else if (!anchors.has(id))
            missing.push({ file, ...at(file, text, id), text: `${where}, which has no entry in docs/evidence.md` });
        }
      }
    }
    const measures = measureCodes();
    expect(measures.has('egfr-cr-2021'), 'the MeasureCode union was not found in src/clinical/types.ts').toBe(true);
    for (const file of sourceFiles) {
      const text = read(file);
      for (const c of citationIdsInCode(text).filter((x) => !measures.has(x.id))) {
        if (!known.has(c.id))
          missing.push({
            file,
            ...positionOf(text, c.index),
            text: `cites "${c.id}", which is not in the knowledge file's citations`,
          });
        else if (!anchors.has(c.id))
          missing.push({
            file,
            ...positionOf(text, c.index),
            text: `cites "${c.id}", which has no entry in docs/evidence.md`,
          });
      }
    }
    expect(missing, `citation ids without an entry:\n${describeFindings(missing)}`).toEqual([]);
  });

  it('what a card shows about a citation (label and strength) carries no internal grade codes', () => {
    const knowledgeFile = path.join(CDS_HOOKS_DIR, 'knowledge', 'clinical.json');
    const knowledge = JSON.parse(read(knowledgeFile)) as {
      citations: Record<string, { label: string; evidence: string }>;
    };
    const graded = Object.entries(knowledge.citations)
      .filter(([, c]) => /\[(?:M|C|V)[\]\-,: ]|\bV-abs\b|^V\b|\bUNVERIFIED\b/.test(`${c.label}\n${c.evidence}`))
      .map(([id, c]) => `${id}: ${c.evidence}`);
    expect(graded, `citations whose wording carries grade codes:\n${graded.join('\n')}`).toEqual([]);
  });

  it('states every citation’s strength in plain words, and the app shows the knowledge file’s words (one place)', () => {
    const k = loadKnowledgeSync();
    const plain =
      /^(?:guideline|systematic review and meta-analysis|cohort study|cross-sectional study|equation development study|validated risk tool|expert opinion)(?:, (?:guideline-endorsed|conference abstract|a review))?$/;
    const unplain = Object.entries(k.citations)
      .filter(([, c]) => !plain.test(c.evidence))
      .map(([id, c]) => `${id}: ${c.evidence}`);
    expect(unplain, `citations whose strength is not in plain words:\n${unplain.join('\n')}`).toEqual([]);
    for (const c of Object.values(k.citations)) expect(shownCitation(c, k).strength).toBe(c.evidence);
    const reworded = structuredClone(k);
    (reworded.citations['he-2024'] as { evidence: string }).evidence = 'cohort study (site wording)';
    expect(shownCitation(reworded.citations['he-2024']!, reworded).strength).toBe('cohort study (site wording)');
  });
});
