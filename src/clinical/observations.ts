import type { CodeableConcept, DiagnosticReport, Identifier, Observation, Period, Resource, Specimen } from 'fhir/r4';
import { parseFhirInstant } from './dates';
import type { AnalyteId, Knowledge } from './knowledge';
import { belongsToPatient } from './subject';
import type { LabValue, RejectedObservation } from './types';
import { toCanonical } from './units';

const FASTING_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0916';

type Identified = { analyte: AnalyteId; code: string; fasting: boolean };

function identifyCode(code: CodeableConcept | undefined, k: Knowledge): Identified | undefined {
  for (const [analyte, def] of Object.entries(k.analytes) as [AnalyteId, Knowledge['analytes'][AnalyteId]][]) {
    for (const c of code?.coding ?? []) {
      const hit = def.codes.find((d) => d.system === c.system && d.code === c.code);
      if (hit) return { analyte, code: hit.code, fasting: hit.fasting };
    }
  }
  return undefined;
}

/** Where a result's Specimen can be found: contained in the result, in its report or panel, or sent beside it. */
interface SpecimenScope {
  containers: Resource[];
  specimens: Map<string, Specimen>;
}

function specimenOf(obs: Observation, scope: SpecimenScope): Specimen | undefined {
  const ref = obs.specimen?.reference;
  if (!ref) return undefined;
  if (ref.startsWith('#')) {
    for (const c of [obs, ...scope.containers]) {
      const hit = (c as { contained?: Resource[] }).contained?.find(
        (r): r is Specimen => r.resourceType === 'Specimen' && r.id === ref.slice(1),
      );
      if (hit) return hit;
    }
    return undefined;
  }
  return scope.specimens.get(tail(ref, 'Specimen'));
}

/** A Specimen can state fasting explicitly (HL7 v2 table 0916, code F). */
function specimenSaysFasting(spec: Specimen | undefined): boolean {
  return !!spec?.collection?.fastingStatusCodeableConcept?.coding?.some(
    (c) => c.system === FASTING_SYSTEM && c.code === 'F',
  );
}
const INTERPRETATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

/**
 * The result's reference range in the analyte's canonical unit: a limit without its own unit takes the value's. A
 * limit that cannot be converted is left out (a rule that needs it then cannot use the range).
 */
function referenceRangeOf(
  obs: Observation,
  analyte: AnalyteId,
  def: Knowledge['analytes'][AnalyteId],
  spellings: NonNullable<Knowledge['unitSpellings']>['spellings'],
): { low?: number; high?: number } | undefined {
  const rr = obs.referenceRange?.find((r) => r.low || r.high);
  if (!rr) return undefined;
  const q = obs.valueQuantity;
  const limit = (l: typeof rr.low) => {
    if (typeof l?.value !== 'number') return undefined;
    const unit = l.code || l.unit ? l : { ...l, unit: q?.unit, code: q?.code, system: q?.system };
    const c = toCanonical(analyte, def, unit, spellings);
    return c.ok ? c.value : undefined;
  };
  const low = limit(rr.low);
  const high = limit(rr.high);
  if (low === undefined && high === undefined) return undefined;
  return { ...(low !== undefined ? { low } : {}), ...(high !== undefined ? { high } : {}) };
}

function interpretationOf(obs: Observation): string[] {
  return (obs.interpretation ?? []).flatMap((cc) =>
    (cc.coding ?? [])
      .filter((c) => c.code && (!c.system || c.system === INTERPRETATION_SYSTEM))
      .map((c) => c.code as string),
  );
}

/**
 * The specimen time. R4's effective[x] is "the time or time-period the observed value is asserted as being true",
 * for a lab result the collection. For a period (a timed collection) the value is true of the whole period and the
 * result only exists once the collection is complete, so its end is the time that dates it: what a look-back
 * window, a same-draw pairing and "not after the evaluation time" must compare. A period without an end is, per
 * R4's Period, still ongoing; a result reported on it is dated by its start, the only time it states.
 * effectiveTiming names a schedule, not a time: such a result is undated.
 */
export function effectiveOf(o: {
  effectiveDateTime?: string;
  effectiveInstant?: string;
  effectivePeriod?: Period;
}): string | undefined {
  return o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.end ?? o.effectivePeriod?.start;
}

