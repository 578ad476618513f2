import { describe, expect, it } from 'vitest';
import type { IssuedCard } from '../store/types';
import { type FeedbackItem, linkFeedback, parseFeedback } from './feedback';
import { HttpProblem } from './outcomes';
import { loadServices } from './services';

const service = loadServices().get('bone-muscle-patient-view')!;
const SYSTEM = 'urn:crosstalk:codesystem:override-reason';
const issuedAt = new Date('2026-11-25T09:00:00Z');
const card = (uuid: string, over: Partial<IssuedCard> = {}): IssuedCard => ({
  cardUuid: uuid,
  callId: `call-${uuid}`,
  serviceId: 'bone-muscle-patient-view',
  ruleId: 'low-ccr',
  indicator: 'info',
  issuedAt,
  suggestionUuids: [`${uuid}-s1`],
  ...over,
});
const issued = new Map(
  [card('a'), card('b', { ruleId: 'missing-ccr-input' }), card('elsewhere', { serviceId: 'another-service' })].map(
    (c) => [c.cardUuid, c],
  ),
);
const ctx = { service, issued, receivedAt: new Date('2026-11-25T10:00:00Z') };

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (e) {
    if (e instanceof HttpProblem) return e;
    throw e;
  }
  throw new Error('expected an HttpProblem');
}

