/**
 * The demo EHR: pick a synthetic patient, fire patient-view at Crosstalk like an EHR does (discovery, prefetch
 * from its own FHIR server, call), show the cards, send feedback, and launch the SMART app from a card link.
 */
import type { FhirResource } from 'fhir/r4';
import { fillTokens } from '../../cds/reads';
import type { DiscoveryEntry } from '../../cds/services';
import type { Card, CdsResponse, Coding, Link, Suggestion } from '../../cds/types';
import { byId, h, uuid } from '../../web/dom';
import type { DemoEhrData } from '../routes';
import { renderCard } from './cards';

const USER = 'Practitioner/demo-clinician';

let data: DemoEhrData;
let services: DiscoveryEntry[] = [];
let current: string | undefined;

function say(el: HTMLElement, text: string, kind: 'info' | 'error' = 'info'): void {
  el.textContent = text;
  el.dataset.kind = kind;
}

function log(text: string): void {
  byId('feedback-log').prepend(h('li', {}, `${new Date().toISOString().slice(11, 19)} ${text}`));
}

/**
 * Fills a prefetch template's tokens from the hook context, as a CDS client must (CDS Hooks 2.0, 'Prefetch tokens'),
 * and percent-encodes every query value, as the service itself does.
 */
function fill(template: string, patientId: string): string {
  const t = template.replace(/\{\{userPractitionerId\}\}/g, encodeURIComponent(USER.split('/')[1] as string));
  return fillTokens('prefetch', t, { patientId, userId: USER });
}

/** Runs each prefetch template against the EHR's FHIR server; a key that fails is left out, so the service fetches it. */
async function prefetch(service: DiscoveryEntry, patientId: string): Promise<Record<string, FhirResource | null>> {
  const out: Record<string, FhirResource | null> = {};
  await Promise.all(
    Object.entries(service.prefetch ?? {}).map(async ([key, template]) => {
      const res = await fetch(`${data.fhirBase}/${fill(template, patientId)}`, {
        headers: { accept: 'application/fhir+json' },
      });
      if (res.status === 404 && !template.includes('?')) out[key] = null;
      else if (res.ok) out[key] = (await res.json()) as FhirResource;
    }),
  );
  return out;
}

