/**
 * index.html: the SMART app after launch. It completes the OAuth exchange, reads the patient's labs from the
 * EHR's FHIR server, and runs the same clinical engine as the CDS service on them, in the browser.
 */
import FHIR from 'fhirclient';
import type Client from 'fhirclient/lib/Client';
import { parseAppContext } from '../cds/app-context';
import { type ContextDomain, DEFAULT_RULES, domainText, evaluatePatient, measureTrends } from '../clinical';
import { byId, h } from '../web/dom';
import type { KnowledgeBundle } from './contract';
import { failureKind, readRecordOf } from './record';
import { renderSourceAttributes } from './source-attributes';
import { APP_TEXT } from './strings';
import {
  renderBanner,
  renderExcluded,
  renderFindings,
  renderMeasures,
  renderMissing,
  renderTrends,
  renderWhy,
  ruleTitle,
  type View,
} from './view';

type State = 'loading' | 'ready' | 'no-data' | 'error' | 'expired';

function setState(state: State, ...content: (Node | string)[]): void {
  const status = byId('status');
  status.dataset.state = state;
  document.body.dataset.state = state;
  // Problems interrupt (alert); progress and results are announced politely.
  status.setAttribute('role', state === 'error' || state === 'expired' ? 'alert' : 'status');
  status.replaceChildren(...content);
  status.hidden = state === 'ready';
}

function showExpired(): void {
  byId('content').hidden = true;
  setState(
    'expired',
    h('strong', {}, 'Your session has ended.'),
    ' The EHR sign-in for this app has expired or was closed. Open Crosstalk again from the patient’s chart (or the card’s link) to continue.',
  );
}

/** The sign-in came back here, but the launch began elsewhere: a configuration problem, not an ended session. */
function showStrayReturn(): void {
  byId('content').hidden = true;
  setState(
    'error',
    h('strong', {}, 'The sign-in returned to a page that did not start it. '),
    `The EHR sent the sign-in back to ${window.location.origin}${window.location.pathname}, but the launch did not begin on this origin in this tab, so its state is not here. ` +
      'launch.html and the redirect URI must be on the same origin: check PUBLIC_BASE_URL and CROSSTALK_SMART_REDIRECT_URI, and the redirect URI registered with the EHR. ' +
      'If the launch did start here, open Crosstalk again from the EHR.',
  );
}

function showError(text: string, retry?: () => void): void {
  byId('content').hidden = true;
  setState(
    'error',
    h('strong', {}, 'The patient’s record could not be read. '),
    text,
    ...(retry ? [' ', h('button', { type: 'button', class: 'retry', onclick: retry }, 'Try again')] : []),
  );
}

