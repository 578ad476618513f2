/**
 * launch.html: the SMART launch URL. An EHR opens it with `iss` and `launch` (EHR launch); opened without them
 * it makes a standalone launch against the configured FHIR server. fhirclient discovers the authorization
 * server from `{iss}/.well-known/smart-configuration` and redirects there; the answer comes back to index.html.
 */
import FHIR from 'fhirclient';
import { byId, h } from '../web/dom';
import type { LaunchConfig } from './contract';

function fail(message: string): void {
  const status = byId('status');
  status.setAttribute('role', 'alert');
  status.replaceChildren(h('strong', {}, 'Crosstalk could not start. '), message);
}

async function launch(): Promise<void> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) return fail(`The app's configuration could not be read (HTTP ${res.status}).`);
  const cfg = (await res.json()) as LaunchConfig;
  const params = new URL(window.location.href).searchParams;
  const ehrLaunch = params.has('launch');
  // fhirclient keeps the launch's state in this origin's sessionStorage: a sign-in that returns to another
  // origin finds nothing. Say exactly what to configure instead of sending the user there.
  const here = window.location.origin;
  const back = new URL(cfg.redirectUri, window.location.href).origin;
  if (back !== here) {
    const setting = cfg.redirectUriSetting ?? 'PUBLIC_BASE_URL';
    return fail(
      `This page is on ${here}, but the sign-in would return to ${cfg.redirectUri} (from ${setting}), another origin, where this launch's state does not exist. ` +
        `Open the app on ${back}, or set ${setting} to this origin (and register that redirect URI with the EHR), then restart Crosstalk.`,
    );
  }
  const iss = params.get('iss') ?? cfg.standaloneIss;
  if (!iss)
    return fail('No FHIR server was given: open the app from the EHR, or configure CROSSTALK_SMART_STANDALONE_ISS.');
  await FHIR.oauth2.authorize({
    clientId: cfg.clientId,
    scope: ehrLaunch ? cfg.scope.ehr : cfg.scope.standalone,
    redirectUri: cfg.redirectUri,
    iss,
    // Finish in this window even when the EHR opened it as a pop-up or frame: the app lives where it was launched.
    completeInTarget: true,
  });
}

launch().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
