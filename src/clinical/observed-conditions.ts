import type { Coding, Observation } from 'fhir/r4';
import { decides } from './bounds';
import type { CodesetCode, CodesetConcept, ConceptMatch } from './codesets';
import type { ConditionFact } from './conditions';
import { DAY_MS, parseFhirInstant } from './dates';
import { day, round, unitText } from './format';
import type { Knowledge } from './knowledge';
import { belongsToPatient } from './subject';
import { cardText } from './text';
import type { LabValue, RejectedObservation } from './types';

/*
 * A result can say what the problem list has not recorded yet: a pregnancy status answered "pregnant", a positive
 * pregnancy test, a TSH suppressed below its range with a high free T4. The knowledge file (observedConditions)
 * says which results count as which condition concept and for how long; this reads them into condition facts
 * marked `observed`, which the rules that interpret a lab count like a recorded condition [evidence: observed-conditions].
 */

type Facts = Knowledge['observedConditions']['facts'];
type CodedFact = Extract<Facts[number], { kind: 'coded' }>;
type LabsFact = Extract<Facts[number], { kind: 'labs' }>;
type Criterion = LabsFact['anyOf'][number][number];

const sameCode = (def: CodesetCode, c: Coding) => def.system === c.system && def.code === c.code;

function observationConcept(k: Knowledge, id: string): CodesetConcept | undefined {
  return k.codesets.observations.concepts.find((c) => c.id === id);
}

/** The condition concepts a fact counts as, matched through `coding` (the result's own code). */
function matchesFor(
  k: Knowledge,
  names: readonly string[],
  coding: { system: string; code: string; display?: string },
  verified: boolean,
): ConceptMatch[] {
  return k.codesets.conditions.concepts
    .filter((c) => names.includes(c.id) || (!!c.group && names.includes(c.group)))
    .map((concept) => ({ codeset: 'conditions', concept, basis: 'code', coding, verified }));
}

function held(
  f: { holdsDaysBefore: number; holdsDaysAfter: number },
  atMs: number,
): { onsetMs: number; abatementMs: number } {
  return { onsetMs: atMs - f.holdsDaysBefore * DAY_MS, abatementMs: atMs + f.holdsDaysAfter * DAY_MS };
}

function codedFacts(f: CodedFact, observations: Observation[], patientRef: string, k: Knowledge, asOfMs: number) {
  const test = observationConcept(k, f.observation);
  const answer = observationConcept(k, f.answers);
  if (!test || !answer) return [];
  const out: ConditionFact[] = [];
  for (const obs of observations) {
    if (!belongsToPatient(obs, patientRef) || !k.observationStatuses.includes(obs.status)) continue;
    const codeHit = test.codes.find((d) => (obs.code?.coding ?? []).some((c) => sameCode(d, c)));
    const answerHit = answer.codes.find((d) => (obs.valueCodeableConcept?.coding ?? []).some((c) => sameCode(d, c)));
    if (!codeHit || !answerHit) continue;
    const effective = obs.effectiveDateTime ?? obs.effectiveInstant ?? obs.effectivePeriod?.start ?? obs.issued;
    const atMs = parseFhirInstant(effective);
    if (atMs === undefined || atMs > asOfMs || !effective) continue;
    const text = cardText(k.observedConditions.text, 'coded', {
      observation: obs.code?.text ?? codeHit.display,
      answer: obs.valueCodeableConcept?.text ?? answerHit.display,
      date: day(effective),
    });
    const coding = { system: codeHit.system, code: codeHit.code, display: codeHit.display };
    const verified = codeHit.verification.status === 'verified' && answerHit.verification.status === 'verified';
    out.push({
      reference: `Observation/${obs.id ?? '(no id)'}`,
      text,
      matches: matchesFor(k, f.concepts, coding, verified),
      active: false,
      observed: true,
      // A state a result shows is never a confirmed diagnosis: it may quiet a card, never start one.
      confirmed: false,
      ...held(f, atMs),
    });
  }
  return out;
}

/**
 * A result as a criterion reads it: a value, or a bound (`<0.01 mIU/L`), which meets a criterion only where every
 * value it allows does. A TSH "below the detection limit" is the most suppressed TSH there is; read as no result it
 * would hide the very state the criterion looks for.
 */
type Reading = Pick<LabValue, 'analyte' | 'reference' | 'code' | 'unit' | 'effective' | 'effectiveMs'> &
  Pick<LabValue, 'referenceRange' | 'interpretation'> & {
    value: number;
    bound?: NonNullable<RejectedObservation['bound']>;
  };

function boundReadings(rejected: RejectedObservation[]): Reading[] {
  return rejected.flatMap((r) =>
    r.bound && r.analyte && r.code && r.effective && r.effectiveMs !== undefined && !r.otherPatient
      ? [
          {
            analyte: r.analyte,
            reference: r.reference,
            code: r.code,
            unit: r.bound.unit,
            value: r.bound.value,
            effective: r.effective,
            effectiveMs: r.effectiveMs,
            bound: r.bound,
            ...(r.referenceRange ? { referenceRange: r.referenceRange } : {}),
            ...(r.interpretation ? { interpretation: r.interpretation } : {}),
          },
        ]
      : [],
  );
}

