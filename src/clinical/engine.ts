import type { Observation, Patient, Specimen } from 'fhir/r4';
import { buildContext, type ContextInput, dxaSince } from './context';
import { ageOn, subtractMonths } from './dates';
import { deriveBmi } from './derived-bmi';
import { day } from './format';
import type { Knowledge } from './knowledge';
import { computeMeasures } from './measures';
import { normaliseObservations } from './observations';
import { recordClosed } from './patient';
import { DEFAULT_RULES, type Rule, type RuleContext } from './rules';
import { ccrUsable } from './rules/ccr-lab-gap';
import { outcome } from './rules/rule';
import { selectInputs } from './selection';
import { sharedReason, sharedText } from './text';
import type { Finding, PatientEvaluation, PatientFacts, RejectedObservation, RuleOutcome } from './types';

/**
 * What the engine needs about one patient: FHIR R4 resources, already gathered. Everything beyond the Patient and
 * the Observations is optional; a domain the caller could not read is named in `unavailable`, not left empty.
 */
export interface ClinicalInput extends ContextInput {
  patient: Patient;
  observations: Observation[];
  /** Specimens sent beside the results: their accession says which results are one test on one sample. */
  specimens?: Specimen[];
}

export function patientFacts(p: Patient): PatientFacts {
  return {
    reference: `Patient/${p.id ?? ''}`,
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
    ...(p.gender === 'female' || p.gender === 'male' ? { sex: p.gender } : {}),
  };
}

/**
 * The clinical engine: resources → normalised labs and context → selected draws → measures → rule outcomes → findings.
 * Pure: the same input and `asOf` always give the same output, in Node and in the browser.
 */
export function evaluatePatient(
  input: ClinicalInput,
  knowledge: Knowledge,
  asOf: Date,
  rules: readonly Rule[] = DEFAULT_RULES,
): PatientEvaluation {
  const patient = patientFacts(input.patient);
  const normalised = normaliseObservations(input.observations, patient.reference, knowledge, {
    reports: input.diagnosticReports ?? [],
    specimens: input.specimens ?? [],
  });
  // A result dated after the evaluation time is not yet a result (a clock error, or a back-dated evaluation).
  const read = normalised.labs.filter((l) => l.effectiveMs <= asOf.getTime());
  const rejected: RejectedObservation[] = [
    ...normalised.rejected.filter((r) => r.effectiveMs === undefined || r.effectiveMs <= asOf.getTime()),
    ...normalised.labs
      .filter((l) => l.effectiveMs > asOf.getTime())
      .map((l) => ({
        reference: l.reference,
        analyte: l.analyte,
        reason: `dated ${l.effective}, after the evaluation time ${asOf.toISOString()}`,
      })),
  ];
  const bmi = deriveBmi(read, rejected, knowledge, asOf);
  const labs = [...read, ...bmi.labs].sort((a, b) => b.effectiveMs - a.effectiveMs);
  rejected.push(...bmi.rejected);
  const selection = selectInputs(labs, knowledge, asOf);
  const measures = computeMeasures(patient, selection, knowledge);
  const ageNow = ageOn(patient.birthDate, asOf.toISOString());
  const context = buildContext(input, patient.reference, knowledge, asOf, labs, rejected);
  const ctx: RuleContext = {
    patient,
    asOf,
    labs,
    rejected,
    selection,
    measures,
    knowledge,
    context,
    ...(ageNow !== undefined ? { ageNow } : {}),
  };

  const ordered = byPrecedence(rules, knowledge);
  // A patient who has died, or a record merged into another, gets no advice on any hook: every rule is quiet and
  // says why, before any rule reads the record (its labs and measures stay visible in the app, not on a card).
  const closed = recordClosed(input.patient, knowledge);
  const outcomes: RuleOutcome[] = ordered.map((r) =>
    closed ? outcome.suppressed(r.id, [closed]) : (adultGate(r.id, ctx) ?? r.evaluate(ctx)),
  );
  supersede(outcomes, knowledge);
  const findings: Finding[] = outcomes
    .filter((o) => o.status === 'fired' && o.finding)
    .map((o) => {
      const f = withoutNeedlessOrders(o.finding as Finding, ctx);
      const attached = outcomes.filter((c) => c.status === 'context' && (!c.attachTo || c.attachTo.includes(f.ruleId)));
      return {
        ...f,
        brief: {
          why: '',
          cite: '',
          ...f.brief,
          advisory: sharedText(knowledge, 'advisory'),
          appLink: sharedText(knowledge, 'appLink'),
        },
        context: [...f.context, ...attached.flatMap((c) => c.context ?? [])],
        briefContext: [...(f.briefContext ?? []), ...attached.flatMap((c) => c.briefContext ?? [])],
      };
    });
  for (const o of outcomes) if (o.finding) o.finding = findings.find((f) => f.ruleId === o.ruleId);

  return { patient, asOf: asOf.toISOString(), labs, rejected, measures, outcomes, findings };
}

