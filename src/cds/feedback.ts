import type { OperationOutcomeIssue } from 'fhir/r4';
import { compileSchema, formatErrors } from '../config/schemas';
import type { FeedbackEntry, IssuedCard } from '../store/types';
import { problems } from './outcomes';
import type { CdsService } from './services';
import type { Coding } from './types';

/* CDS Hooks feedback (POST {baseUrl}/cds-services/{id}/feedback), as the client sends it. */

export interface OverrideReasonIn {
  reason?: Coding;
  userComment?: string;
}

export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: { id: string }[];
  overrideReason?: OverrideReasonIn;
  /** Not in the specification: Epic's list of reasons, each an overrideReason or a bare Coding. */
  overrideReasons?: (OverrideReasonIn | Coding)[];
  outcomeTimestamp: string;
}

/**
 * Every reason an entry carries, under either key, in the order sent: the spec's overrideReason first, then each of
 * Epic's overrideReasons. A bare Coding in the list is read as that reason.
 */
export function reasonsOf(item: FeedbackItem): OverrideReasonIn[] {
  const list = (item.overrideReasons ?? []).map(
    (r): OverrideReasonIn => ('system' in r && 'code' in r ? { reason: r as Coding } : (r as OverrideReasonIn)),
  );
  return [...(item.overrideReason ? [item.overrideReason] : []), ...list];
}

export interface FeedbackRequest {
  feedback: FeedbackItem[];
}

const validateFeedback = compileSchema<FeedbackRequest>('feedback-request.schema.json');

/** Checks the body against the spec's shape; a malformed request is a 400 and nothing of it is stored. */
export function parseFeedback(body: unknown): FeedbackItem[] {
  if (!validateFeedback(body))
    throw problems.badRequest(
      'The request is not a valid CDS Hooks feedback request.',
      formatErrors(validateFeedback.errors),
    );
  return body.feedback;
}

export interface LinkContext {
  service: CdsService;
  /** The cards named by the items that this Crosstalk issued, by uuid (from the audit). */
  issued: Map<string, IssuedCard>;
  receivedAt: Date;
  /** Who sends the feedback: it is taken only for cards issued to the same issuer and tenant. */
  clientIss?: string;
  clientTenant?: string;
}

function issue(
  i: number,
  field: string,
  text: string,
  code: OperationOutcomeIssue['code'] = 'not-found',
): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text }, expression: [`feedback[${i}]${field}`] };
}

/**
 * Ties each entry to the card it answers, and through it to the rule and call. Feedback that cannot
 * be tied (a card this service never issued, a suggestion that was not on the card) is refused with
 * 422 and one issue per entry, and nothing of the request is stored: a 2xx then always means every
 * entry was linked and kept, and the client learns exactly which entries were wrong.
 */
export function linkFeedback(items: FeedbackItem[], ctx: LinkContext): FeedbackEntry[] {
  const serviceId = ctx.service.definition.discovery.id;
  const offered = ctx.service.definition.card.overrideReasons;
  const issues: OperationOutcomeIssue[] = [];
  const entries: FeedbackEntry[] = [];
  items.forEach((item, i) => {
    const found = ctx.issued.get(item.card);
    // Another client's card is answered as if unknown: one EHR (or tenant) learns nothing of another's cards.
    const card =
      found &&
      (found.clientIss ?? null) === (ctx.clientIss ?? null) &&
      (found.clientTenant ?? null) === (ctx.clientTenant ?? null)
        ? found
        : undefined;
    if (!card) {
      issues.push(
        issue(
          i,
          '.card',
          `card ${JSON.stringify(item.card)} was not issued by this Crosstalk (or has passed the retention period)`,
        ),
      );
      return;
    }
    if (card.serviceId !== serviceId) {
      issues.push(
        issue(
          i,
          '.card',
          `card ${JSON.stringify(item.card)} was issued by service "${card.serviceId}"; send its feedback there`,
          'invalid',
        ),
      );
      return;
    }
    const accepted = item.outcome === 'accepted' ? (item.acceptedSuggestions ?? []).map((s) => s.id) : [];
    const strangers = accepted.filter((id) => !card.suggestionUuids.includes(id));
    if (strangers.length) {
      issues.push(
        issue(
          i,
          '.acceptedSuggestions',
          `suggestion ${strangers.map((s) => JSON.stringify(s)).join(', ')} was not on card ${JSON.stringify(item.card)}`,
        ),
      );
      return;
    }
    // Clients often send only system and code (the CDS Hooks sandbox does); reports read better with the card's display.
    const stored = reasonsOf(item).map((r) => {
      const coding = r.reason;
      const display =
        coding?.display ?? offered.find((o) => o.system === coding?.system && o.code === coding?.code)?.display;
      return {
        ...(coding ? { system: coding.system, code: coding.code } : {}),
        ...(display ? { display } : {}),
        ...(r.userComment ? { comment: r.userComment } : {}),
      };
    });
    // The report counts an override by its first reason; every reason sent, under either key, is kept beside it.
    const first = item.outcome === 'overridden' ? stored[0] : undefined;
    entries.push({
      cardUuid: card.cardUuid,
      outcome: item.outcome,
      outcomeAt: new Date(item.outcomeTimestamp),
      receivedAt: ctx.receivedAt,
      serviceId,
      ruleId: card.ruleId,
      callId: card.callId,
      cardIssuedAt: card.issuedAt,
      acceptedSuggestions: accepted,
      ...(first ? { overrideReason: first } : {}),
      ...(stored.length > 1 || (stored.length && !first) ? { overrideReasons: stored } : {}),
      ...(ctx.clientIss ? { clientIss: ctx.clientIss } : {}),
    });
  });
  if (issues.length) throw problems.unprocessable(issues);
  return entries;
}