describe('linking feedback to the cards it answers', () => {
  it('takes feedback only from the issuer and tenant the card was issued to, and answers others as if the card were unknown', () => {
    const mine = new Map([['a', card('a', { clientIss: 'https://ehr.example.org', clientTenant: 'north' })]]);
    const item: FeedbackItem = {
      card: 'a',
      outcome: 'accepted',
      acceptedSuggestions: [{ id: 'a-s1' }],
      outcomeTimestamp: '2026-11-25T09:05:00Z',
    };
    for (const who of [
      { clientIss: 'https://other.example.org', clientTenant: 'north' },
      { clientIss: 'https://ehr.example.org', clientTenant: 'south' },
      { clientIss: 'https://ehr.example.org' },
      {},
    ]) {
      const p = problemOf(() => linkFeedback([item], { ...ctx, issued: mine, ...who }));
      expect(p.status).toBe(422);
      expect(p.outcome.issue[0]?.details?.text).toMatch(/was not issued by this Crosstalk/);
    }
    expect(
      linkFeedback([item], { ...ctx, issued: mine, clientIss: 'https://ehr.example.org', clientTenant: 'north' }),
    ).toHaveLength(1);
  });

  it('takes the rule, call and issue time from the card, and the override display from the reasons the card offered', () => {
    const items: FeedbackItem[] = [
      {
        card: 'a',
        outcome: 'accepted',
        acceptedSuggestions: [{ id: 'a-s1' }],
        outcomeTimestamp: '2026-11-25T09:05:00Z',
      },
      {
        card: 'b',
        outcome: 'overridden',
        overrideReason: { reason: { system: SYSTEM, code: 'confounded' } },
        outcomeTimestamp: '2026-11-25T09:06:00.52Z',
      },
    ];
    const EHR = 'https://ehr.example.org';
    const toEhr = new Map([...issued].map(([k, c]) => [k, { ...c, clientIss: EHR }]));
    const [a, b] = linkFeedback(items, { ...ctx, issued: toEhr, clientIss: EHR });
    expect(a).toEqual({
      cardUuid: 'a',
      outcome: 'accepted',
      outcomeAt: new Date('2026-11-25T09:05:00Z'),
      receivedAt: ctx.receivedAt,
      serviceId: 'bone-muscle-patient-view',
      ruleId: 'low-ccr',
      callId: 'call-a',
      cardIssuedAt: issuedAt,
      acceptedSuggestions: ['a-s1'],
      clientIss: 'https://ehr.example.org',
    });
    expect(b).toMatchObject({
      ruleId: 'missing-ccr-input',
      acceptedSuggestions: [],
      overrideReason: {
        system: SYSTEM,
        code: 'confounded',
        display: 'Labs confounded (e.g. steroids, thyroid, inflammation)',
      },
    });
    expect(b?.outcomeAt.getTime()).toBe(Date.parse('2026-11-25T09:06:00.520Z'));
  });

  it('keeps the display and comment a client sends, and a comment without a coded reason', () => {
    const [withDisplay, commentOnly] = linkFeedback(
      [
        {
          card: 'a',
          outcome: 'overridden',
          overrideReason: {
            reason: { system: 'urn:site:reasons', code: 'local', display: 'Local reason' },
            userComment: 'see note',
          },
          outcomeTimestamp: '2026-11-25T09:05:00Z',
        },
        {
          card: 'b',
          outcome: 'overridden',
          overrideReason: { userComment: 'not now' },
          outcomeTimestamp: '2026-11-25T09:05:00Z',
        },
      ],
      ctx,
    );
    expect(withDisplay?.overrideReason).toEqual({
      system: 'urn:site:reasons',
      code: 'local',
      display: 'Local reason',
      comment: 'see note',
    });
    expect(commentOnly?.overrideReason).toEqual({ comment: 'not now' });
  });

  it("keeps every reason Epic sends under overrideReasons (objects or bare Codings) beside the spec's overrideReason", () => {
    const items = parseFeedback({
      feedback: [
        {
          card: 'a',
          outcome: 'overridden',
          overrideReason: { reason: { system: SYSTEM, code: 'patient-declined' } },
          overrideReasons: [
            { reason: { system: SYSTEM, code: 'not-relevant' }, userComment: 'palliative' },
            { system: 'urn:epic:reasons', code: '7', display: 'Other' },
          ],
          outcomeTimestamp: '2026-11-25T09:05:00Z',
        },
        {
          card: 'b',
          outcome: 'overridden',
          overrideReasons: [{ system: 'urn:epic:reasons', code: '3', display: 'Not my patient' }],
          outcomeTimestamp: '2026-11-25T09:05:00Z',
        },
      ],
    });
    const [a, b] = linkFeedback(items, ctx);
    expect(a?.overrideReason).toEqual({ system: SYSTEM, code: 'patient-declined', display: 'Patient declined' });
    expect(a?.overrideReasons).toEqual([
      { system: SYSTEM, code: 'patient-declined', display: 'Patient declined' },
      {
        system: SYSTEM,
        code: 'not-relevant',
        display: 'Not clinically relevant now (e.g. palliative care, acute illness)',
        comment: 'palliative',
      },
      { system: 'urn:epic:reasons', code: '7', display: 'Other' },
    ]);
    // One reason, under the plural key only: it is the override's reason, and nothing else needs keeping.
    expect(b?.overrideReason).toEqual({ system: 'urn:epic:reasons', code: '3', display: 'Not my patient' });
    expect(b).not.toHaveProperty('overrideReasons');
  });

  it('keeps reasons sent with an accepted outcome too, rather than dropping what was accepted', () => {
    const [e] = linkFeedback(
      [
        {
          card: 'a',
          outcome: 'accepted',
          acceptedSuggestions: [{ id: 'a-s1' }],
          overrideReasons: [{ userComment: 'ordered at the next visit' }],
          outcomeTimestamp: '2026-11-25T09:05:00Z',
        },
      ],
      ctx,
    );
    expect(e).not.toHaveProperty('overrideReason');
    expect(e?.overrideReasons).toEqual([{ comment: 'ordered at the next visit' }]);
  });

  it('refuses an overrideReasons item that is neither a reason nor a Coding, naming it', () => {
    const p = problemOf(() =>
      parseFeedback({
        feedback: [
          {
            card: 'x',
            outcome: 'overridden',
            overrideReasons: [{ text: 'x' }],
            outcomeTimestamp: '2026-11-25T09:05:00Z',
          },
        ],
      }),
    );
    expect(p.status).toBe(400);
    expect(p.outcome.issue[0]?.diagnostics).toMatch(/\/feedback\/0\/overrideReasons\/0/);
  });

  it('refuses, entry by entry, unknown cards, cards of another service and suggestions not on the card', () => {
    const p = problemOf(() =>
      linkFeedback(
        [
          {
            card: 'a',
            outcome: 'accepted',
            acceptedSuggestions: [{ id: 'a-s1' }],
            outcomeTimestamp: '2026-11-25T09:05:00Z',
          },
          { card: 'nobody', outcome: 'overridden', outcomeTimestamp: '2026-11-25T09:05:00Z' },
          { card: 'elsewhere', outcome: 'overridden', outcomeTimestamp: '2026-11-25T09:05:00Z' },
          {
            card: 'b',
            outcome: 'accepted',
            acceptedSuggestions: [{ id: 'a-s1' }],
            outcomeTimestamp: '2026-11-25T09:05:00Z',
          },
        ],
        ctx,
      ),
    );
    expect(p.status).toBe(422);
    expect(p.outcome.issue.map((i) => [i.code, i.expression?.[0]])).toEqual([
      ['not-found', 'feedback[1].card'],
      ['invalid', 'feedback[2].card'],
      ['not-found', 'feedback[3].acceptedSuggestions'],
    ]);
    expect(p.outcome.issue[1]?.details?.text).toContain('another-service');
  });
});

describe('reading a feedback request', () => {
  it("accepts the spec's examples and tolerates unknown members", () => {
    expect(
      parseFeedback({
        feedback: [
          {
            card: 'x',
            outcome: 'accepted',
            acceptedSuggestions: [{ id: 'y' }],
            outcomeTimestamp: '1985-04-12T23:20:50.52Z',
            extension: { 'org.example': 1 },
          },
        ],
        note: 'extra',
      }),
    ).toHaveLength(1);
  });

  it('refuses an accepted outcome without the suggestions accepted, naming the entry', () => {
    const p = problemOf(() =>
      parseFeedback({ feedback: [{ card: 'x', outcome: 'accepted', outcomeTimestamp: '1985-04-12T23:20:50.52Z' }] }),
    );
    expect(p.status).toBe(400);
    expect(p.outcome.issue[0]?.diagnostics).toMatch(/\/feedback\/0 must have required property 'acceptedSuggestions'/);
  });
});