/**
 * Every rule rests on adult evidence unless the knowledge file lists it for all ages. Without a birth date the age
 * cannot be checked, so an age-gated rule does not run: a card for a child (or a suggested order) is worse than none.
 */
export function adultGate(ruleId: string, ctx: RuleContext): RuleOutcome | undefined {
  const gate = ctx.knowledge.ageGate;
  if (gate.allAges.includes(ruleId)) return undefined;
  if (ctx.ageNow === undefined) {
    return outcome.suppressed(ruleId, [sharedReason(ctx.knowledge, 'age-unknown')]);
  }
  if (ctx.ageNow < gate.adultAgeYears) {
    return outcome.suppressed(ruleId, [
      sharedReason(ctx.knowledge, 'age-below-adult', { age: ctx.ageNow, minimum: gate.adultAgeYears }),
    ]);
  }
  return undefined;
}

/**
 * Whatever rule renders a card, it never suggests a DXA when one is on file within the window or already ordered,
 * and never suggests creatinine or cystatin C when the ratio they would complete could not be read.
 */
function withoutNeedlessOrders(f: Finding, ctx: RuleContext): Finding {
  const k = ctx.knowledge;
  const dxaCodes = new Set([k.orders.dxa.code, k.orders['dxa-vfa'].code]);
  const labCodes = new Set([k.orders['cystatin-c'].code, k.orders.creatinine.code]);
  const recent = dxaSince(ctx.context, subtractMonths(ctx.asOf, k.dxaOnFile.withinMonths).getTime());
  const pending = ctx.context.boneDensityOrders[0];
  const caveats: string[] = [];
  let suggestions = f.suggestions;
  if (recent || pending) {
    const kept = suggestions.filter((s) => !s.orders.some((o) => dxaCodes.has(o.code)));
    if (kept.length !== suggestions.length) {
      caveats.push(
        recent
          ? sharedText(k, 'dxaOnFileNotSuggested', {
              date: day(recent.effective),
              reference: recent.reference,
              months: k.dxaOnFile.withinMonths,
            })
          : sharedText(k, 'dxaOrderedNotSuggested', { reference: pending?.reference ?? '' }),
      );
    }
    suggestions = kept;
  }
  if (suggestions.some((s) => s.orders.some((o) => labCodes.has(o.code))) && !ccrUsable(ctx).ok) {
    suggestions = suggestions.filter((s) => !s.orders.some((o) => labCodes.has(o.code)));
  }
  return suggestions === f.suggestions ? f : { ...f, suggestions, caveats: [...f.caveats, ...caveats] };
}

/** Rules in the order of their precedence in the knowledge data: the lowest number runs first and its card wins. */
export function byPrecedence(rules: readonly Rule[], k: Knowledge): Rule[] {
  const rank = (r: Rule) =>
    (k.rules as Record<string, { precedence: number } | undefined>)[r.id]?.precedence ?? Number.MAX_SAFE_INTEGER;
  return [...rules].sort((a, b) => rank(a) - rank(b));
}

/**
 * One patient, one message: the fired card of highest precedence turns every other fired card into a suppression
 * that names it, and takes over their one-line summaries and their measures, so nothing said is lost.
 */
function supersede(outcomes: RuleOutcome[], k: Knowledge): void {
  const winner = outcomes.find((o) => o.status === 'fired' && o.finding);
  if (!winner?.finding) return;
  outcomes.forEach((o, j) => {
    if (o === winner || o.status !== 'fired' || !o.finding || !winner.finding) return;
    const lost = o.finding;
    const known: Set<string> = new Set(winner.finding.measures.map((m) => m.code));
    winner.finding = {
      ...winner.finding,
      context: [...winner.finding.context, ...(lost.carryOver ? [lost.carryOver] : [])],
      briefContext: [...(winner.finding.briefContext ?? []), ...(lost.carryOverBrief ? [lost.carryOverBrief] : [])],
      measures: [...winner.finding.measures, ...lost.measures.filter((m) => !known.has(m.code))],
    };
    outcomes[j] = {
      ruleId: o.ruleId,
      status: 'suppressed',
      reasons: [sharedReason(k, 'superseded', { rule: winner.ruleId })],
    };
  });
}
