import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { appLaunchUrl, launchConfig, smartScopes } from './smart-app';

describe('the SMART app’s launch configuration', () => {
  it('requests read access to the patient and their Observations, in SMART v1 or v2 syntax', () => {
    expect(smartScopes('v1')).toEqual({ ehr: 'launch patient/Patient.read patient/Observation.read', standalone: 'launch/patient patient/Patient.read patient/Observation.read' });
    expect(smartScopes('v2')).toEqual({ ehr: 'launch patient/Patient.rs patient/Observation.rs', standalone: 'launch/patient patient/Patient.rs patient/Observation.rs' });
  });

  it('defaults to client id crosstalk, v1 scopes and a redirect URI under the public base URL', () => {
    const c = loadConfig({ PUBLIC_BASE_URL: 'https://cds.hospital.example/crosstalk' });
    expect(c.smart).toEqual({ enabled: true, clientId: 'crosstalk', scopeVersion: 'v1' });
    expect(appLaunchUrl(c)).toBe('https://cds.hospital.example/crosstalk/app/launch.html');
    expect(launchConfig(c, false)).toEqual({ clientId: 'crosstalk', scope: smartScopes('v1'), redirectUri: 'https://cds.hospital.example/crosstalk/app/index.html' });
    expect(launchConfig(c, true).standaloneIss).toBe('https://cds.hospital.example/crosstalk/fhir');
  });

  it('takes the client id, scope syntax, redirect URI and standalone FHIR server from configuration', () => {
    const c = loadConfig({
      CROSSTALK_SMART_CLIENT_ID: 'epic-0a1b2c',
      CROSSTALK_SMART_SCOPE_VERSION: 'v2',
      CROSSTALK_SMART_REDIRECT_URI: 'https://apps.hospital.example/crosstalk/index.html',
      CROSSTALK_SMART_STANDALONE_ISS: 'https://fhir.hospital.example/r4',
    });
    expect(launchConfig(c, true)).toEqual({
      clientId: 'epic-0a1b2c',
      scope: smartScopes('v2'),
      redirectUri: 'https://apps.hospital.example/crosstalk/index.html',
      standaloneIss: 'https://fhir.hospital.example/r4',
    });
  });

  it('refuses values an authorization server would reject, naming the key', () => {
    expect(() => loadConfig({ CROSSTALK_SMART_SCOPE_VERSION: 'v3' })).toThrow(/CROSSTALK_SMART_SCOPE_VERSION/);
    expect(() => loadConfig({ CROSSTALK_SMART_CLIENT_ID: 'has spaces' })).toThrow(/CROSSTALK_SMART_CLIENT_ID/);
    expect(() => loadConfig({ CROSSTALK_SMART_REDIRECT_URI: 'index.html' })).toThrow(/CROSSTALK_SMART_REDIRECT_URI/);
    expect(() => loadConfig({ CROSSTALK_SMART_STANDALONE_ISS: 'https://fhir.example/r4/' })).toThrow(/CROSSTALK_SMART_STANDALONE_ISS/);
    expect(() => loadConfig({ CROSSTALK_SMART_APP: 'yes' })).toThrow(/CROSSTALK_SMART_APP/);
  });
});
