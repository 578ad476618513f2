/*
 * When a FHIR server rejects a search it does not support (400/404/405/422/501, or an OperationOutcome that says
 * a parameter is not supported), the search is asked again in a simpler form, in a fixed ladder, and what the
 * simpler form no longer asks the server to do is done here instead:
 *   1. without `_sort`, sorted here (newest first) and read to its last page;
 *   2. without `_include`/`_revinclude`, the referenced Medications read one by one (readReferencedMedications);
 *   3. without `code` (the patient's whole list of that type), the codes filtered here;
 *   4. for Observation, with every category of the FHIR observation-category code system instead of `code` (some
 *      servers refuse an Observation search with neither);
 *   5. with `Prefer: handling=lenient`, every filter (code, status, category) applied here too.
 * What worked is remembered per FHIR server and search shape (bounded, with expiry), so the next call asks the
 * working form first. Pure (no I/O, no Node built-ins): the server and the SMART app read through it alike.
 */
import type { Resource } from 'fhir/r4';
import { rejectionOf } from '../fhir/bundle';

export type Relaxation = 'no-sort' | 'no-include' | 'no-code' | 'category' | 'lenient';

export interface SearchForm {
  /** The relative search URL, its values percent-encoded as the template's were. */
  url: string;
  /** What this form no longer asks the server to do, in ladder order; empty for the search as written. */
  relaxed: Relaxation[];
  /** Sent with `Prefer: handling=lenient`. */
  lenient: boolean;
}

type Pair = [name: string, value: string];

function split(url: string): { path: string; pairs: Pair[] } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const pairs = (q < 0 ? '' : url.slice(q + 1))
    .split('&')
    .filter(Boolean)
    .map((p): Pair => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
    });
  return { path, pairs };
}