/** Whether a value (or every value a bound allows) passes `test`, which changes only at `cut`. */
function passes(l: Reading, test: (v: number) => boolean, cut: number): boolean {
  return l.bound ? decides({ bound: l.bound }, test, [cut]) === true : test(l.value);
}

/** Whether a result meets one criterion: below or above a number, or outside its own reference limit (or flag). */
function meets(l: Reading, c: Criterion): boolean {
  const flags = l.interpretation ?? [];
  if (c.below !== undefined) {
    if (c.below === 'low') {
      const low = l.referenceRange?.low;
      if (low !== undefined ? !passes(l, (v) => v < low, low) : !flags.some((f) => f === 'L' || f === 'LL'))
        return false;
    } else {
      const below = c.below;
      if (!passes(l, (v) => v < below, below)) return false;
    }
  }
  if (c.above !== undefined) {
    if (c.above === 'high') {
      const high = l.referenceRange?.high;
      if (high !== undefined ? !passes(l, (v) => v > high, high) : !flags.some((f) => f === 'H' || f === 'HH'))
        return false;
    } else {
      const above = c.above;
      if (!passes(l, (v) => v > above, above)) return false;
    }
  }
  return true;
}

function resultText(l: Reading, k: Knowledge): string {
  const t = k.observedConditions.text;
  const r = l.referenceRange;
  const u = (v: number) => round(v, l.unit);
  const range =
    r?.low !== undefined && r.high !== undefined
      ? cardText(t, 'range', { low: u(r.low), high: u(r.high) })
      : r?.low !== undefined
        ? cardText(t, 'rangeLow', { low: u(r.low) })
        : r?.high !== undefined
          ? cardText(t, 'rangeHigh', { high: u(r.high) })
          : l.interpretation?.length
            ? cardText(t, 'flag', { flag: l.interpretation.join(', ') })
            : '';
  return cardText(t, 'result', {
    name: k.analytes[l.analyte].display.replace(/\s*\(.*\)$/, ''),
    value: `${l.bound?.comparator ?? ''}${round(l.value, l.unit)}`,
    unit: unitText(l.unit),
    date: day(l.effective),
    range,
  });
}

function labFacts(f: LabsFact, labs: Reading[], k: Knowledge): ConditionFact[] {
  const out: ConditionFact[] = [];
  const used = new Set<string>();
  const gap = f.drawnWithinHours * 3_600_000;
  for (const criteria of f.anyOf) {
    const [first, ...rest] = criteria as [Criterion, ...Criterion[]];
    for (const anchor of labs.filter((l) => l.analyte === first.analyte && meets(l, first))) {
      const partners = rest.map(
        (c) =>
          labs
            .filter(
              (l) => l.analyte === c.analyte && meets(l, c) && Math.abs(l.effectiveMs - anchor.effectiveMs) <= gap,
            )
            .sort(
              (a, b) => Math.abs(a.effectiveMs - anchor.effectiveMs) - Math.abs(b.effectiveMs - anchor.effectiveMs),
            )[0],
      );
      if (partners.some((p) => !p)) continue;
      const results = [anchor, ...(partners as Reading[])];
      const key = results.map((r) => r.reference).join(',');
      if (used.has(anchor.reference)) continue;
      used.add(anchor.reference);
      const coding = { system: 'http://loinc.org', code: anchor.code, display: k.analytes[anchor.analyte].display };
      const verified = k.analytes[anchor.analyte].codes.some((c) => c.code === anchor.code);
      out.push({
        reference: key.split(',')[0] as string,
        text: cardText(k.observedConditions.text, 'labs', { results: results.map((l) => resultText(l, k)).join(', ') }),
        matches: matchesFor(k, f.concepts, coding, verified && codeVerified(k, anchor)),
        active: false,
        observed: true,
        // A state a result shows is never a confirmed diagnosis: it may quiet a card, never start one.
        confirmed: false,
        ...held(f, anchor.effectiveMs),
      });
    }
  }
  return out;
}

/** Whether the code that identified the result is marked verified in its code set (analytes listed inline are). */
function codeVerified(k: Knowledge, l: Pick<LabValue, 'analyte' | 'code'>): boolean {
  const from = (k.analytes[l.analyte] as { codesFrom?: { codeset: string; concept: string } }).codesFrom;
  if (!from) return true;
  const set = (k.codesets as Record<string, { concepts: CodesetConcept[] }>)[from.codeset];
  const def = set?.concepts.find((c) => c.id === from.concept)?.codes.find((c) => c.code === l.code);
  return def?.verification.status === 'verified';
}

/** Every condition fact the results on file show, by the knowledge file's observedConditions. */
export function observedConditionFacts(
  observations: Observation[],
  labs: LabValue[],
  patientRef: string,
  k: Knowledge,
  asOf: Date,
  rejected: RejectedObservation[] = [],
): ConditionFact[] {
  const readings: Reading[] = [...labs, ...boundReadings(rejected)];
  return k.observedConditions.facts.flatMap((f) =>
    f.kind === 'coded' ? codedFacts(f, observations, patientRef, k, asOf.getTime()) : labFacts(f, readings, k),
  );
}
