import type { Bundle, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { daysAgo, lab, medicationRequest, patient } from '../demo/builders';
import { FhirError } from '../fhir/bundle';
import type { ServiceReads } from './reads';
import { readRecord, type Transport } from './record-reader';
import { filterLocally, SearchMemory, searchForms, sortLocally } from './search-ladder';

const now = new Date('2026-11-25T12:00:00Z');
const CR = 'http://loinc.org|2160-0';
const reads = (templates: Record<string, string>, required: string[] = []): ServiceReads => ({
  patientKey: 'patient',
  required,
  templates: { patient: 'Patient/{{context.patientId}}', ...templates },
  contextDomains: Object.fromEntries(Object.keys(templates).map((k) => [k, ['ccr-labs' as const]])),
});
const creatinine = `Observation?patient={{context.patientId}}&code=${CR}&_sort=-date&_count=50`;

/** Observations out of date order, one of them not a creatinine. */
const observations: Resource[] = [
  lab('cr-old', 'p1', 'creatinineMass', 0.9, daysAgo(now, 200)),
  lab('cys', 'p1', 'cystatinC', 1.1, daysAgo(now, 10)),
  lab('cr-new', 'p1', 'creatinineMass', 0.7, daysAgo(now, 5)),
  lab('cr-mid', 'p1', 'creatinineMass', 0.8, daysAgo(now, 50)),
];

interface Asked {
  url: string;
  prefer?: string;
}

/**
 * A FHIR server that filters and sorts nothing (every resource of the type, `pageSize` a page) and refuses
 * what `refuse` says, with an OperationOutcome naming the parameter.
 */
function server(o: {
  refuse?: (type: string, params: URLSearchParams) => { status: number; param?: string } | undefined;
  pageSize?: number;
  outcome?: Resource;
}): Transport & { asked: Asked[] } {
  const base = 'https://ehr.example/fhir';
  const asked: Asked[] = [];
  return {
    base,
    asked,
    async get(url, opts) {
      asked.push({ url: url.pathname.slice(5) + url.search, ...(opts?.prefer ? { prefer: opts.prefer } : {}) });
      const [type, id] = url.pathname.slice('/fhir/'.length).split('/');
      if (type === 'Patient' && id) return patient(id, 'female', '1950-01-01');
      const refused = o.refuse?.(type ?? '', url.searchParams);
      if (refused)
        throw new FhirError({ kind: 'http', status: refused.status, named: refused.param ? [refused.param] : [] });
      const all =
        type === 'Observation'
          ? observations
          : type === 'MedicationRequest'
            ? [medicationRequest('mr', 'p1', undefined, {})]
            : [];
      const size = o.pageSize ?? 100;
      const page = Number(url.searchParams.get('_page') ?? 0);
      const next = new URL(url);
      next.searchParams.set('_page', String(page + 1));
      const b: Bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [...(page === 0 && o.outcome ? [o.outcome] : []), ...all.slice(page * size, (page + 1) * size)].map(
          (resource) => ({ resource }),
        ),
        ...((page + 1) * size < all.length ? { link: [{ relation: 'next', url: next.href }] } : {}),
      };
      return b;
    },
  };
}

const memory = () => new SearchMemory({ maxEntries: 100, ttlMs: 60_000 });
const ids = (rs: Resource[] | undefined) => rs?.map((r) => r.id);

