/**
 * Wording as data: card and quiet-reason sentences live in the knowledge file as templates with named
 * placeholders, so a site that changes a threshold (or a sentence) changes what the clinician reads, and the
 * code only supplies the numbers. `{name}` inserts a value as given; `{name:2}` inserts a number with two decimals.
 */
import type { RuleText } from './knowledge';
import { joinParts, memo } from './memo';
import type { FindingBrief, Reason } from './types';

export type TextParams = Record<string, string | number>;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)(?::(\d))?\}/g;

/** Placeholder names a template uses, in order, once each. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
}

/** A template's braces that are not a well-formed placeholder (a typo in a site file), or undefined. */
export function malformed(template: string): string | undefined {
  const rest = template.replace(PLACEHOLDER, '');
  return /[{}]/.test(rest) ? rest.slice(Math.max(0, rest.search(/[{}]/) - 10), rest.search(/[{}]/) + 10) : undefined;
}

/** A template cut into its text and its placeholders; `{name:2}` carries its decimals. */
type Part = string | { name: string; decimals?: number };

// Templates come from the knowledge files, a few hundred strings: each is checked and cut once, not on every card.
const compiled = memo((template: string): Part[] => {
  const bad = malformed(template);
  if (bad !== undefined) throw new Error(`malformed placeholder near "${bad}" in template "${template}"`);
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index), {
      name: m[1] as string,
      ...(m[2] !== undefined ? { decimals: Number(m[2]) } : {}),
    });
    last = (m.index ?? 0) + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
});

/** The template with every placeholder filled; a placeholder without a value is an error, never "{name}" on a card. */
export function render(template: string, params: TextParams = {}): string {
  return joinParts(compiled(template), ({ name, decimals }) => {
    const v = params[name];
    if (v === undefined) throw new Error(`template "${template}" needs {${name}}, which was not supplied`);
    if (decimals === undefined) return String(v);
    if (typeof v !== 'number')
      throw new Error(`template "${template}" formats {${name}:${decimals}} but it is not a number`);
    return v.toFixed(decimals);
  });
}

/** One of a rule's card sentences (text.card[key]) filled from params. */
export function cardText(text: RuleText | undefined, key: string, params: TextParams = {}): string {
  const t = text?.card?.[key];
  if (t === undefined) throw new Error(`no card template "${key}" in the rule's text`);
  return render(t, params);
}

/**
 * A quiet reason with its words from text.reasons[key] (the code, unless one code has two wordings). Its numbers
 * are kept as parameters; text values (names, references, dates as written) stay in the words only.
 */
export function reasonFrom(text: RuleText | undefined, code: string, values?: TextParams, key = code): Reason {
  const t = text?.reasons?.[key];
  if (t === undefined) throw new Error(`no reason template "${key}" in the rule's text`);
  const params = Object.fromEntries(Object.entries(values ?? {}).filter(([, v]) => typeof v === 'number'));
  return { code, text: render(t, values), ...(Object.keys(params).length ? { params } : {}) };
}

/** A sentence that opens with a filled-in name starts with a capital letter. */
export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A sentence every rule shares (knowledge.text.card[key]). */
export function sharedText(k: { text: RuleText }, key: string, params: TextParams = {}): string {
  return cardText(k.text, key, params);
}

/** A quiet reason every rule shares (knowledge.text.reasons[key]). */
export function sharedReason(k: { text: RuleText }, code: string, values?: TextParams, key = code): Reason {
  return reasonFrom(k.text, code, values, key);
}

/** The rule's why line, citation and lead action for its card's detail (Finding.brief). */
export function briefFrom(text: RuleText | undefined, params: TextParams = {}): FindingBrief {
  return {
    why: text?.why === undefined ? '' : render(text.why, params),
    cite: text?.cite === undefined ? '' : render(text.cite, params),
    ...(text?.action === undefined ? {} : { action: render(text.action, params) }),
  };
}
