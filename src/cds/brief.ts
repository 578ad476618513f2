/**
 * A card's detail within its budget: what was found, why it matters (one sentence, one short citation), what to
 * do, "Advisory, not a diagnosis." Everything else (formulas, references, full evidence, caveats) travels in
 * extension.crosstalk and the app. A rule that gives `Finding.brief` says it in its own words; otherwise the
 * detail is built from the finding's statements, cleaned of what a clinician does not need in a narrow panel. The why
 * line, its citation and the lead action come from the rule's knowledge text (rules.<id>.text), not from here.
 */
import type { CardBrief, Finding } from '../clinical/types';
import { clinicianText, humanDates, withoutReferences } from '../clinical/format';
import { escapeMarkdown } from './markdown';

export const SUMMARY_TARGET = 100;
export const SUMMARY_LIMIT = 140;
export const DETAIL_LIMIT = 600;
export const ADVISORY = '*Advisory, not a diagnosis.*';

/** Card-only trimming of a statement: codes, supply arithmetic and conversions stay in the app. */
function cardSentence(text: string): string {
  let t = humanDates(withoutReferences(clinicianText(text)));
  t = dropBalanced(t, '; converted:');
  t = t
    // A concept's name may carry its own brackets: "leuprorelin (leuprolide)".
    .replace(/;?\s*recognised by [^;()]*(?:\((?:[^()]|\([^()]*\))*\))?(?=[;.)]|$)/g, '')
    .replace(/;\s*route [^;]*?(?:\([^()]*\))?(?=[;.]|$)/g, '')
    .replace(/;?\s*\b(?:ATC|RxNorm|SNOMED CT|ICD-10-CM|LOINC) [A-Z0-9.-]+(?:\s*\([^()]*\))?/g, '')
    .replace(/\bauthoredOn\b/g, 'ordered')
    // Dose and supply arithmetic ("(7.5 mg × 1 per 1 d)", "+ 30 d supply × 6 fills") is the app's to show.
    .replace(/\s*\((?:[^()]|\([^()]*\))*×(?:[^()]|\([^()]*\))*\)/g, '')
    .replace(/\s*\+ \d+ d supply[^;.]*/g, '')
    .replace(/\s*\(class: [^()]*(?:\([^()]*\))?[^()]*\)/g, '')
    .replace(/\s*\(\s*\)/g, '')
    .replace(/\s+([;,.:])/g, '$1')
    .replace(/;\s*;/g, ';')
    .replace(/[;,]\s*([.)])/g, '$1')
    .trim();
  // A measure line carries its formula after the colon ("CCR 0.60: CCR = creatinine ÷ …"): the card keeps the value.
  const formula = /^([^:]{1,80}):\s.*(?:[÷^]|min\()/.exec(t);
  if (formula) t = formula[1] as string;
  return /[.!?:]$/.test(t) ? t : `${t}.`;
}

/** Removes `marker` and what follows it up to the bracket that closes the one it sits in (or the end). */
function dropBalanced(text: string, marker: string): string {
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker)) {
    let depth = 0;
    let end = at + marker.length;
    for (; end < text.length; end++) {
      const ch = text[end];
      if (ch === '(') depth++;
      else if (ch === ')') {
        if (depth === 0) break;
        depth--;
      }
    }
    text = text.slice(0, at) + text.slice(end);
  }
  return text;
}

/** The lead of a context line (before its advice), so another rule's finding adds a clause, not a paragraph. */
function contextClause(text: string): string {
  const t = cardSentence(text);
  const semi = t.search(/;(?=\s)/);
  const lead = semi > 20 ? `${t.slice(0, semi)}.` : t;
  const colon = lead.search(/:(?=\s)/);
  return lead.length > 140 && colon > 20 ? `${lead.slice(0, colon)}.` : lead;
}

/** A statement that ends in a colon introduces the ones after it: one sentence, each date said once. */
function joinLists(sentences: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < sentences.length; i++) {
    let s = sentences[i] as string;
    if (s.endsWith(':')) {
      const items: string[] = [];
      while (i + 1 < sentences.length) items.push((sentences[++i] as string).replace(/\.$/, ''));
      s = `${s} ${items.map((x) => x.charAt(0).toLowerCase() + x.slice(1)).join(', ')}.`;
    }
    const seen = new Set<string>();
    s = s.replace(/\s*\((\d{1,2} [A-Z][a-z]{2} \d{4})\)/g, (all, d: string) => (seen.has(d) || s.indexOf(d) < s.indexOf(all) ? '' : (seen.add(d), all)));
    out.push(s.replace(/:$/, '.'));
  }
  return out;
}

/** `**…**` survives escaping; everything else the rule wrote is text, not markup. */
function escapeKeepingBold(text: string): string {
  return text
    .split('**')
    .map((part, i) => (i % 2 ? `**${escapeMarkdown(part)}**` : escapeMarkdown(part)))
    .join('');
}

/** Bold where the eye should land: the value the sentence opens with, or a "No …" finding. */
const VALUE = /(?:\b(?:CCR|HOMA-IR|HOMA-β|eGFRcr-cys|eGFRcr|eGFRcys) \d+(?:\.\d+)?|\d+(?:\.\d+)? ?(?:mg\/day|mg\/dL|mg\/L|ng\/mL|µIU\/mL|mL\/min\/1\.73 m²|mmol\/L|µmol\/L|nmol\/L|mg|%)(?![\w/]))/;

