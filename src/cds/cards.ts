import { randomUUID } from 'node:crypto';
import type { ServiceRequest } from 'fhir/r4';
import {
  type CitationRef,
  clinicianText,
  type Finding,
  type Knowledge,
  type OrderSuggestion,
  type PatientEvaluation,
  summariseMeasure,
  type WithheldMeasure,
  withheldMeasures,
} from '../clinical';
import { encodeAppContext } from './app-context';
import { renderDetail as briefDetail } from './brief';
import { type EhrProfile, selectionBehaviorFor } from './ehr-profiles';
import type { CdsService } from './services';
import type { Card, Coding, CrosstalkExtension, Link, Suggestion } from './types';

export interface RenderContext {
  service: CdsService;
  patientId: string;
  userId?: string;
  encounterId?: string;
  knowledgeVersion: string;
  /** The SMART app's launch URL; finding cards link to it when set. */
  appLaunchUrl?: string;
  /** How the calling EHR takes cards (cds-hooks/ehr-profiles.json); absent: any CDS Hooks 2.0 client. */
  profile?: Pick<EhrProfile, 'selectionBehaviors' | 'maxActionsPerSuggestion' | 'appContext'>;
  /** The rule's title (knowledge rules.<id>.title): the display of the card's source.topic. */
  ruleTitle?: (ruleId: string) => string | undefined;
}

/**
 * The code system of every card's source.topic: one code per rule, the rule id. EHRs that remember a clinician's
 * override (Epic) key it by topic, so a topic must name the rule, never the patient or the call.
 */
export const RULE_TOPIC_SYSTEM = 'urn:crosstalk:codesystem:rule';

/** A rule's title from the knowledge: the display of its cards' source.topic. */
export function ruleTitleIn(knowledge: Knowledge): (ruleId: string) => string | undefined {
  return (id) => (knowledge.rules as Record<string, { title?: string } | undefined>)[id]?.title;
}

/** The card's detail: the budgeted brief (brief.ts). Kept as an export for callers that render one finding. */
export function renderDetail(f: Finding): string {
  return briefDetail(f);
}

/** Evidence on the card's machine-readable side: label and link only, never the working notes on how it was checked. */
function citationOut(c: CitationRef): { label: string; url: string } {
  return { label: clinicianText(c.label), url: c.url };
}

/** Everything the detail leaves out, machine-readable: the app and any other client can show the depth. */
function crosstalkExtension(f: Finding, withheld: WithheldMeasure[], knowledgeVersion: string): CrosstalkExtension {
  const text = (lines: string[]) => lines.map((l) => clinicianText(l)).filter(Boolean);
  return {
    ruleId: f.ruleId,
    knowledgeVersion,
    measures: f.measures.map((m) => ({
      ...summariseMeasure(m),
      display: m.display,
      effective: m.effective,
      formula: m.formula,
    })),
    ...(withheld.length
      ? {
          withheld: withheld.map((w) => ({
            code: w.code,
            ruleId: w.ruleId,
            reasons: w.reasons.map((r) => ({ code: r.code, text: clinicianText(r.text) })),
          })),
        }
      : {}),
    statements: text(f.statements),
    context: text(f.context),
    caveats: text(f.caveats),
    citations: f.citations.map(citationOut),
  };
}

/** The service's override reasons that fit this rule (a reason without `rules` fits every rule). */
function overrideReasonsFor(ruleId: string, ctx: RenderContext): Coding[] {
  return ctx.service.definition.card.overrideReasons
    .filter((r) => !r.rules || r.rules.includes(ruleId))
    .map(({ system, code, display }) => ({ system, code, display }));
}