async function sendFeedback(serviceId: string, entry: Record<string, unknown>): Promise<void> {
  try {
    const res = await fetch(`/cds-services/${encodeURIComponent(serviceId)}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ feedback: [{ ...entry, outcomeTimestamp: new Date().toISOString() }] }),
    });
    if (res.ok) log(`Feedback sent to ${serviceId}: ${String(entry.outcome)} (HTTP ${res.status}).`);
    else if (res.status === 404)
      log(`${serviceId} takes no feedback (HTTP 404): the ${String(entry.outcome)} choice stays in this EHR.`);
    else log(`Feedback to ${serviceId} failed (HTTP ${res.status}).`);
  } catch {
    log(`Feedback to ${serviceId} could not be sent (network error).`);
  }
}

async function launchApp(link: Link, patientId: string): Promise<void> {
  // Open the window inside the click, before any await, so pop-up blockers let it through.
  const win = window.open('about:blank', '_blank');
  const res = await fetch('smart/launch', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ patient: patientId, ...(link.appContext ? { appContext: link.appContext } : {}) }),
  });
  if (!res.ok) {
    win?.close();
    return log(`The app could not be launched (HTTP ${res.status}).`);
  }
  const { launch } = (await res.json()) as { launch: string };
  const url = new URL(link.url);
  url.searchParams.set('iss', data.fhirBase);
  url.searchParams.set('launch', launch);
  log(`Launched the Crosstalk app (${link.label}).`);
  if (win) {
    win.opener = null;
    win.location.href = url.toString();
  } else {
    window.location.href = url.toString();
  }
}

function handlersFor(serviceId: string, patientId: string) {
  return {
    async accept(card: Card, s: Suggestion) {
      for (const a of s.actions ?? []) {
        const r = a.resource as { resourceType?: string; code?: { text?: string } } | undefined;
        byId('orders').append(h('li', {}, `${a.description}`, r?.resourceType ? ` (draft ${r.resourceType})` : ''));
      }
      byId('orders-empty').hidden = true;
      await sendFeedback(serviceId, { card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: s.uuid }] });
    },
    async dismiss(card: Card, reason: Coding | undefined, comment: string) {
      const overrideReason =
        reason || comment
          ? {
              ...(reason ? { reason: { system: reason.system, code: reason.code } } : {}),
              ...(comment ? { userComment: comment } : {}),
            }
          : undefined;
      await sendFeedback(serviceId, {
        card: card.uuid,
        outcome: 'overridden',
        ...(overrideReason ? { overrideReason } : {}),
      });
    },
    launch: (_card: Card, link: Link) => launchApp(link, patientId),
  };
}

async function openChart(patientId: string): Promise<void> {
  const p = data.patients.find((x) => x.id === patientId);
  if (!p) return;
  current = patientId;
  document
    .querySelectorAll<HTMLButtonElement>('#patient-list button')
    .forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.id === patientId)));
  byId('patient-header').replaceChildren(
    h('h2', { id: 'patient-h', tabindex: '-1' }, p.name),
    h(
      'p',
      { class: 'facts' },
      [p.gender, p.birthDate ? `born ${p.birthDate}` : undefined, `id ${p.id}`].filter(Boolean).join(' · '),
    ),
    ...(p.story ? [h('p', { class: 'story' }, p.story)] : []),
  );
  byId('chart').hidden = false;
  byId('pick-hint').hidden = true;
  byId('orders').replaceChildren();
  byId('orders-empty').hidden = false;
  const cards = byId('cards');
  const status = byId('cds-status');
  cards.replaceChildren();
  cards.setAttribute('aria-busy', 'true');
  say(status, 'Asking decision support (patient-view)…');
  if (window.location.hash !== `#patient=${patientId}`) history.replaceState(null, '', `#patient=${patientId}`);

  let shown = 0;
  try {
    for (const s of services) {
      const body = {
        hook: 'patient-view',
        hookInstance: uuid(),
        context: { userId: USER, patientId },
        prefetch: await prefetch(s, patientId),
      };
      const res = await fetch(`/cds-services/${encodeURIComponent(s.id)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (current !== patientId) return;
      if (!res.ok) {
        say(status, `${s.title} answered HTTP ${res.status}.`, 'error');
        continue;
      }
      const answer = (await res.json()) as CdsResponse;
      for (const c of answer.cards) cards.append(renderCard(c, handlersFor(s.id, patientId)));
      shown += answer.cards.length;
    }
    if (status.dataset.kind !== 'error')
      say(
        status,
        shown
          ? `${shown} card${shown > 1 ? 's' : ''} from decision support.`
          : 'No cards: decision support has nothing to add for this patient.',
      );
  } catch {
    say(status, 'Decision support could not be reached.', 'error');
  } finally {
    cards.setAttribute('aria-busy', 'false');
    cards.dataset.loaded = 'true';
  }
}

async function main(): Promise<void> {
  const [ehr, discovery] = await Promise.all([
    fetch('ehr.json').then((r) => r.json() as Promise<DemoEhrData>),
    fetch('/cds-services', { headers: { accept: 'application/json' } }).then(
      (r) => r.json() as Promise<{ services: DiscoveryEntry[] }>,
    ),
  ]);
  data = ehr;
  services = discovery.services.filter((s) => s.hook === 'patient-view');
  byId('patient-list').replaceChildren(
    ...data.patients.map((p) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            'data-id': p.id,
            'aria-pressed': 'false',
            onclick: () => void openChart(p.id).then(() => byId('patient-h').focus()),
          },
          h('span', { class: 'name' }, p.name),
          h('span', { class: 'pid' }, p.id),
        ),
      ),
    ),
  );
  const fromHash = /^#patient=([A-Za-z0-9\-.]{1,64})$/.exec(window.location.hash)?.[1];
  if (fromHash) await openChart(fromHash);
}

main().catch(() =>
  say(byId('ehr-status'), 'The demo EHR could not start: is Crosstalk running with its embedded FHIR server?', 'error'),
);
