import type { AnalyteId, CodesetId, Codesets, Knowledge } from '../clinical';

/**
 * `{codes:observations/dxa-t-score,analyte/creatinine}` in a prefetch template becomes the FHIR token list
 * `http://loinc.org|38267-1,…`: codes live in the code sets (or, for the lab analytes, in the knowledge data) and
 * nowhere else, so a code added there is asked for by every service. A reference names a whole code set
 * (`osteoporosis-therapy`), one concept or group in it (`observations/crp`), or an analyte (`analyte/insulin`).
 * Codes that match by prefix (ATC levels, ICD-10-CM categories) cannot be searched as tokens and are left out.
 */
const PLACEHOLDER = /\{codes:([a-z0-9/,-]+)\}/g;

export function expandCodes(template: string, k: Knowledge): string {
  return template.replace(PLACEHOLDER, (_, refs: string) => {
    const tokens = refs.split(',').flatMap((ref) => tokensOf(ref, k));
    return [...new Set(tokens)].join(',');
  });
}

function tokensOf(ref: string, k: Knowledge): string[] {
  const [head, name] = ref.split('/') as [string, string | undefined];
  if (head === 'analyte') {
    const a = name !== undefined ? k.analytes[name as AnalyteId] : undefined;
    if (!a) throw new Error(`{codes:${ref}}: no analyte "${name ?? ''}" in the knowledge data`);
    return a.codes.map((c) => `${c.system}|${c.code}`);
  }
  const set = (k.codesets as Partial<Codesets>)[head as CodesetId];
  if (!set) throw new Error(`{codes:${ref}}: no code set "${head}" in cds-hooks/codesets`);
  const concepts = name === undefined ? set.concepts : set.concepts.filter((c) => c.id === name || c.group === name);
  if (!concepts.length) throw new Error(`{codes:${ref}}: no concept or group "${name ?? ''}" in code set "${head}"`);
  const tokens = concepts.flatMap((c) =>
    c.codes.filter((x) => x.match !== 'prefix').map((x) => `${x.system}|${x.code}`),
  );
  if (!tokens.length) throw new Error(`{codes:${ref}}: no code that a search can ask for`);
  return tokens;
}