async function loadKnowledge(): Promise<KnowledgeBundle> {
  const res = await fetch('knowledge.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`Crosstalk's clinical knowledge could not be loaded (HTTP ${res.status}).`);
  return (await res.json()) as KnowledgeBundle;
}

/** Opens on the card's finding when the token response names one; if it no longer fires, on the reason why. */
function appContextOf(client: Client) {
  return parseAppContext((client.state.tokenResponse as { appContext?: unknown } | undefined)?.appContext);
}

function focusAppContext(client: Client, v: View): void {
  const ctx = appContextOf(client);
  if (!ctx) return;
  const notice = byId('focus-notice');
  const finding = document.getElementById(`finding-${ctx.ruleId}`);
  const target = finding ?? document.getElementById(`outcome-${ctx.ruleId}`);
  if (!target) return;
  target.classList.add('focused');
  target.setAttribute('aria-current', 'true');
  // Inside the focused item, so it is in view with it at any frame size.
  target.prepend(notice);
  notice.hidden = false;
  // The finding's summary is its heading just below: the notice does not say it a second time.
  notice.replaceChildren(
    finding
      ? APP_TEXT.answer.openedFrom
      : `Opened from a card about “${ruleTitle(ctx.ruleId, v.knowledge)}”, which no longer applies; here is why.`,
  );
  const heading = (finding?.querySelector('h3') as HTMLElement | null) ?? target;
  target.scrollIntoView({ block: 'start' });
  heading.focus({ preventScroll: true });
}

async function load(client: Client): Promise<void> {
  setState('loading', 'Reading the patient’s record…');
  let bundle: KnowledgeBundle;
  try {
    bundle = await loadKnowledge();
  } catch (e) {
    return showError((e as Error).message, () => void load(client));
  }
  let record;
  try {
    record = await readRecordOf(client, bundle.reads);
  } catch (e) {
    const f = failureKind(e);
    if (f.kind === 'expired') return showExpired();
    return showError(`${f.detail[0]?.toUpperCase()}${f.detail.slice(1)}.`, () => void load(client));
  }

  const asOf = new Date();
  const rules = bundle.rules.map((id) => DEFAULT_RULES.find((r) => r.id === id)).filter((r) => !!r);
  const evaluation = evaluatePatient(record, bundle.knowledge, asOf, rules);
  const trends = measureTrends(evaluation.patient, evaluation.labs, bundle.knowledge, asOf);
  // Domains the record could not give (a failed read, a resource set aside): the first screen says so.
  const domains = new Set<ContextDomain>([
    ...(record.unavailable ?? []),
    ...(record.unreadable ?? []).map((u) => u.domain),
  ]);
  const v: View = {
    evaluation,
    trends,
    knowledge: bundle.knowledge,
    patient: record.patient,
    fhirBase: client.state.serverUrl,
    unchecked: [...domains].map((d) => domainText(bundle.knowledge, d)),
  };

  byId('patient-banner').replaceChildren(renderBanner(record.patient, asOf));
  const content = byId('content');
  content.dataset.asOf = asOf.toISOString();
  content.dataset.patient = evaluation.patient.reference;
  byId('as-of').textContent =
    `Computed in this browser by the Crosstalk engine (clinical knowledge ${bundle.knowledge.version}) at ${asOf.toISOString().slice(0, 16).replace('T', ' ')} UTC.`;
  const charts = renderTrends(v);
  const excluded = renderExcluded(v);
  byId('answer').replaceChildren(renderFindings(v, appContextOf(client)?.ruleId));
  byId('sections').replaceChildren(
    renderMeasures(v),
    charts.section,
    renderWhy(v),
    renderMissing(v, asOf),
    ...(excluded ? [excluded] : []),
    renderSourceAttributes(bundle.knowledge, bundle.rules),
  );
  byId('nav-excluded').hidden = !excluded;
  content.hidden = false;
  charts.draw();

  if (!evaluation.labs.length && !evaluation.rejected.length) {
    setState(
      'no-data',
      h('strong', {}, 'No results to work with. '),
      'This patient has no creatinine, cystatin C, insulin or glucose results on file. “Missing data and what to order” below lists what would let Crosstalk read the muscle and bone signals.',
    );
    byId('status').hidden = false;
  } else {
    setState('ready', `Loaded ${evaluation.labs.length} results.`);
  }
  focusAppContext(client, v);
}

async function main(): Promise<void> {
  setState('loading', 'Completing the sign-in with the EHR…');
  const refused = new URL(window.location.href).searchParams;
  if (refused.has('error')) {
    return showError(
      `The EHR refused the sign-in: ${refused.get('error_description') ?? refused.get('error')}. Open the app again from the EHR.`,
    );
  }
  let client: Client;
  try {
    client = await FHIR.oauth2.ready();
  } catch {
    // An authorization answer (code and state) whose state this tab never stored: the launch began on another
    // origin or tab. Anything else is no launch state (opened directly, reloaded after the EHR ended the session).
    const state = refused.get('state');
    if (refused.has('code') && state && sessionStorage.getItem(state) === null) return showStrayReturn();
    return showExpired();
  }
  byId('reload').addEventListener('click', () => void load(client));
  await load(client);
}

main().catch(() => showError('An unexpected error stopped the app.'));
