import { randomUUID } from 'node:crypto';
import type { ServiceRequest } from 'fhir/r4';
import {
  type CitationRef,
  clinicianText,
  type Finding,
  type OrderSuggestion,
  type PatientEvaluation,
  summariseMeasure,
  type WithheldMeasure,
  withheldMeasures,
} from '../clinical';
import { encodeAppContext } from './app-context';
import { renderDetail as briefDetail } from './brief';
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
  return { label: f.brief?.appLink ?? '', url, type: 'smart', appContext: encodeAppContext({ ruleId: f.ruleId }) };
}

/** One finding, one card: every optional member present only when it has content. */
export function renderCard(f: Finding, ctx: RenderContext, withheld: WithheldMeasure[] = []): Card {
  const card = ctx.service.definition.card;
  const suggestions = f.suggestions.map((s) => suggestion(s, f, ctx));
  const sourceUrl = f.citations[0]?.url;
  return {
    uuid: randomUUID(),
    summary: f.summary,
    indicator: f.indicator,
    detail: renderDetail(f),
    source: { label: card.source.label, ...(sourceUrl ? { url: sourceUrl } : {}) },
    // Independent orders (a DXA and the creatinine/cystatin C pair) can both be taken; a single one is at most one.
    ...(suggestions.length
      ? { suggestions, selectionBehavior: suggestions.length > 1 ? ('any' as const) : ('at-most-one' as const) }
      : {}),
    overrideReasons: overrideReasonsFor(f.ruleId, ctx),
    ...(() => {
      const links = [
        ...(ctx.appLaunchUrl ? [appLink(f, ctx.appLaunchUrl)] : []),
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
