/*
 * How something optional (the embedded demo) joins the service without the service knowing it. A plugin is
 * handed to start() by its own entry point; production code names no plugin, so nothing of one (medplum's FHIR
 * server, for the demo) is loaded in a production process (test/production-loads.test.ts checks this).
 */
import type { Express, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AppConfig } from './config';

/** What the service lends a plugin when it mounts: its own settings, so a plugin re-implements none of them. */
export interface PluginHost {
  config: AppConfig;
  logger: Logger;
  /** PUBLIC_BASE_URL, or without it the service's own origin the request came in on. */
  baseFor(req: Request): string;
  /** The SMART app's registration: its client id, and its redirect URI on each origin the service answers on. */
  smartClient(): { clientId: string; redirectUris: string[] };
  /** CORS as configured for the CDS endpoints (CROSSTALK_CORS_ORIGINS), with these methods and exposed headers. */
  cors(methods: string[], exposedHeaders?: string[]): RequestHandler;
  /** A folder of dist/web served with the service's headers; its pages load and fetch from their own origin only. */
  staticBundle(folder: string, frameAncestors?: string): RequestHandler;
}

export interface ServicePlugin {
  name: string;
  /** Serves a FHIR server at /fhir: the SMART app's standalone launch goes there. */
  servesFhir?: boolean;
  /** Adds the plugin's routes; runs after the CDS, operations and admin routes, before the SMART app and the 404. */
  mount(app: Express, host: PluginHost): void;
}

/**
 * Builds a plugin once the configuration is loaded and checked; answers undefined when the configuration leaves
 * it off (a demo entry point started with CROSSTALK_EMBEDDED_FHIR=false).
 */
export type PluginFactory = (config: AppConfig, logger: Logger) => Promise<ServicePlugin | undefined>;
