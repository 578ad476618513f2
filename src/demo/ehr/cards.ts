/** CDS Hooks cards drawn the way an EHR shows them: indicator, summary, source, detail, suggestions, links, dismiss. */
import type { Card, Coding, Link, Suggestion } from '../../cds/types';
import { h } from '../../web/dom';
import { safeMarkdown } from './markdown';

export interface CardHandlers {
  accept(card: Card, suggestion: Suggestion): Promise<void>;
  dismiss(card: Card, reason: Coding | undefined, comment: string): Promise<void>;
  launch(card: Card, link: Link): Promise<void>;
}

const INDICATOR_TEXT: Record<Card['indicator'], string> = { info: 'Info', warning: 'Warning', critical: 'Critical' };

let seq = 0;

function dismissForm(card: Card, handlers: CardHandlers, done: () => void): HTMLFormElement {
  const id = `dismiss-${++seq}`;
  const reasons = card.overrideReasons ?? [];
  const select = h(
    'select',
    { id: `${id}-reason`, name: 'reason' },
    h('option', { value: '' }, 'No reason given'),
    reasons.map((r, i) => h('option', { value: String(i) }, r.display ?? r.code)),
  );
  const comment = h('textarea', { id: `${id}-comment`, name: 'comment', rows: '2', maxlength: '500' });
  const form = h(
    'form',
    { class: 'dismiss-form', hidden: true },
    h('label', { for: select.id }, 'Reason for dismissing'),
    select,
    h('label', { for: comment.id }, 'Comment (optional)'),
    comment,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, 'Dismiss card'),
      h('button', { type: 'button', class: 'quiet', onclick: () => (form.hidden = true) }, 'Cancel'),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const reason = select.value === '' ? undefined : reasons[Number(select.value)];
    void handlers.dismiss(card, reason, comment.value.trim()).then(done);
  });
  return form;
}

export function renderCard(card: Card, handlers: CardHandlers): HTMLElement {
  const headingId = `card-${++seq}`;
  const status = h('p', { class: 'card-status', role: 'status' });
  const article = h('article', {
    class: `cds-card indicator-${card.indicator}`,
    'data-indicator': card.indicator,
    'data-rule': card.extension?.crosstalk?.ruleId,
    'aria-labelledby': headingId,
  });
  const buttons: HTMLButtonElement[] = [];
  const settle = (text: string) => {
    for (const b of buttons) b.disabled = true;
    status.textContent = text;
    article.classList.add('settled');
  };

  const suggestions = (card.suggestions ?? []).map((s) => {
    const b = h('button', { type: 'button', class: 'accept' }, `Accept: ${s.label}`);
    b.addEventListener('click', () => void handlers.accept(card, s).then(() => settle(`Accepted: ${s.label}`)));
    buttons.push(b);
    return b;
  });
  const links = (card.links ?? []).map((l) => {
    if (l.type === 'smart') {
      const b = h('button', { type: 'button', class: 'app-link' }, l.label);
      b.addEventListener('click', () => void handlers.launch(card, l));
      return b;
    }
    return h('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer', class: 'app-link' }, l.label);
  });
  const form = dismissForm(card, handlers, () => {
    form.hidden = true;
    settle('Dismissed');
  });
  const dismiss = h('button', { type: 'button', class: 'quiet dismiss' }, 'Dismiss…');
  dismiss.addEventListener('click', () => {
    form.hidden = false;
    form.querySelector('select')?.focus();
  });
  buttons.push(dismiss);

  const detail = h('div', { class: 'detail' });
  // The only HTML that enters the page, and only after sanitising (markdown.ts).
  if (card.detail) detail.innerHTML = safeMarkdown(card.detail);

  article.append(
    h(
      'header',
      {},
      h('span', { class: 'indicator' }, INDICATOR_TEXT[card.indicator]),
      h('h3', { id: headingId }, card.summary),
      h(
        'p',
        { class: 'source' },
        'Source: ',
        card.source.url
          ? h('a', { href: card.source.url, target: '_blank', rel: 'noopener noreferrer' }, card.source.label)
          : card.source.label,
      ),
    ),
    detail,
    h('div', { class: 'card-actions' }, suggestions, links, dismiss),
    form,
    status,
  );
  return article;
}
