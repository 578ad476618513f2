/**
 * The demo's entry point: the embedded FHIR server with its synthetic patients, the demo EHR and the local SMART
 * sign-in, mounted into the service through the plugin interface (src/server/plugin.ts). Only the demo profile
 * loads this file (`--demo`, which `npm start` passes, or CROSSTALK_EMBEDDED_FHIR=true; src/server/main.ts loads
 * it by path), so a production process never loads medplum or any demo code.
 */
import type { PluginFactory } from '../server/plugin';
import { createEmbeddedFhirServer } from './fhir-server';
import { demoTransaction } from './patients';
import { mountDemo } from './routes';

export const demoPlugin: PluginFactory = async (config) => {
  if (!config.embeddedFhir) return undefined;
  const fhir = await createEmbeddedFhirServer();
  if (config.demoSeed) await fhir.seed(demoTransaction(new Date()));
  return {
    name: 'demo',
    servesFhir: true,
    mount(app, host) {
      // Browser apps on other origins read the embedded FHIR server and sign in with the local authorization server.
      app.use(
        ['/fhir', '/demo/smart'],
        host.cors(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], ['Location', 'WWW-Authenticate']),
      );
      mountDemo(app, {
        embeddedFhir: fhir,
        publicBaseUrl: host.baseFor,
        client: host.smartClient,
        staticBundle: host.staticBundle,
      });
      app.use('/fhir', fhir.router);
    },
  };
};
