/**
 * The ONC HTI-1 source attributes (45 CFR 170.315(b)(11)(iv)(A)) of the rules this app runs, as a small disclosure
 * a clinician opens when they want to know where a card comes from. Kept apart from view.ts so the app's layout can
 * change without touching it: it takes the knowledge and rule ids and returns one element.
 */
import {
  allSourceAttributes,
  clinicianText,
  INPUT_LABELS as DEMOGRAPHICS,
  type Knowledge,
  type SourceAttributes,
} from '../clinical';
import { h } from '../web/dom';

function rule(a: SourceAttributes): HTMLElement {
  const uses = DEMOGRAPHICS.filter(([k]) => (a.inputs[k] as { used: boolean }).used).map(([, l]) => l);
  const notUsed = DEMOGRAPHICS.filter(([k]) => !(a.inputs[k] as { used: boolean }).used).map(([, l]) => l);
  const dates = [a.releaseAndRevisionDates.released, ...a.releaseAndRevisionDates.revised];
  return h(
    'details',
    { class: 'source-attributes-rule', 'data-rule': a.rule },
    h('summary', {}, a.title),
    h(
      'dl',
      {},
      h('dt', {}, 'Intended use'),
      h('dd', {}, a.intendedUse),
      h('dt', {}, 'For'),
      h('dd', {}, `${a.intendedPatients} Users: ${a.intendedUsers}`),
      h('dt', {}, 'Uses'),
      h('dd', { 'data-uses': uses.join(',') }, uses.length ? uses.join(', ') : 'none of the listed demographics'),
      h('dt', {}, 'Does not use'),
      h('dd', {}, notUsed.join(', ')),
      h('dt', {}, 'Cautions'),
      h(
        'dd',
        {},
        h(
          'ul',
          {},
          [...a.cautions, ...a.outOfScope].map((c) => h('li', {}, c)),
        ),
      ),
      h('dt', {}, 'Evidence'),
      h(
        'dd',
        {},
        h(
          'ul',
          {},
          a.bibliographicCitation.map((c) =>
            h(
              'li',
              {},
              h('a', { href: c.url, target: '_blank', rel: 'noopener' }, clinicianText(c.citation)),
              ` (${c.evidence})`,
            ),
          ),
        ),
      ),
      h('dt', {}, 'Developer, funding'),
      h('dd', {}, `${a.developer.name}. ${a.fundingSource}`),
      h('dt', {}, 'Released, revised'),
      h('dd', {}, dates.join(', ')),
      h('dt', {}, 'Validated by'),
      // A clinician reads this: the test files are named in docs/source-attributes.md, not here.
      h('dd', {}, [`${a.validation.tests.length} automated test suites.`, ...a.validation.gaps].join(' ')),
    ),
  );
}

/** The disclosure for the given rules (those the app runs), closed until opened. */
export function renderSourceAttributes(k: Knowledge, rules: readonly string[]): HTMLElement {
  const all = allSourceAttributes(k, rules);
  return h(
    'section',
    { id: 'source-attributes', 'aria-labelledby': 'source-attributes-h' },
    h(
      'details',
      {},
      h('summary', { id: 'source-attributes-h' }, 'About these rules (source attributes)'),
      h('p', {}, `Decision support source attributes, ${k.sourceAttributes.regulation}.`),
      all.map(rule),
    ),
  );
}