/** `Observation/123`, `https://ehr/fhir/Observation/123` and `Observation/123/_history/2` all name Observation 123. */
function tail(ref: string, type: string): string {
  const m = new RegExp(`(?:^|/)${type}/([^/]+)(?:/_history/[^/]+)?$`).exec(ref);
  return m ? `${type}/${m[1]}` : ref;
}

/** R4: a report or panel that was cancelled or entered in error takes its results with it. */
const WITHDRAWN = new Set(['cancelled', 'entered-in-error']);
/** R4: amended and corrected are later versions of a result (or report) issued earlier. */
const REPLACING = new Set(['amended', 'corrected']);

/** One result as the engine considers it: a resource of its own, a contained one, or a component of a panel. */
interface Candidate {
  obs: Observation;
  reference: string;
  id: Identified;
  /** Reports and panels that list it (DiagnosticReport.result, Observation.hasMember). */
  listedBy: (DiagnosticReport | Observation)[];
  specimen?: Specimen;
  order: number;
}

export interface ResultSources {
  /** Reports whose `result` lists Observations (contained or not); their status and identifier are read. */
  reports?: DiagnosticReport[];
  /** Specimens sent beside the results: their accessionIdentifier says which results are one test on one sample. */
  specimens?: Specimen[];
}

function identifierKeys(ids: Identifier[] | undefined, prefix: string): string[] {
  return (ids ?? []).filter((i) => i.value).map((i) => `${prefix}:${i.system ?? ''}|${i.value}`);
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

function containerTime(p: DiagnosticReport | Observation): Partial<Observation> {
  if (p.effectiveDateTime) return { effectiveDateTime: p.effectiveDateTime };
  if (p.effectivePeriod) return { effectivePeriod: p.effectivePeriod };
  if ('effectiveInstant' in p && p.effectiveInstant) return { effectiveInstant: p.effectiveInstant };
  return {};
}

/**
 * Every result the input holds, as R4 nests them: Observations sent on their own; Observations contained in a
 * DiagnosticReport or a panel Observation and listed by its `result` / `hasMember`; and the components of an
 * Observation whose component code is one of our analytes (a value in a component is a value). A contained result
 * without a subject or a time takes its container's, as contained resources share their container's context.
 */
function candidates(
  observations: Observation[],
  reports: DiagnosticReport[],
  k: Knowledge,
  scope: SpecimenScope,
): Candidate[] {
  const out: Candidate[] = [];
  const listedBy = new Map<string, (DiagnosticReport | Observation)[]>();
  const list = (ref: string, by: DiagnosticReport | Observation) =>
    listedBy.set(ref, [...(listedBy.get(ref) ?? []), by]);
  const containers: { parent: DiagnosticReport | Observation; refs: string[]; parentRef: string }[] = [];
  for (const r of reports) {
    const refs = (r.result ?? []).map((x) => x.reference ?? '').filter(Boolean);
    containers.push({ parent: r, refs, parentRef: `DiagnosticReport/${r.id ?? '(no id)'}` });
  }
  for (const o of observations) {
    const refs = (o.hasMember ?? []).map((x) => x.reference ?? '').filter(Boolean);
    if (refs.length) containers.push({ parent: o, refs, parentRef: `Observation/${o.id ?? '(no id)'}` });
  }
  const inner: { obs: Observation; reference: string; parent: DiagnosticReport | Observation }[] = [];
  for (const { parent, refs, parentRef } of containers) {
    for (const ref of refs) {
      if (!ref.startsWith('#')) {
        list(tail(ref, 'Observation'), parent);
        continue;
      }
      const c = (parent.contained ?? []).find(
        (x): x is Observation => x.resourceType === 'Observation' && x.id === ref.slice(1),
      );
      if (!c) continue;
      const reference = `${parentRef}${ref}`;
      list(reference, parent);
      const when = effectiveOf(c) ? {} : containerTime(parent);
      inner.push({
        obs: { ...c, ...(c.subject || !parent.subject ? {} : { subject: parent.subject }), ...when },
        reference,
        parent,
      });
    }
  }
  const push = (obs: Observation, reference: string, parents: Resource[]) => {
    const id = identifyCode(obs.code, k);
    const sc = { ...scope, containers: parents };
    if (id) {
      out.push({ obs, reference, id, listedBy: [], order: out.length, ...opt('specimen', specimenOf(obs, sc)) });
      return;
    }
    for (const comp of obs.component ?? []) {
      const cid = identifyCode(comp.code, k);
      if (!cid) continue;
      const {
        component: _all,
        valueQuantity: _v,
        dataAbsentReason: _d,
        referenceRange: _r,
        interpretation: _i,
        ...rest
      } = obs;
      const one: Observation = {
        ...rest,
        code: comp.code,
        ...opt('valueQuantity', comp.valueQuantity),
        ...opt('dataAbsentReason', comp.dataAbsentReason),
        ...opt('referenceRange', comp.referenceRange),
        ...opt('interpretation', comp.interpretation),
      };
      out.push({
        obs: one,
        reference,
        id: cid,
        listedBy: [],
        order: out.length,
        ...opt('specimen', specimenOf(one, sc)),
      });
    }
  };
  for (const o of observations) push(o, `Observation/${o.id ?? '(no id)'}`, []);
  for (const i of inner) push(i.obs, i.reference, [i.parent]);
  for (const c of out) c.listedBy = listedBy.get(c.reference) ?? [];
  return out;
}

const reportsOf = (c: Candidate) =>
  c.listedBy.filter((p): p is DiagnosticReport => p.resourceType === 'DiagnosticReport');

/** When a version was issued: its own `issued`, else its report's, else the last update of either. */
function issuedMs(c: Candidate): number | undefined {
  const reps = reportsOf(c);
  return (
    parseFhirInstant(c.obs.issued) ??
    reps.map((r) => parseFhirInstant(r.issued)).find((x) => x !== undefined) ??
    parseFhirInstant(c.obs.meta?.lastUpdated) ??
    reps.map((r) => parseFhirInstant(r.meta?.lastUpdated)).find((x) => x !== undefined)
  );
}

/** A correction of the result itself, or of the report that carries it (a corrected report re-issues its results). */
const replaces = (c: Candidate) => REPLACING.has(c.obs.status) || reportsOf(c).some((r) => REPLACING.has(r.status));

/**
 * The keys that make two results versions of one result (within one analyte): an identifier (system and value), a
 * specimen accession (Specimen.accessionIdentifier, or the same Specimen), the order it fulfils (basedOn, on the
 * same specimen day: a standing order has many results), or an identifier of the report that lists it.
 */
function versionKeys(c: Candidate): string[] {
  const day = effectiveOf(c.obs)?.slice(0, 10) ?? '';
  const specRef = c.obs.specimen?.reference;
  return [
    ...identifierKeys(c.obs.identifier, 'id'),
    ...identifierKeys(c.specimen?.accessionIdentifier ? [c.specimen.accessionIdentifier] : [], 'acc'),
    ...(specRef && !specRef.startsWith('#') ? [`spec:${tail(specRef, 'Specimen')}`] : []),
    ...(c.obs.basedOn ?? []).filter((b) => b.reference).map((b) => `based:${b.reference}@${day}`),
    ...identifierKeys(
      (c.obs.basedOn ?? []).flatMap((b) => (b.identifier ? [b.identifier] : [])),
      `basedId@${day}`,
    ),
    ...reportsOf(c).flatMap((p) => identifierKeys(p.identifier, 'rep')),
  ].map((key) => `${c.id.analyte}:${key}`);
}

/**
 * Why a result must not be used although it may look final: its report or panel was withdrawn (cancelled or
 * entered in error, transitively through nested panels), or a later version of the same result replaced it.
 * Results are versions of one result when they share a key of `versionKeys`. Only a group with a correction (of the
 * result or of its report) or a withdrawal changes anything: the latest issued version stands (by `issued`, else
 * meta.lastUpdated, else amended/corrected after final, else input order); when the latest is entered-in-error the
 * result never should have existed, and neither do the versions it replaced.
 */
function setAside(cands: Candidate[]): Map<Candidate, string> {
  const out = new Map<Candidate, string>();
  const withdrawn = (c: Candidate, seen = new Set<Resource>()): string | undefined => {
    for (const p of c.listedBy) {
      if (seen.has(p)) continue;
      seen.add(p);
      const ref = `${p.resourceType}/${p.id ?? '(no id)'}`;
      if (WITHDRAWN.has(p.status)) return `listed by ${ref}, which is ${p.status}`;
      if (p.resourceType === 'Observation') {
        const up = cands.find((x) => x.obs === p);
        const why = up && withdrawn(up, seen);
        if (why) return why;
      }
    }
    return undefined;
  };
  for (const c of cands) {
    const why = withdrawn(c);
    if (why) out.set(c, why);
  }
  // Union-find over the version keys.
  const parent = cands.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] as number;
    return i;
  };
  const owner = new Map<string, number>();
  cands.forEach((c, i) => {
    for (const key of versionKeys(c)) {
      const j = owner.get(key);
      if (j === undefined) owner.set(key, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, Candidate[]>();
  cands.forEach((c, i) => {
    if (out.has(c)) return;
    const g = find(i);
    groups.set(g, [...(groups.get(g) ?? []), c]);
  });
  const rank = (c: Candidate) => [issuedMs(c) ?? Number.NEGATIVE_INFINITY, replaces(c) ? 1 : 0, c.order];
  const later = (a: Candidate, b: Candidate) => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number);
    return false;
  };
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    if (!group.some((c) => replaces(c) || c.obs.status === 'entered-in-error')) continue;
    const versions = group.filter((c) => ['final', 'amended', 'corrected', 'entered-in-error'].includes(c.obs.status));
    const latest = versions.reduce<Candidate | undefined>((best, c) => (!best || later(c, best) ? c : best), undefined);
    if (!latest) continue;
    for (const c of versions) {
      if (c === latest) continue;
      out.set(
        c,
        latest.obs.status === 'entered-in-error'
          ? `withdrawn: a later version of the same result (${latest.reference}) is entered-in-error`
          : `superseded by ${latest.reference} (${latest.obs.status})`,
      );
    }
  }
  return out;
}