describe('the search ladder', () => {
  it('is, for a coded, sorted search with an _include, the search as written and then each step simpler', () => {
    const forms = searchForms(
      'MedicationRequest?patient=p1&code=a%7C1&_sort=-authoredon&_count=50&_include=MedicationRequest%3Amedication',
    );
    expect(forms.map((f) => [f.relaxed.join('+'), f.url])).toEqual([
      [
        '',
        'MedicationRequest?patient=p1&code=a%7C1&_sort=-authoredon&_count=50&_include=MedicationRequest%3Amedication',
      ],
      ['no-sort', 'MedicationRequest?patient=p1&code=a%7C1&_count=50&_include=MedicationRequest%3Amedication'],
      ['no-sort+no-include', 'MedicationRequest?patient=p1&code=a%7C1&_count=50'],
      ['no-sort+no-include+no-code', 'MedicationRequest?patient=p1&_count=100'],
      ['no-sort+no-include+no-code+lenient', 'MedicationRequest?patient=p1&_count=100'],
    ]);
    expect(forms.at(-1)?.lenient).toBe(true);
  });

  it('asks Observations by every observation category, after the patient-only form, never before it', () => {
    const forms = searchForms(`Observation?patient=p1&code=${encodeURIComponent(CR)}`);
    expect(forms.map((f) => f.relaxed.at(-1))).toEqual([undefined, 'no-code', 'category', 'lenient']);
    expect(forms[2]?.url).toMatch(/category=social-history,vital-signs,imaging,laboratory,/);
  });

  it('sorts locally, newest first, when the server refuses _sort, and remembers so the next call asks without it', async () => {
    const s = server({ refuse: (_, p) => (p.has('_sort') ? { status: 400, param: '_sort' } : undefined) });
    const m = memory();
    const first = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, { maxPages: 5, memory: m });
    // This server filters nothing, and the search as written still asked for the code: it is filtered only when dropped.
    expect(ids(first.resources.creatinine)).toEqual(['cr-new', 'cys', 'cr-mid', 'cr-old']);
    expect(first.fallbacks).toEqual({ creatinine: 'no-sort' });
    s.asked.length = 0;
    const second = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, { maxPages: 5, memory: m });
    expect(second.fallbacks).toEqual({ creatinine: 'no-sort' });
    expect(s.asked.filter((a) => a.url.includes('_sort'))).toEqual([]);
  });

  it('goes straight to the form without the parameter the OperationOutcome names, and filters its codes locally', async () => {
    const s = server({
      refuse: (t, p) => (t === 'Observation' && p.has('code') ? { status: 400, param: 'code' } : undefined),
    });
    const read = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, { maxPages: 5, memory: memory() });
    expect(ids(read.resources.creatinine)).toEqual(['cr-new', 'cr-mid', 'cr-old']);
    expect(read.fallbacks).toEqual({ creatinine: 'no-sort+no-code' });
    expect(s.asked.filter((a) => a.url.startsWith('/Observation')).length).toBe(2);
  });

  it('reads an answer whose OperationOutcome says it ignored the code as lenient: filtered and sorted here', async () => {
    const s = server({
      outcome: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'warning', code: 'not-supported', diagnostics: 'parameter code ignored' }],
      } as Resource,
    });
    const read = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, { maxPages: 5, memory: memory() });
    expect(ids(read.resources.creatinine)).toEqual(['cr-new', 'cr-mid', 'cr-old']);
    expect(read.fallbacks).toEqual({ creatinine: 'ignored' });
  });

  it('makes a key unavailable when a search it could not filter runs past the page limit: the newest may be unread', async () => {
    const s = server({ pageSize: 1, refuse: (_, p) => (p.has('code') ? { status: 400, param: 'code' } : undefined) });
    const read = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, { maxPages: 2, memory: memory() });
    expect(read.sources.creatinine).toBe('unavailable');
    expect(read.failures.creatinine).toEqual({ kind: 'page-limit', maxPages: 2 });
  });

  it('sends no more extra requests than the call allows, and then the rejection stands', async () => {
    const s = server({ refuse: (_, p) => (p.has('_sort') ? { status: 400, param: '_sort' } : undefined) });
    const read = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, {
      maxPages: 5,
      memory: memory(),
      maxFallbackRequests: 0,
    });
    expect(read.failures.creatinine).toMatchObject({ kind: 'http', status: 400 });
    expect(s.asked.filter((a) => a.url.startsWith('/Observation')).length).toBe(1);
  });

  it('tries every form once, the last with Prefer: handling=lenient, when the server refuses them all', async () => {
    const s = server({ refuse: (t) => (t === 'Observation' ? { status: 400 } : undefined) });
    const read = await readRecord(reads({ creatinine }), { patientId: 'p1' }, s, { maxPages: 5, memory: memory() });
    expect(read.failures.creatinine).toMatchObject({ kind: 'http', status: 400 });
    const asked = s.asked.filter((a) => a.url.startsWith('/Observation'));
    expect(asked.length).toBe(searchForms(creatinine).length);
    expect(asked.at(-1)?.prefer).toBe('handling=lenient');
  });

  it('remembers a type the server has no endpoint for, and asks for it no more', async () => {
    const s = server({ refuse: (t) => (t === 'MedicationStatement' ? { status: 404 } : undefined) });
    const m = memory();
    const t = { statements: 'MedicationStatement?patient={{context.patientId}}&status=active&_count=100' };
    const first = await readRecord(reads(t), { patientId: 'p1' }, s, { maxPages: 5, memory: m });
    expect(first.fallbacks).toEqual({ statements: 'missing-endpoint' });
    expect(first.sources.statements).toBe('unavailable');
    // Asked as written, then in its plainest form (patient only) to be sure.
    expect(s.asked.filter((a) => a.url.startsWith('/MedicationStatement')).map((a) => a.url)).toEqual([
      '/MedicationStatement?patient=p1&status=active&_count=100',
      '/MedicationStatement?patient=p1',
    ]);
    s.asked.length = 0;
    const second = await readRecord(reads(t), { patientId: 'p1' }, s, { maxPages: 5, memory: m });
    expect(second.sources.statements).toBe('unavailable');
    expect(s.asked.filter((a) => a.url.startsWith('/MedicationStatement'))).toEqual([]);
  });

  it('never takes a 401, a 500 or a timeout for a search to simplify', async () => {
    for (const f of [{ kind: 'http', status: 401 }, { kind: 'http', status: 500 }, { kind: 'timeout' }] as const) {
      const asked: string[] = [];
      const t: Transport = {
        base: 'https://ehr.example/fhir',
        get: async (url) => {
          asked.push(url.href);
          if (url.pathname.includes('Patient')) return patient('p1', 'female', '1950-01-01');
          throw new FhirError(f);
        },
      };
      const read = await readRecord(reads({ creatinine }), { patientId: 'p1' }, t, { maxPages: 5, memory: memory() });
      expect(read.failures.creatinine).toEqual(f);
      expect(asked.length).toBe(2);
    }
  });
});

