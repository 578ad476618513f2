/**
 * A card's detail within its budget: what was found, why it matters (one sentence, one short citation), what to
 * do, "Advisory, not a diagnosis." Every sentence is the rule's, from its knowledge text (rules.<id>.text and the
 * shared text): the found lines (`Finding.brief.found`, decisive value first and in bold), the lines other rules
 * attach (`Finding.briefContext`), the why line, its citation and the actions. Each found line is one short
 * templated sentence of values with units and dates, so the detail fits by construction; this file only orders,
 * escapes and joins them. Everything else (formulas, references, full evidence, caveats) travels in
 * extension.crosstalk and the app.
 */
import { type CardBrief, clinicianText, type Finding, humanDates, memoText, withoutReferences } from '../clinical';
import { escapeMarkdown } from './markdown';

export const SUMMARY_TARGET = 100;
export const SUMMARY_LIMIT = 140;
export const DETAIL_LIMIT = 600;

/** `**…**` survives escaping; everything else the rule wrote is text, not markup. */
function escapeKeepingBold(text: string): string {
  return text
    .split('**')
    .map((part, i) => (i % 2 ? `**${escapeMarkdown(part)}**` : escapeMarkdown(part)))
    .join('');
}

/** The rule's brief with the attached lines after its own, and one action line: the rule's, its orders, then the rest. */
export function briefOf(f: Finding): CardBrief {
  const d = f.brief;
  const actions = [
    ...(d?.action ? [d.action.replace(/[.\s]+$/, '')] : []),
    // "Order DXA with vertebral fracture assessment (VFA)": the abbreviation in brackets is the order's, not the sentence's.
    ...f.suggestions.map((s) => s.label.replace(/\s*\([^()]*\)$/, '')),
    ...(d?.then ?? []),
  ];
  return {
    found: [...(d?.found ?? []), ...(f.briefContext ?? [])],
    why: d?.why ?? '',
    cite: d?.cite ?? '',
    action: actions.length
      ? `${actions.map((a, i) => (i ? a.charAt(0).toLowerCase() + a.slice(1) : a)).join('; ')}.`
      : '',
  };
}

/**
 * The detail: the advisory line, why and what to do are always there; the found lines follow the rule's order, the
 * first always (it carries the decisive value) and every line the rule marks `unchecked` ("could not check …"),
 * each further one while it fits within DETAIL_LIMIT.
 */
// A safety net, not the wording: a template or a value that carries a reference, an ISO date or a working note.
// The same sentences come by on every call, so each answer is remembered.
const clean = memoText((s: string) => escapeKeepingBold(humanDates(withoutReferences(clinicianText(s)))));

export function renderDetail(f: Finding): string {
  const full = detailOf(f, briefOf(f));
  if (full.length <= DETAIL_LIMIT || !f.brief?.then?.length) return full;
  // Lines that must stay ("could not check", "overdue") outrank the further steps, which the full text still carries.
  return detailOf(f, briefOf({ ...f, brief: { ...f.brief, then: [] } }));
}

function detailOf(f: Finding, b: CardBrief): string {
  const why = b.why ? `${clean(b.why.replace(/[.\s]+$/, ''))}${b.cite ? ` (${escapeMarkdown(b.cite)})` : ''}.` : '';
  const action = b.action ? clean(b.action) : '';
  const advisory = f.brief?.advisory ? `*${escapeMarkdown(f.brief.advisory)}*` : '';
  const tail = [why, [action, advisory].filter(Boolean).join(' ')].filter(Boolean).join('\n\n');
  // The first line (the decisive value) and every "could not check" line always stay; the rest fill what is left.
  const lines = b.found.map((s) => ({ text: clean(s), keep: false }));
  const unchecked = new Set(f.brief?.unchecked ?? []);
  b.found.forEach((s, i) => {
    if (i === 0 || unchecked.has(s)) (lines[i] as { keep: boolean }).keep = true;
  });
  let room =
    DETAIL_LIMIT -
    tail.length -
    2 -
    lines.filter((l) => l.keep).reduce((n, l, i) => n + l.text.length + (i ? 1 : 0), 0);
  const found = lines.filter((l) => {
    if (l.keep) return true;
    if (l.text.length + 1 > room) return false;
    room -= l.text.length + 1;
    return true;
  });
  return [found.map((l) => l.text).join(' '), tail].filter(Boolean).join('\n\n');
}
