/**
 * How firmly each cited source stands, in the words a clinician uses. Keyed by the knowledge file's citation ids;
 * it belongs beside each citation in the knowledge data once the rules' text moves there (issue 10).
 */
import type { CitationRef, Knowledge } from '../clinical/knowledge';
import { clinicianText } from '../clinical/format';

export type Strength = 'guideline' | 'meta-analysis' | 'cohort study' | 'cross-sectional study' | 'diagnostic accuracy study' | 'equation derivation study' | 'expert opinion' | 'conference abstract';

const STRENGTH: Record<string, Strength> = {
  'he-2024': 'cohort study',
  'lin-2024': 'meta-analysis',
  'zheng-2023': 'diagnostic accuracy study',
  'ukb-mri-2024': 'conference abstract',
  'kashani-2016': 'diagnostic accuracy study',
  'inker-2021': 'equation derivation study',
  'inker-2012': 'equation derivation study',
  'fu-2022': 'cross-sectional study',
  'matthews-1985': 'equation derivation study',
  'acr-2022-giop': 'guideline',
  'frax-who': 'guideline',
  'ebeling-2021': 'expert opinion',
  'asco-2019-survivors': 'guideline',
  'aua-advanced-prostate': 'guideline',
  'endocrine-men-2012': 'guideline',
};

export interface ShownCitation {
  id?: string;
  label: string;
  url: string;
  strength: string;
}

/** A citation as the app shows it: full reference, link, strength in plain words; never the working notes. */
export function shownCitation(c: CitationRef, k: Knowledge): ShownCitation {
  const id = Object.entries(k.citations).find(([, x]) => x === c || (x.url === c.url && x.label === c.label))?.[0];
  const strength = (id && STRENGTH[id]) ?? (/guideline/i.test(c.label) ? 'guideline' : 'study (strength not yet classified)');
  return { ...(id ? { id } : {}), label: clinicianText(c.label), url: c.url, strength };
}
