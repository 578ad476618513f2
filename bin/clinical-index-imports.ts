/**
 * One-off, mechanical: makes src/clinical/index.ts the engine's public surface. Every import of a file inside
 * src/clinical from code outside it (tests excluded: they may reach into what they test) becomes one import from
 * the index, and the index gains an `export { … } from './file'` for each name it did not export yet.
 *
 *   npx tsx bin/clinical-index-imports.ts          # rewrite, then run `npx tsc --noEmit` and `npm run format`
 *   npx tsx bin/clinical-index-imports.ts --check  # list what it would change, change nothing
 *
 * biome.jsonc (noRestrictedImports) keeps it that way afterwards.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..');
const clinicalDir = path.join(root, 'src', 'clinical');
const indexFile = path.join(clinicalDir, 'index.ts');
const check = process.argv.includes('--check');

const configPath = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.json');
if (!configPath) throw new Error('no tsconfig.json');
const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, root);
const program = ts.createProgram(parsed.fileNames, parsed.options);
const checker = program.getTypeChecker();

const indexSource = program.getSourceFile(indexFile);
if (!indexSource) throw new Error('src/clinical/index.ts is not in the program');
const indexSymbol = checker.getSymbolAtLocation(indexSource);
const exported = new Set(indexSymbol ? checker.getExportsOfModule(indexSymbol).map((s) => s.getName()) : []);

const inClinical = (f: string) => f.startsWith(`${clinicalDir}${path.sep}`);
const callers = program
  .getSourceFiles()
  .map((s) => s.fileName)
  .filter((f) => f.startsWith(path.join(root, 'src') + path.sep) && !inClinical(f) && !f.endsWith('.test.ts'));

/** Names the index must add, by module path relative to src/clinical ('./format'), and whether each is a value. */
const additions = new Map<string, Map<string, boolean>>();
let changedFiles = 0;

for (const file of callers) {
  const source = program.getSourceFile(file) as ts.SourceFile;
  const deep: { decl: ts.ImportDeclaration; target: string }[] = [];
  for (const stmt of source.statements) {
    if (!ts.isImportDeclaration(stmt) || !ts.isStringLiteral(stmt.moduleSpecifier)) continue;
    const spec = stmt.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec);
    if (target === clinicalDir || !inClinical(`${target}`)) continue;
    deep.push({ decl: stmt, target });
  }
  if (!deep.length) continue;

  const names = new Map<string, { local: string; typeOnly: boolean }>();
  for (const { decl, target } of deep) {
    const clause = decl.importClause;
    const bindings = clause?.namedBindings;
    if (!clause || clause.name || !bindings || !ts.isNamedImports(bindings)) {
      throw new Error(`${path.relative(root, file)}: only named imports can move to the index: ${decl.getText(source)}`);
    }
    const modulePath = `./${path.relative(clinicalDir, target).split(path.sep).join('/')}`;
    for (const el of bindings.elements) {
      const imported = (el.propertyName ?? el.name).text;
      const typeOnly = clause.isTypeOnly || el.isTypeOnly;
      names.set(`${imported} as ${el.name.text}`, { local: el.name.text, typeOnly });
      if (exported.has(imported)) continue;
      const symbol = checker.getSymbolAtLocation(el.name);
      const resolved = symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const isValue = !!resolved && (resolved.flags & ts.SymbolFlags.Value) !== 0;
      const forModule = additions.get(modulePath) ?? new Map<string, boolean>();
      forModule.set(imported, (forModule.get(imported) ?? false) || isValue);
      additions.set(modulePath, forModule);
    }
  }

  const specs = [...names.entries()].map(([key, { local, typeOnly }]) => {
    const [imported] = key.split(' as ');
    const name = imported === local ? local : `${imported} as ${local}`;
    return { name, typeOnly };
  });
  const allTypes = specs.every((s) => s.typeOnly);
  specs.sort((a, b) => a.name.localeCompare(b.name));
  const list = specs.map((s) => (s.typeOnly && !allTypes ? `type ${s.name}` : s.name)).join(', ');
  const rel = path.relative(path.dirname(file), clinicalDir).split(path.sep).join('/');
  const merged = `import ${allTypes ? 'type ' : ''}{ ${list} } from '${rel.startsWith('.') ? rel : `./${rel}`}';`;

  let text = source.getFullText();
  // Last first, so earlier offsets stay valid; the first deep import becomes the merged one.
  const ordered = [...deep].sort((a, b) => b.decl.getStart(source) - a.decl.getStart(source));
  for (const [i, { decl }] of ordered.entries()) {
    const start = decl.getStart(source);
    let end = decl.getEnd();
    const isFirst = i === ordered.length - 1;
    if (!isFirst && text[end] === '\n') end += 1;
    text = text.slice(0, start) + (isFirst ? merged : '') + text.slice(end);
  }
  changedFiles += 1;
  console.log(`${path.relative(root, file)}: ${deep.length} import(s) → ${merged}`);
  if (!check) fs.writeFileSync(file, text);
}

const lines: string[] = [];
for (const [modulePath, names] of [...additions.entries()].sort(([a], [b]) => a.localeCompare(b))) {
  const values = [...names].filter(([, v]) => v).map(([n]) => n).sort();
  const types = [...names].filter(([, v]) => !v).map(([n]) => n).sort();
  if (values.length) lines.push(`export { ${values.join(', ')} } from '${modulePath}';`);
  if (types.length) lines.push(`export type { ${types.join(', ')} } from '${modulePath}';`);
}
if (lines.length) {
  console.log(`src/clinical/index.ts: +${lines.length} line(s)\n  ${lines.join('\n  ')}`);
  if (!check) fs.appendFileSync(indexFile, `${lines.join('\n')}\n`);
}
console.log(`${changedFiles} file(s) ${check ? 'would change' : 'changed'}; now run: npx tsc -p tsconfig.json --noEmit && npm run format`);