function absentReason(obs: Observation): string {
  const dar = obs.dataAbsentReason;
  return `no value: data absent (${dar?.coding?.find((c) => c.code)?.code ?? dar?.text ?? 'reason not coded'})`;
}

/**
 * R0 data-quality gate: keeps final/amended/corrected numeric results of the analytes we know, read as FHIR R4
 * defines Observation (see docs/fhir-reading.md), in canonical units and within plausibility ranges; everything
 * else is returned with the reason.
 */
export function normaliseObservations(
  observations: Observation[],
  patientRef: string,
  k: Knowledge,
  sources: ResultSources = {},
): { labs: LabValue[]; rejected: RejectedObservation[] } {
  const labs: LabValue[] = [];
  const rejected: RejectedObservation[] = [];
  const scope: SpecimenScope = {
    containers: [],
    specimens: new Map((sources.specimens ?? []).map((s) => [`Specimen/${s.id ?? ''}`, s])),
  };
  const seen = new Set<string>();
  // The same result can reach us through two prefetch keys, or as a resource and as a report's result: once each.
  const all = candidates(observations, sources.reports ?? [], k, scope).filter((c) => {
    const key = `${c.reference}|${c.id.code}`;
    if (c.reference.endsWith('(no id)')) return true;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const aside = setAside(all.filter((c) => belongsToPatient(c.obs, patientRef)));
  for (const cand of all) {
    const { obs, reference, id } = cand;
    const effective = effectiveOf(obs);
    const effectiveMs = parseFhirInstant(effective);
    const when = effective && effectiveMs !== undefined ? { effective, effectiveMs } : {};
    const reject = (reason: string, extra: Partial<RejectedObservation> = {}) =>
      rejected.push({ reference, analyte: id.analyte, code: id.code, reason, ...when, ...extra });
    if (!belongsToPatient(obs, patientRef)) {
      reject('belongs to another patient', { otherPatient: true });
      continue;
    }
    const why = aside.get(cand);
    if (why) {
      reject(why);
      continue;
    }
    if (!k.observationStatuses.includes(obs.status)) {
      reject(`status "${obs.status}" is not final, amended or corrected`);
      continue;
    }
    if (!effective || effectiveMs === undefined) {
      reject('no specimen date (effective[x])');
      continue;
    }
    // R4: dataAbsentReason says the value is missing although the test was done or expected: a result that exists
    // without a readable value, never an absent one. Beside a value (R4 forbids both, obs-6) it leaves it in doubt.
    if (obs.dataAbsentReason) {
      reject(absentReason(obs), { unreadable: true });
      continue;
    }
    if (!obs.valueQuantity) {
      reject('no numeric valueQuantity', { unreadable: true });
      continue;
    }
    const def = k.analytes[id.analyte];
    const spellings = k.unitSpellings?.spellings ?? [];
    const q = obs.valueQuantity;
    const range = referenceRangeOf(obs, id.analyte, def, spellings);
    const flags = interpretationOf(obs);
    const judged = { ...(range ? { referenceRange: range } : {}), ...(flags.length ? { interpretation: flags } : {}) };
    if (q.comparator) {
      // A bound is not a value: no equation takes it, but a rule may read it where it alone decides.
      const { comparator: _bound, ...plain } = q;
      const b = toCanonical(id.analyte, def, plain, spellings);
      reject(
        `reported as a bound ("${q.comparator}${q.value ?? ''} ${q.unit ?? q.code ?? ''}"), not a value`.replace(
          ' ")',
          '")',
        ),
        {
          unreadable: true,
          ...judged,
          ...(b.ok
            ? {
                bound: {
                  comparator: q.comparator as NonNullable<RejectedObservation['bound']>['comparator'],
                  value: b.value,
                  unit: b.unit,
                },
              }
            : {}),
        },
      );
      continue;
    }
    const c = toCanonical(id.analyte, def, q, spellings);
    if (!c.ok) {
      reject(c.reason, { unreadable: true });
      continue;
    }
    if (c.value < def.plausible.low || c.value > def.plausible.high) {
      reject(
        `value ${c.value.toPrecision(3)} ${c.unit} outside plausible range ${def.plausible.low}–${def.plausible.high}`,
        { unreadable: true },
      );
      continue;
    }
    labs.push({
      analyte: id.analyte,
      reference,
      code: id.code,
      value: c.value,
      unit: c.unit,
      original: { value: q.value as number, unit: q.code ?? q.unit ?? '' },
      ...(c.conversion ? { conversion: c.conversion } : {}),
      effective,
      effectiveMs,
      fasting: id.fasting || specimenSaysFasting(cand.specimen),
      ...(obs.specimen?.reference ? { specimen: obs.specimen.reference } : {}),
      ...judged,
    });
  }
  labs.sort((a, b) => b.effectiveMs - a.effectiveMs);
  return { labs, rejected };
}

export interface Pair {
  a: LabValue;
  b: LabValue;
}

/**
 * Every pair of results drawn together (within `maxGapMs` of each other, or on one specimen), both inside the
 * look-back window, best first: newest (the later of the two draws) first, then the closer pair, then input order.
 */
export function pairsDrawnTogether(
  as: LabValue[],
  bs: LabValue[],
  maxGapMs: number,
  sinceMs: number,
  accept: (a: LabValue, b: LabValue) => boolean = () => true,
): Pair[] {
  const found: { pair: Pair; newest: number; gap: number; order: number }[] = [];
  for (const a of as) {
    if (a.effectiveMs < sinceMs) continue;
    for (const b of bs) {
      if (b.effectiveMs < sinceMs) continue;
      const gap = Math.abs(a.effectiveMs - b.effectiveMs);
      const sameSpecimen = !!a.specimen && a.specimen === b.specimen && !a.specimen.startsWith('#');
      if (gap > maxGapMs && !sameSpecimen) continue;
      if (!accept(a, b)) continue;
      found.push({ pair: { a, b }, newest: Math.max(a.effectiveMs, b.effectiveMs), gap, order: found.length });
    }
  }
  return found.sort((x, y) => y.newest - x.newest || x.gap - y.gap || x.order - y.order).map((f) => f.pair);
}

/** The newest pair of results drawn together: the first of `pairsDrawnTogether`. */
export function newestPair(
  as: LabValue[],
  bs: LabValue[],
  maxGapMs: number,
  sinceMs: number,
  accept: (a: LabValue, b: LabValue) => boolean = () => true,
): Pair | undefined {
  return pairsDrawnTogether(as, bs, maxGapMs, sinceMs, accept)[0];
}
