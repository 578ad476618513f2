/**
 * How firmly each cited source stands, in the words a clinician uses. The knowledge file is the one place that says
 * it (citations.<id>.evidence); the app reads it from there and keeps no table of its own.
 */
import { type CitationRef, clinicianText, type Knowledge } from '../clinical';

export interface ShownCitation {
  id?: string;
  label: string;
  url: string;
  strength: string;
}

/** A citation as the app shows it: full reference, link, strength in plain words; never the working notes. */
export function shownCitation(c: CitationRef, k: Knowledge): ShownCitation {
  const id = Object.entries(k.citations).find(([, x]) => x === c || (x.url === c.url && x.label === c.label))?.[0];
  const strength = clinicianText(c.evidence).trim() || 'strength not stated';
  return { ...(id ? { id } : {}), label: clinicianText(c.label), url: c.url, strength };
}