function emphasise(sentence: string): string {
  if (sentence.includes('**')) return sentence;
  const none = /^No [^.;:(]{3,70}/.exec(sentence);
  if (none) {
    const lead = none[0].trimEnd();
    return `**${lead}**${sentence.slice(lead.length)}`;
  }
  const v = VALUE.exec(sentence);
  const prefix = v ? sentence.slice(0, v.index) : sentence;
  // "Prednisone 7.5 mg" reads as one: bold from the start when the value closes the opening words.
  if (v && prefix.length <= 40 && !/[:;,(]/.test(prefix)) return `**${sentence.slice(0, v.index + v[0].length)}**${sentence.slice(v.index + v[0].length)}`;
  // "Secondary-osteoporosis condition: Rheumatoid arthritis (active)": the thing named after the label.
  const named = /^[^:]{3,50}:\s+([^(.;:]{3,70}?)(?=\s*[(.;]|$)/.exec(sentence);
  if (named) {
    const at = sentence.indexOf(named[1] as string, sentence.indexOf(':'));
    return `${sentence.slice(0, at)}**${named[1]}**${sentence.slice(at + (named[1] as string).length)}`;
  }
  if (!v) return sentence;
  const to = v.index + v[0].length;
  return `${sentence.slice(0, v.index)}**${sentence.slice(v.index, to)}**${sentence.slice(to)}`;
}

/** "Could not check X: look for it before acting." lines as one sentence that names every X. */
function uncheckedLine(caveats: string[]): string | undefined {
  const what: string[] = [];
  const other: string[] = [];
  for (const c of caveats) {
    const m = /^Could not check (.+?):\s/.exec(c);
    if (m) what.push(m[1] as string);
    else if (/could not (?:be )?(?:check|read)/i.test(c)) other.push(cardSentence(c));
  }
  const list = what.length > 1 ? `${what.slice(0, -1).join(', ')} and ${what.at(-1)}` : what[0];
  const line = list ? `**Could not check ${list}**: look for ${what.length > 1 ? 'them' : 'it'} before acting.` : '';
  return [line, ...other].filter(Boolean).join(' ') || undefined;
}

/** Bold only where the eye should land first: the opening sentences, not every line. */
const BOLD_SENTENCES = 3;

/** The rule's brief, its found lines built from its statements when the rule gives none. */
export function briefOf(f: Finding): CardBrief {
  const d = f.brief;
  const actions = [
    ...(d?.action ? [d.action.replace(/[.\s]+$/, '')] : []),
    ...f.suggestions.map((s) => s.label.replace(/\s*\([^()]*\)$/, '')),
    ...((f.links ?? []).some((l) => /FRAX/i.test(l.label)) ? ['calculate FRAX'] : []),
  ];
  return {
    found: d?.found ?? (() => {
      const stated = joinLists(f.statements.map(cardSentence)).map((x, i) => (i < BOLD_SENTENCES ? emphasise(x) : x));
      // What could not be checked changes how far the card can be trusted: it stays on the card, right after the finding.
      const unchecked = uncheckedLine(f.caveats);
      const rest = stated.slice(1).filter((x) => !(unchecked && /could not be checked/i.test(x)));
      return [...stated.slice(0, 1), ...(unchecked ? [unchecked] : []), ...rest, ...f.context.map(contextClause)];
    })(),
    why: d?.why ?? '',
    cite: d?.cite ?? '',
    action: actions.length ? `${actions.map((a, i) => (i ? a.charAt(0).toLowerCase() + a.slice(1) : a)).join('; ')}.` : '',
  };
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, Math.max(0, max - 1));
  const at = room.lastIndexOf(' ');
  return `${(at > max / 2 ? room.slice(0, at) : room).replace(/[\s,;:]+$/, '')}…`;
}

/**
 * The first finding shortened to `max` characters. Bold markers must not be cut in half: the sentence is cut
 * without them, and its opening bold span (the decisive value) is put back when it survived the cut whole.
 */
function cutKeepingLeadBold(text: string, max: number): string {
  const m = /^([^*]*)\*\*([^*]+)\*\*/.exec(text);
  const plain = text.replace(/\*\*/g, '');
  if (!m) return cut(plain, max);
  const start = (m[1] as string).length;
  const end = start + (m[2] as string).length;
  const short = cut(plain, max - 4);
  if (short.length - 1 < end) return cut(plain, max);
  return `${short.slice(0, start)}**${short.slice(start, end)}**${short.slice(end)}`;
}

/**
 * The detail, at most DETAIL_LIMIT characters by construction: the advisory line, why and what to do are kept;
 * found sentences are taken in the rule's order while they fit (the first one always, shortened if it must be).
 */
export function renderDetail(f: Finding): string {
  const b = briefOf(f);
  const clean = (s: string) => escapeKeepingBold(humanDates(withoutReferences(clinicianText(s))));
  const why = b.why ? `${clean(b.why.replace(/[.\s]+$/, ''))}${b.cite ? ` (${escapeMarkdown(b.cite)})` : ''}.` : '';
  const action = b.action ? clean(b.action) : '';
  const tail = [why, [action, ADVISORY].filter(Boolean).join(' ')].filter(Boolean).join('\n\n');
  let room = DETAIL_LIMIT - tail.length - 2;
  const found: string[] = [];
  for (const [i, s] of b.found.map(clean).entries()) {
    const need = s.length + (found.length ? 1 : 0);
    if (need <= room) {
      found.push(s);
      room -= need;
    } else if (i === 0) {
      const short = cutKeepingLeadBold(s, room);
      found.push(short);
      room -= short.length;
    }
  }
  return [found.join(' '), tail].filter(Boolean).join('\n\n');
}
