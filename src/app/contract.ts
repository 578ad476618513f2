/* What the server hands the SMART app, as JSON under /app. Types only: the server serves these, the app reads them. */
import type { ServiceReads } from '../cds/reads';
import type { Knowledge } from '../clinical';

/** GET /app/config.json: what launch.html needs to start an EHR or standalone launch. */
export interface LaunchConfig {
  clientId: string;
  /** Scopes for an EHR launch (`launch`) and for a standalone launch (`launch/patient`). */
  scope: { ehr: string; standalone: string };
  redirectUri: string;
  /** The setting that fixed redirectUri, when one did: named if the page is on another origin. */
  redirectUriSetting?: 'CROSSTALK_SMART_REDIRECT_URI' | 'PUBLIC_BASE_URL';
  /** FHIR base for a standalone launch when launch.html gets no `iss`. */
  standaloneIss?: string;
}

/** GET /app/knowledge.json: the merged, validated knowledge the server runs, and the rules patient-view runs. */
export interface KnowledgeBundle {
  knowledge: Knowledge;
  rules: string[];
  /** The patient-view services' reads: the app runs the same queries the EHR's prefetch answers. */
  reads: ServiceReads;
}