const join = (path: string, pairs: Pair[]) => `${path}?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
/** A parameter's name without its modifier (`code:in` → `code`). */
const nameOf = (p: Pair) => p[0].split(':')[0] as string;

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Where the `code` search parameter looks, per resource type: the R4 common parameter clinical-code
 * (AllergyIntolerance.code | Condition.code | DiagnosticReport.code | Medication.code | (MedicationX.medication as
 * CodeableConcept) | Observation.code | Procedure.code | ServiceRequest.code …). A type not listed cannot have its
 * codes filtered here, so its `code` is never dropped.
 */
const CODE_ELEMENT: Record<string, string> = {
  AllergyIntolerance: 'code',
  Condition: 'code',
  DeviceRequest: 'codeCodeableConcept',
  DiagnosticReport: 'code',
  List: 'code',
  Medication: 'code',
  MedicationAdministration: 'medicationCodeableConcept',
  MedicationDispense: 'medicationCodeableConcept',
  MedicationRequest: 'medicationCodeableConcept',
  MedicationStatement: 'medicationCodeableConcept',
  Observation: 'code',
  Procedure: 'code',
  ServiceRequest: 'code',
};

/**
 * Every code of the FHIR observation-category code system (http://terminology.hl7.org/CodeSystem/observation-category),
 * asked as one OR: the whole list of a patient's Observations that carry a category, for servers that refuse an
 * Observation search by patient alone. Observations with no category are missed by it, so it comes after the
 * patient-only form, never before.
 */
const CATEGORIES: Record<string, string[]> = {
  Observation: [
    'social-history',
    'vital-signs',
    'imaging',
    'laboratory',
    'procedure',
    'survey',
    'exam',
    'therapy',
    'activity',
  ],
};

/** A widened search asks for bigger pages: the same data in fewer round trips. */
const WIDE_PAGE = 100;

/** The ladder for one search: the search as written first, each later form one step simpler. */
export function searchForms(url: string): SearchForm[] {
  const { path, pairs } = split(url);
  const type = path.split('/')[0] ?? '';
  const forms: SearchForm[] = [{ url, relaxed: [], lenient: false }];
  let cur = pairs;
  const relaxed: Relaxation[] = [];
  const push = (p: Pair[], r: Relaxation, lenient = false) => {
    forms.push({ url: join(path, p), relaxed: [...relaxed, r], lenient });
  };
  if (cur.some((p) => nameOf(p) === '_sort')) {
    cur = cur.filter((p) => nameOf(p) !== '_sort');
    push(cur, 'no-sort');
    relaxed.push('no-sort');
  }
  if (cur.some((p) => nameOf(p) === '_include' || nameOf(p) === '_revinclude')) {
    cur = cur.filter((p) => nameOf(p) !== '_include' && nameOf(p) !== '_revinclude');
    push(cur, 'no-include');
    relaxed.push('no-include');
  }
  if (CODE_ELEMENT[type] && cur.some((p) => p[0] === 'code')) {
    cur = widened(cur.filter((p) => p[0] !== 'code'));
    push(cur, 'no-code');
    relaxed.push('no-code');
    const categories = CATEGORIES[type];
    if (categories && !cur.some((p) => nameOf(p) === 'category'))
      push([...cur, ['category', categories.join(',')]], 'category');
  }
  push(cur, 'lenient', true);
  return forms;
}

function widened(pairs: Pair[]): Pair[] {
  return pairs.map((p): Pair => (p[0] === '_count' && Number(p[1]) < WIDE_PAGE ? ['_count', String(WIDE_PAGE)] : p));
}

/** The plainest search of a type for the patient: where a 404/501 means the server has no such endpoint. */
export function plainestForm(url: string): SearchForm {
  const { path, pairs } = split(url);
  const keep = pairs.filter((p) => p[0] === 'patient' || p[0] === 'subject');
  return { url: join(path, keep), relaxed: ['no-sort', 'no-include', 'no-code'], lenient: false };
}

/** A search's shape: its type and the names of its parameters. The same shape meets the same server support. */
export function searchShape(url: string): string {
  const { path, pairs } = split(url);
  const names = [...new Set(pairs.map((p) => p[0]))].sort();
  const include = pairs.filter((p) => p[0] === '_include').map((p) => decoded(p[1]));
  return `${path.split('/')[0]}?${names.join('&')}${include.length ? `#${include.sort().join(',')}` : ''}`;
}

/** Names of the parameters a form no longer sends (or, when lenient, that the server may have ignored). */
export function parametersOf(url: string): string[] {
  return [...new Set(split(url).pairs.map(nameOf))];
}

/**
 * The first form after `from` that no longer carries any parameter the server named as the trouble; without a
 * named parameter, simply the next.
 */
export function nextForm(forms: SearchForm[], from: number, named: string[]): number {
  const trouble = named.filter((n) => parametersOf(forms[0]?.url ?? '').includes(n));
  if (!trouble.length) return from + 1;
  for (let i = from + 1; i < forms.length; i++) {
    const f = forms[i] as SearchForm;
    const left = f.lenient ? [] : parametersOf(f.url);
    if (trouble.every((t) => !left.includes(t))) return i;
  }
  return from + 1;
}

/** Parameters whose being ignored would not change what a search answers here (the patient is checked later). */
const HARMLESS = new Set(['patient', 'subject', '_count']);

/**
 * Whether a searchset's own OperationOutcome says the server ignored part of the search (an issue of code
 * not-supported, or one naming a parameter the search sent): its answer is then read as a lenient one.
 */
export function serverIgnored(entries: Resource[], url: string): boolean {
  const params = parametersOf(url).filter((p) => !HARMLESS.has(p));
  return entries
    .filter((r) => r.resourceType === 'OperationOutcome')
    .some((oo) => {
      const r = rejectionOf(oo, params);
      return r.unsupported || r.named.length > 0;
    });
}

// ---- what a simpler form leaves to be done here ----

type Token = { system?: string; code: string };

function tokens(value: string): Token[] {
  return value.split(',').map((v) => {
    const t = decoded(v);
    const bar = t.indexOf('|');
    if (bar < 0) return { code: t };
    return bar === 0 ? { system: '', code: t.slice(1) } : { system: t.slice(0, bar), code: t.slice(bar + 1) };
  });
}

interface Coding {
  system?: unknown;
  code?: unknown;
}

function codingsAt(r: Resource, element: string): Coding[] | undefined {
  const v = (r as unknown as Record<string, unknown>)[element];
  if (v === undefined) return undefined;
  const concepts = Array.isArray(v) ? v : [v];
  return concepts.flatMap((c) => {
    if (!c || typeof c !== 'object') return [];
    const codings = (c as { coding?: unknown }).coding;
    return Array.isArray(codings) ? (codings.filter((x) => x && typeof x === 'object') as Coding[]) : [];
  });
}

function matches(codings: Coding[], want: Token[]): boolean {
  return codings.some((c) =>
    want.some(
      (w) =>
        c.code === w.code &&
        (w.system === undefined || (w.system === '' ? c.system === undefined : c.system === w.system)),
    ),
  );
}

/**
 * Keeps what the dropped filters would have kept. A resource whose element cannot be seen here (a
 * MedicationRequest that points at a Medication) is kept: every rule classifies each resource by its own codes,
 * so one too many costs nothing, and one too few could read as "not on therapy".
 */
export function filterLocally(resources: Resource[], original: string, form: SearchForm): Resource[] {
  const { path, pairs } = split(original);
  const type = path.split('/')[0] ?? '';
  const sent = new Set(form.lenient ? [] : split(form.url).pairs.map((p) => p[0]));
  const checks: ((r: Resource) => boolean)[] = [];
  for (const [name, value] of pairs) {
    if (sent.has(name)) continue;
    if (name === 'code' && CODE_ELEMENT[type]) {
      const want = tokens(value);
      const element = CODE_ELEMENT[type] as string;
      checks.push((r) => {
        const c = codingsAt(r, element);
        return c === undefined || matches(c, want);
      });
    } else if (name === 'status') {
      const want = new Set(tokens(value).map((t) => t.code));
      checks.push((r) => {
        const s = (r as { status?: unknown }).status;
        return typeof s !== 'string' || want.has(s);
      });
    } else if (name === 'category') {
      const want = tokens(value);
      checks.push((r) => {
        const c = codingsAt(r, 'category');
        return c === undefined || matches(c, want);
      });
    }
  }
  return resources.filter((r) => r.resourceType !== type || checks.every((ok) => ok(r)));
}

/** The date a `date`-like sort orders by, read from whichever clinical date element the resource has. */
function sortDate(r: Resource): string | undefined {
  const x = r as unknown as Record<string, unknown>;
  const period = (k: string) => (x[k] as { start?: unknown } | undefined)?.start;
  for (const v of [
    x.effectiveDateTime,
    x.effectiveInstant,
    period('effectivePeriod'),
    x.issued,
    x.authoredOn,
    x.occurrenceDateTime,
    period('occurrencePeriod'),
    x.performedDateTime,
    period('performedPeriod'),
    x.recordedDate,
    x.onsetDateTime,
    x.dateAsserted,
    x.date,
  ])
    if (typeof v === 'string') return v;
  return undefined;
}

/** Newest first (or as the dropped `_sort` asked), resources without a date last, by instant not by text. */
export function sortLocally(resources: Resource[], original: string): Resource[] {
  const sort = split(original).pairs.find((p) => p[0] === '_sort');
  if (!sort) return resources;
  const first = decoded(sort[1]).split(',')[0] ?? '';
  const descending = first.startsWith('-');
  const when = (r: Resource) => {
    const d = sortDate(r);
    const t = d ? Date.parse(d.length === 4 ? `${d}-01-01` : d) : Number.NaN;
    return Number.isNaN(t) ? undefined : t;
  };
  return resources
    .map((r, i) => ({ r, i, t: when(r) }))
    .sort((a, b) => {
      if (a.t === undefined || b.t === undefined) return a.t === b.t ? a.i - b.i : a.t === undefined ? 1 : -1;
      return (descending ? b.t - a.t : a.t - b.t) || a.i - b.i;
    })
    .map((x) => x.r);
}

/** Whether a form needs every page read: an unsorted or unfiltered list cut short could miss the newest result. */
export function needsWholeList(form: SearchForm): boolean {
  return form.relaxed.some((r) => r !== 'no-include');
}

// ---- the memory ----

export interface SearchMemoryOptions {
  maxEntries: number;
  ttlMs: number;
  now?: () => number;
}

type Memo = { form: number; until: number } | { missing: true; until: number };

/**
 * What each FHIR server (by base URL) supports, per search shape: the ladder step that worked, or that the
 * resource type has no endpoint. Bounded (least recently used entries go first) and expiring, so a server that
 * is upgraded is asked the full form again within the hour. Holds no patient data: shapes carry parameter names only.
 */
export class SearchMemory {
  private readonly m = new Map<string, Memo>();
  private readonly now: () => number;

  constructor(private readonly o: SearchMemoryOptions) {
    this.now = o.now ?? Date.now;
  }

  private get(key: string): Memo | undefined {
    const v = this.m.get(key);
    if (!v) return undefined;
    this.m.delete(key);
    if (v.until <= this.now()) return undefined;
    this.m.set(key, v);
    return v;
  }

  private set(key: string, v: Memo): void {
    this.m.delete(key);
    this.m.set(key, v);
    while (this.m.size > this.o.maxEntries) this.m.delete(this.m.keys().next().value as string);
  }

  /** The ladder step to start from for this search on this server. */
  formFor(base: string, url: string): number {
    const v = this.get(`${base} ${searchShape(url)}`);
    return v && 'form' in v ? v.form : 0;
  }

  remember(base: string, url: string, form: number): void {
    const key = `${base} ${searchShape(url)}`;
    if (form === 0) this.m.delete(key);
    else this.set(key, { form, until: this.now() + this.o.ttlMs });
  }

  /** Whether this server was seen to have no search endpoint for the type. */
  missing(base: string, resourceType: string): boolean {
    const v = this.get(`${base} ${resourceType}`);
    return !!v && 'missing' in v;
  }

  rememberMissing(base: string, resourceType: string): void {
    this.set(`${base} ${resourceType}`, { missing: true, until: this.now() + this.o.ttlMs });
  }

  get size(): number {
    return this.m.size;
  }
}

/** The one memory of a process (a server, or a browser tab): 2 000 shapes at most, for an hour each. */
export const searchMemory = new SearchMemory({ maxEntries: 2000, ttlMs: 60 * 60 * 1000 });
