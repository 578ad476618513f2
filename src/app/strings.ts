/**
 * Words the SMART app shows that are not clinical knowledge (that is in the knowledge file): headings, labels and
 * the pieces of the first screen, as data in one place, so wording changes here and nowhere else. Templates take
 * `{name}` slots, filled by `fill`.
 */
export const APP_TEXT = {
  answer: {
    numbersCaption: 'The numbers that decide this finding, with date, reference and trend',
    numberHeads: ['Measure', 'Value', 'Date', 'Reference', 'Trend'],
    actions: 'What to do',
    unchecked: 'Could not be checked',
    allChecked: 'Every part of the record this finding reads could be read.',
    rejected: '{count} result(s) on file were not used (see “Results not used”).',
    detail: 'What was found, context and evidence',
    sourcesSlot: 'Source attributes',
    openedFrom: 'Opened from this card.',
    order: 'Order {orders}.',
    below: 'below {value}',
    atOrAbove: 'at or above {value}',
    above: 'above {value}',
    provisional: ' (provisional)',
    noReference: 'no reference range',
    trendUp: 'up from {value} on {date}',
    trendDown: 'down from {value} on {date}',
    trendSame: 'unchanged since {date}',
    trendOne: 'one result',
    more: 'More detail',
  },
  sections: {
    detailNav: 'Detail',
  },
  charts: {
    result: 'Result',
    older: 'Older than the look-back window',
    band: 'Below threshold',
  },
  print: {
    citations: 'Evidence',
    heading: 'Crosstalk summary',
  },
} as const;

/** A template with its `{name}` slots filled; a slot with no value stays visible, so a missing value shows. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    values[name] === undefined ? whole : String(values[name]),
  );
}