function serviceRequest(s: OrderSuggestion['orders'][number], f: Finding, ctx: RenderContext): ServiceRequest {
  const requester =
    ctx.userId && /^(Practitioner|PractitionerRole)\//.test(ctx.userId) ? { requester: { reference: ctx.userId } } : {};
  return {
    resourceType: 'ServiceRequest',
    status: 'draft',
    intent: 'proposal',
    code: { coding: [{ system: s.system, code: s.code, display: s.display }], text: s.display },
    subject: { reference: `Patient/${ctx.patientId}` },
    ...(ctx.encounterId ? { encounter: { reference: `Encounter/${ctx.encounterId}` } } : {}),
    ...requester,
    reasonCode: [{ text: f.summary }],
    // The order the card is about (e.g. the glucocorticoid being signed): CDS Hooks has no card-to-order link, so it rides here.
    ...(f.about?.length ? { supportingInfo: f.about.map((reference) => ({ reference })) } : {}),
  };
}

/**
 * One suggestion per order set; for an EHR that takes at most N actions in a suggestion, the orders are split
 * into suggestions of N, each labelled with what it orders, so no order is dropped.
 */
function suggestions(s: OrderSuggestion, f: Finding, ctx: RenderContext): Suggestion[] {
  const actions = s.orders.map((o) => ({
    type: 'create' as const,
    description: `Order ${o.display} (${o.system === 'http://loinc.org' ? 'LOINC' : o.system} ${o.code})`,
    resource: serviceRequest(o, f, ctx),
  }));
  const max = ctx.profile?.maxActionsPerSuggestion;
  if (!max || actions.length <= max) return [{ label: s.label, uuid: randomUUID(), actions }];
  const out: Suggestion[] = [];
  for (let i = 0; i < actions.length; i += max) {
    const part = s.orders.slice(i, i + max);
    out.push({
      label: `${s.label}: ${part.map((o) => o.display).join(', ')}`,
      uuid: randomUUID(),
      actions: actions.slice(i, i + max),
    });
  }
  return out;
}

/** The EHR adds iss and launch to a smart link and hands appContext back in the token response, if it passes it. */
function appLink(f: Finding, url: string, ctx: RenderContext): Link {
  const link: Link = { label: f.brief?.appLink ?? '', url, type: 'smart' };
  return ctx.profile?.appContext === false ? link : { ...link, appContext: encodeAppContext({ ruleId: f.ruleId }) };
}

function topic(ruleId: string, ctx: RenderContext): Coding {
  const display = ctx.ruleTitle?.(ruleId);
  return { system: RULE_TOPIC_SYSTEM, code: ruleId, ...(display ? { display: clinicianText(display) } : {}) };
}

/** One finding, one card: every optional member present only when it has content. */
export function renderCard(f: Finding, ctx: RenderContext, withheld: WithheldMeasure[] = []): Card {
  const card = ctx.service.definition.card;
  const offered = f.suggestions.flatMap((s) => suggestions(s, f, ctx));
  const sourceUrl = f.citations[0]?.url;
  return {
    uuid: randomUUID(),
    summary: f.summary,
    indicator: f.indicator,
    detail: renderDetail(f),
    source: { label: card.source.label, ...(sourceUrl ? { url: sourceUrl } : {}), topic: topic(f.ruleId, ctx) },
    // Independent orders (a DXA and the creatinine/cystatin C pair) can both be taken; a single one is at most one.
    ...(offered.length
      ? {
          suggestions: offered,
          selectionBehavior: selectionBehaviorFor(
            { selectionBehaviors: ctx.profile?.selectionBehaviors ?? ['at-most-one', 'any'] },
            offered.length,
          ),
        }
      : {}),
    overrideReasons: overrideReasonsFor(f.ruleId, ctx),
    ...(() => {
      const links = [
        ...(ctx.appLaunchUrl ? [appLink(f, ctx.appLaunchUrl, ctx)] : []),
        ...(f.links ?? []).map((l) => ({ label: l.label, url: l.url, type: 'absolute' as const })),
      ];
      return links.length ? { links } : {};
    })(),
    extension: { crosstalk: crosstalkExtension(f, withheld, ctx.knowledgeVersion) },
  };
}

export function renderCards(e: PatientEvaluation, ctx: RenderContext): Card[] {
  const withheld = withheldMeasures(e);
  return e.findings.map((f) => renderCard(f, ctx, withheld));
}