describe('what a simpler form leaves to be done here', () => {
  it('keeps a medicine order whose codes it cannot see (it points at a Medication): one too many costs nothing', () => {
    const coded = medicationRequest('coded', 'p1', { coding: [{ system: 'x', code: 'other' }] }, {});
    const referenced = medicationRequest('ref', 'p1', undefined, {});
    const original = 'MedicationRequest?patient=p1&code=x%7Cwanted';
    const form = searchForms(original).find((f) => f.relaxed.includes('no-code'));
    expect(form).toBeDefined();
    expect(ids(filterLocally([coded, referenced], original, form!))).toEqual(['ref']);
  });

  it('sorts by instant, not by text, and puts what has no date last', () => {
    const a = { ...lab('a', 'p1', 'creatinineMass', 1, '2026-01-01T23:00:00-05:00') } as Resource;
    const b = { ...lab('b', 'p1', 'creatinineMass', 1, '2026-01-02T02:00:00Z') } as Resource;
    const c = { resourceType: 'Observation', id: 'c' } as Resource;
    expect(ids(sortLocally([c, b, a], 'Observation?_sort=-date'))).toEqual(['a', 'b', 'c']);
  });
});

describe('the memory of what each server supports', () => {
  it('forgets after its time to live, and holds no more than its bound', () => {
    let t = 0;
    const m = new SearchMemory({ maxEntries: 2, ttlMs: 1000, now: () => t });
    m.remember('https://a/fhir', 'Observation?patient=1&_sort=-date', 1);
    expect(m.formFor('https://a/fhir', 'Observation?patient=2&_sort=date')).toBe(1);
    expect(m.formFor('https://b/fhir', 'Observation?patient=2&_sort=date')).toBe(0);
    t = 1000;
    expect(m.formFor('https://a/fhir', 'Observation?patient=2&_sort=date')).toBe(0);
    for (const base of ['https://a', 'https://b', 'https://c']) m.rememberMissing(base, 'MedicationStatement');
    expect(m.size).toBe(2);
    expect(m.missing('https://a', 'MedicationStatement')).toBe(false);
    expect(m.missing('https://c', 'MedicationStatement')).toBe(true);
  });
});
