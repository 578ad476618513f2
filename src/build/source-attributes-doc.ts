/**
 * docs/source-attributes.md, written by `npm run derive` from the same function the service and the app call, so
 * the page cannot say something the service does not (src/config/derived.test.ts fails when they differ).
 */

import { sourceAttributesPath } from '../cds/source-attributes';
import { allSourceAttributes, type Knowledge, INPUT_LABELS as LABELS, type SourceAttributes } from '../clinical';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function ruleSection(a: SourceAttributes): string[] {
  const s = a.sections;
  const input = (k: keyof SourceAttributes['inputs']) => a.inputs[k] as { used: boolean; how: string };
  return [
    `## ${a.title} (\`${a.rule}\`)`,
    '',
    `Hooks: ${a.hooks.join(', ')}. Output (${a.output.kind}): ${a.output.description}`,
    '',
    `- **Intended use**: ${a.intendedUse}`,
    `- **Intended patients**: ${a.intendedPatients}`,
    `- **Intended users**: ${a.intendedUsers}`,
    `- **Decision-making role**: ${a.decisionRole}`,
    `- **Release and revision dates** ${s.releaseAndRevisionDates}: released ${a.releaseAndRevisionDates.released}${a.releaseAndRevisionDates.revised.length ? `; revised ${a.releaseAndRevisionDates.revised.join(', ')}` : ''}`,
    '',
    '### Cautions and out-of-scope use',
    '',
    ...a.cautions.map((c) => `- ${c}`),
    ...a.outOfScope.map((c) => `- Out of scope: ${c}`),
    '',
    `### Inputs ${s.race}–${s.healthStatusAssessments}`,
    '',
    '| Input | Used | How |',
    '| --- | --- | --- |',
    ...LABELS.map(([k, l]) => `| ${l} | ${input(k).used ? 'yes' : 'no'} | ${cell(input(k).how)} |`),
    '',
    `What the rule's code reads (found in its source by \`npm run derive\`): domains ${a.inputs.reads.domains.join(', ') || 'none'}; analytes ${a.inputs.reads.analytes.join(', ') || 'none'}; measures ${a.inputs.reads.measures.join(', ') || 'none'}.`,
    '',
    `### Bibliographic citations and evidence ${s.bibliographicCitation}`,
    '',
    ...a.bibliographicCitation.map((c) => `- ${c.citation}. <${c.url}> (${c.evidence})`),
    '',
    '### Validation',
    '',
    ...a.validation.tests.map((t) => `- Test suite: [${t}](../${t})`),
    ...a.validation.reviews.map(
      (r) => `- ${r.blind ? 'Blind review' : 'Review'} ${r.date} by ${r.reviewers}: ${r.scope}. ${r.outcome}`,
    ),
    ...(a.validation.reviews.some((r) => r.blind) ? [] : ['- Blind reviews: none recorded.']),
    ...a.validation.gaps.map((g) => `- Not yet validated: ${g}`),
    '',
  ];
}

export function sourceAttributesMarkdown(k: Knowledge, services: { id: string; rules: string[] }[]): string {
  const all = allSourceAttributes(k);
  return [
    "<!-- Written by `npm run derive` from cds-hooks/knowledge/clinical.json and the rules' code; do not edit. -->",
    '',
    '# Source attributes (ONC HTI-1)',
    '',
    `The source attributes of each Crosstalk rule, an evidence-based decision support intervention in the sense of ${k.sourceAttributes.regulation}. Clinical knowledge ${k.version}.`,
    '',
    "The words come from the knowledge file (`sourceAttributes`, and `rules.<id>.sourceAttributes` beside each rule's data), validated at start-up. The inputs, and so which demographics a rule uses, are found in the rule's code, never written by hand.",
    '',
    'Machine-readable, from a running service:',
    '',
    ...services.map((s) => `- \`GET ${sourceAttributesPath(s.id)}\`: ${s.rules.join(', ')}`),
    '- `GET /cds-services`: each service carries the brief form under `extension["crosstalk.source-attributes"]`.',
    '',
    `**Developer** ${all[0]?.sections.developer ?? ''}: ${k.sourceAttributes.developer.name} (${k.sourceAttributes.developer.role}). Contact: ${k.sourceAttributes.developer.contact}.`,
    '',
    `**Funding source** ${all[0]?.sections.fundingSource ?? ''}: ${k.sourceAttributes.fundingSource}`,
    '',
    ...all.flatMap(ruleSection),
  ].join('\n');
}
