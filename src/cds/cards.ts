import { randomUUID } from 'node:crypto';
import type { ServiceRequest } from 'fhir/r4';
import type { Finding, OrderSuggestion, PatientEvaluation } from '../clinical/types';
import { summariseMeasure } from '../clinical/measures';
import { encodeAppContext } from './app-context';
import { escapeMarkdown, mdLink } from './markdown';
import type { CdsService } from './services';
import type { Card, Link, Suggestion } from './types';

export interface RenderContext {
  service: CdsService;
  patientId: string;
  userId?: string;
  encounterId?: string;
  knowledgeVersion: string;
  /** The SMART app's launch URL; finding cards link to it when set. */
  appLaunchUrl?: string;
}

function section(title: string, lines: string[]): string[] {
  return lines.length ? [`**${title}**`, '', ...lines.map((l) => `- ${escapeMarkdown(l)}`), ''] : [];
}

export function renderDetail(f: Finding, knowledgeVersion: string): string {
  return [
    ...section('What was found', f.statements),
    ...section('Context', f.context),
    ...section('Read with care', f.caveats),
    ...(f.citations.length ? ['**Evidence**', '', ...f.citations.map((c) => `- ${mdLink(c.label, c.url)} (evidence: ${escapeMarkdown(c.evidence)})`), ''] : []),
    `*Advisory, not a diagnosis.* Rule \`${f.ruleId}\`, clinical knowledge ${escapeMarkdown(knowledgeVersion)}.`,
  ].join('\n');
}

function serviceRequest(s: OrderSuggestion['orders'][number], f: Finding, ctx: RenderContext): ServiceRequest {
  const requester = ctx.userId && /^(Practitioner|PractitionerRole)\//.test(ctx.userId) ? { requester: { reference: ctx.userId } } : {};
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

function suggestion(s: OrderSuggestion, f: Finding, ctx: RenderContext): Suggestion {
  return {
    label: s.label,
    uuid: randomUUID(),
    actions: s.orders.map((o) => ({
      type: 'create' as const,
      description: `Order ${o.display} (${o.system === 'http://loinc.org' ? 'LOINC' : o.system} ${o.code})`,
      resource: serviceRequest(o, f, ctx),
    })),
  };
}

/** The EHR adds iss and launch to a smart link and hands appContext back in the token response. */
function appLink(f: Finding, url: string): Link {
  return { label: 'Open the findings in the Crosstalk app', url, type: 'smart', appContext: encodeAppContext({ ruleId: f.ruleId }) };
}

/** One finding, one card: every optional member present only when it has content. */
export function renderCard(f: Finding, ctx: RenderContext): Card {
  const card = ctx.service.definition.card;
  const suggestions = f.suggestions.map((s) => suggestion(s, f, ctx));
  const sourceUrl = f.citations[0]?.url;
  return {
    uuid: randomUUID(),
    summary: f.summary,
    indicator: f.indicator,
    detail: renderDetail(f, ctx.knowledgeVersion),
    source: { label: card.source.label, ...(sourceUrl ? { url: sourceUrl } : {}) },
    // Independent orders (a DXA and the creatinine/cystatin C pair) can both be taken; a single one is at most one.
    ...(suggestions.length ? { suggestions, selectionBehavior: suggestions.length > 1 ? ('any' as const) : ('at-most-one' as const) } : {}),
    overrideReasons: card.overrideReasons.map((r) => ({ ...r })),
    ...(() => {
      const links = [
        ...(ctx.appLaunchUrl ? [appLink(f, ctx.appLaunchUrl)] : []),
        ...(f.links ?? []).map((l) => ({ label: l.label, url: l.url, type: 'absolute' as const })),
      ];
      return links.length ? { links } : {};
    })(),
    extension: { crosstalk: { ruleId: f.ruleId, measures: f.measures.map(summariseMeasure) } },
  };
}

export function renderCards(e: PatientEvaluation, ctx: RenderContext): Card[] {
  return e.findings.map((f) => renderCard(f, ctx));
}
