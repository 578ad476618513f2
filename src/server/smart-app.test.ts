import { describe, expect, it } from 'vitest';
import { loadServices } from '../cds/services';
import { loadConfig } from './config';
import { appLaunchUrl, appReads, launchConfig, smartScopes } from './smart-app';

const services = loadServices();
const reads = appReads(services);
const types = [
  'Patient',
  'Observation',
  'MedicationRequest',
  'MedicationStatement',
  'MedicationAdministration',
  'MedicationDispense',
  'Condition',
  'DiagnosticReport',
  'ServiceRequest',
  'Procedure',
  'Encounter',
];

describe('the SMART app’s launch configuration', () => {
  it('reads what patient-view reads: its prefetch templates, its required keys and its context domains', () => {
    const pv = [...services.values()].find((s) => s.definition.discovery.hook === 'patient-view')!.definition;
    expect(reads.templates).toEqual(pv.discovery.prefetch);
    expect(reads.patientKey).toBe(pv.patientKey);
    expect(reads.required).toEqual(pv.required);
    expect(reads.contextDomains).toEqual(pv.contextDomains);
  });

  it('requests read access to exactly the resource types those templates read, in SMART v1 or v2 syntax', () => {
    const v1 = types.map((t) => `patient/${t}.read`).join(' ');
    const v2 = types.map((t) => `patient/${t}.rs`).join(' ');
    expect(launchConfig(loadConfig({}), false, reads).scope).toEqual({
      ehr: `launch ${v1}`,
      standalone: `launch/patient ${v1}`,
    });
    expect(smartScopes('v2', types)).toEqual({ ehr: `launch ${v2}`, standalone: `launch/patient ${v2}` });
  });

  it('defaults to client id crosstalk, v1 scopes and a redirect URI under the public base URL', () => {
    const c = loadConfig({ PUBLIC_BASE_URL: 'https://cds.hospital.example/crosstalk' });
    expect(c.smart).toEqual({ enabled: true, clientId: 'crosstalk', scopeVersion: 'v1' });
    expect(appLaunchUrl(c.publicBaseUrl)).toBe('https://cds.hospital.example/crosstalk/app/launch.html');
    expect(launchConfig(c, false, reads)).toEqual({
      clientId: 'crosstalk',
      scope: smartScopes('v1', types),
      redirectUri: 'https://cds.hospital.example/crosstalk/app/index.html',
      redirectUriSetting: 'PUBLIC_BASE_URL',
    });
    expect(launchConfig(c, true, reads).standaloneIss).toBe('https://cds.hospital.example/crosstalk/fhir');
  });

  it('takes the client id, scope syntax, redirect URI and standalone FHIR server from configuration', () => {
    const c = loadConfig({
      CROSSTALK_SMART_CLIENT_ID: 'epic-0a1b2c',
      CROSSTALK_SMART_SCOPE_VERSION: 'v2',
      CROSSTALK_SMART_REDIRECT_URI: 'https://apps.hospital.example/crosstalk/index.html',
      CROSSTALK_SMART_STANDALONE_ISS: 'https://fhir.hospital.example/r4',
    });
    expect(launchConfig(c, true, reads)).toEqual({
      clientId: 'epic-0a1b2c',
      scope: smartScopes('v2', types),
      redirectUri: 'https://apps.hospital.example/crosstalk/index.html',
      redirectUriSetting: 'CROSSTALK_SMART_REDIRECT_URI',
      standaloneIss: 'https://fhir.hospital.example/r4',
    });
  });

  it('refuses values an authorization server would reject, naming the key', () => {
    expect(() => loadConfig({ CROSSTALK_SMART_SCOPE_VERSION: 'v3' })).toThrow(/CROSSTALK_SMART_SCOPE_VERSION/);
    expect(() => loadConfig({ CROSSTALK_SMART_CLIENT_ID: 'has spaces' })).toThrow(/CROSSTALK_SMART_CLIENT_ID/);
    expect(() => loadConfig({ CROSSTALK_SMART_REDIRECT_URI: 'index.html' })).toThrow(/CROSSTALK_SMART_REDIRECT_URI/);
    expect(() => loadConfig({ CROSSTALK_SMART_STANDALONE_ISS: 'https://fhir.example/r4/' })).toThrow(
      /CROSSTALK_SMART_STANDALONE_ISS/,
    );
    expect(() => loadConfig({ CROSSTALK_SMART_APP: 'yes' })).toThrow(/CROSSTALK_SMART_APP/);
  });
});
