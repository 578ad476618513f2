/**
 * The embedded demo's web side: the demo EHR page (/demo), the local SMART authorization server
 * (/demo/smart, with its discovery document on the embedded FHIR base) and a token check in front of /fhir.
 * Mounted only with the embedded FHIR server: it is how a newcomer sees the whole product after `npm start`.
 */
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { Patient } from 'fhir/r4';
import type { EmbeddedFhirServer } from './fhir-server';
import { DEMO_PATIENTS } from './patients';
import { createSmartAuthServer } from './smart-auth';

export interface DemoDeps {
  embeddedFhir: EmbeddedFhirServer;
  /** Per request: PUBLIC_BASE_URL, or without it the service's own origin the request came in on (app.ts `baseFor`). */
  publicBaseUrl: (req: Request) => string;
  /** The SMART app's registration, as the app itself is configured. */
  client: () => { clientId: string; redirectUris: string[] };
  /** The service's way of serving a built browser bundle (dist/web/<folder>) with its headers. */
  staticBundle: (folder: string, frameAncestors?: string) => RequestHandler;
}

/** GET /demo/ehr.json: what the demo EHR page shows and where its FHIR server is. */
export interface DemoEhrData {
  fhirBase: string;
  patients: { id: string; name: string; gender?: string; birthDate?: string; story?: string }[];
}

function nameOf(p: Patient): string {
  const n = p.name?.[0];
  return n ? [n.given?.join(' '), n.family].filter(Boolean).join(' ') : (p.id ?? '');
}

async function listPatients(fhir: EmbeddedFhirServer): Promise<DemoEhrData['patients']> {
  const bundle = await fhir.search('Patient', [['_count', '200']]);
  const stories = new Map(DEMO_PATIENTS.map((d) => [d.id, d.story]));
  return (bundle.entry ?? [])
    .map((e) => e.resource as Patient)
    .filter((p) => !!p?.id)
    .map((p) => ({
      id: p.id as string,
      name: nameOf(p),
      ...(p.gender ? { gender: p.gender } : {}),
      ...(p.birthDate ? { birthDate: p.birthDate } : {}),
      ...(stories.has(p.id as string) ? { story: stories.get(p.id as string) } : {}),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Must run before the embedded FHIR server is mounted at /fhir: the discovery document and the token check sit in front of it. */
export function mountDemo(app: Express, deps: DemoDeps): void {
  const fhirBase = (req: Request) => `${deps.publicBaseUrl(req)}/fhir`;
  const auth = createSmartAuthServer({
    fhirBase,
    authBase: (req) => `${deps.publicBaseUrl(req)}/demo/smart`,
    client: deps.client,
    patients: async () =>
      (await listPatients(deps.embeddedFhir)).map((p) => ({ id: p.id, label: `${p.name} (${p.id})` })),
  });
  app.get('/fhir/.well-known/smart-configuration', auth.wellKnown);
  // The launch-context API of the HSPC sandboxes, which the CDS Hooks Sandbox calls before it opens a card's
  // SMART link: {launchUrl, parameters: {patient, appContext?, smart_messaging_origin}} → 200 {launch_id}.
  // It sits in front of the token check: the Sandbox may send a token of its own FHIR server's.
  app.post('/fhir/_services/smart/Launch', express.json({ limit: '16kb' }), (req, res) => {
    const p = (req.body as { parameters?: { patient?: unknown; appContext?: unknown } } | undefined)?.parameters;
    const launchId = auth.createLaunch(p?.patient, p?.appContext);
    res.status(200).set('Cache-Control', 'no-store').json({ launch_id: launchId });
  });
  app.use('/fhir', auth.guard);
  app.use('/demo/smart', auth.router);
  app.get('/demo/ehr.json', async (req, res) => {
    const data: DemoEhrData = { fhirBase: fhirBase(req), patients: await listPatients(deps.embeddedFhir) };
    res.set('Cache-Control', 'no-store').json(data);
  });
  app.use('/demo', deps.staticBundle('demo', "'self'"));
  // A newcomer opening the service's root lands in the demo EHR.
  app.get('/', (_req, res) => res.redirect(302, '/demo/'));
}
