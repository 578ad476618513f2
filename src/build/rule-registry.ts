import fs from 'node:fs';
import path from 'node:path';
import { type RuleReads, ruleReads } from './rule-reads';

export const RULES_DIR = path.join(__dirname, '..', 'clinical', 'rules');
export const REGISTRY_FILE = path.join(RULES_DIR, 'registry.ts');

const camel = (id: string) => id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** One rule's reads as the formatter writes them: a list on one line when it fits in 120 columns, else one a line. */
function readsLines(id: string, reads: RuleReads): string[] {
  const lines = [`  '${id}': {`];
  for (const [key, items] of Object.entries(reads) as [string, string[]][]) {
    const one = `    ${key}: [${items.map((i) => `'${i}'`).join(', ')}],`;
    if (one.length <= 120) lines.push(one);
    else lines.push(`    ${key}: [`, ...items.map((i) => `      '${i}',`), '    ],');
  }
  lines.push('  },');
  return lines;
}

/**
 * The registry of rules, written from the rule files themselves: a file in src/clinical/rules that exports both
 * `knowledge` (its data's shape) and `rule` is a rule, under the id in its `const ID`. Precedence, title and hooks
 * are data (rules.<id> in the knowledge file), so the order here means nothing.
 */
export function ruleRegistrySource(dir = RULES_DIR): string {
  const rules: { id: string; file: string }[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.ts') && !x.endsWith('.test.ts') && x !== 'registry.ts')
    .sort()) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    if (!/^export const knowledge\b/m.test(src) || !/^export const rule\b/m.test(src)) continue;
    const id = /^const ID = '([a-z0-9-]+)'/m.exec(src)?.[1];
    if (!id) throw new Error(`${f}: a rule file needs const ID = '<rule id>'`);
    rules.push({ id, file: f.replace(/\.ts$/, '') });
  }
  const lines = [
    '// Written by `npm run derive` from the rule files in this folder (each exports `knowledge` and `rule`); do not edit.',
    '',
    // Sorted by path, as the formatter's import sorting leaves them (npm run lint would otherwise change the file).
    ...[
      { file: 'rule', line: "import type { Rule } from './rule';" },
      ...rules.map((r) => ({ file: r.file, line: `import * as ${camel(r.id)} from './${r.file}';` })),
    ]
      .sort((a, b) => (a.file < b.file ? -1 : 1))
      .map((i) => i.line),
    '',
    "/** Each rule's data shape, by rule id: rules.<id> in the knowledge file. */",
    'export const RULE_KNOWLEDGE = {',
    ...rules.map((r) => `  '${r.id}': ${camel(r.id)}.knowledge,`),
    '};',
    '',
    "/** What each rule's code reads (src/build/rule-reads.ts): the inputs its source attributes list. */",
    'export const RULE_READS = {',
    ...rules.flatMap((r) => readsLines(r.id, ruleReads(dir, r.file))),
    '} as const;',
    '',
    '/** Every rule; the engine runs them in the order of their precedence in the knowledge data. */',
    'export const RULES: readonly Rule[] = [',
    ...rules.map((r) => `  ${camel(r.id)}.rule,`),
    '];',
    '',
  ];
  return lines.join('\n');
}
