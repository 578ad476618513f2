import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { briefFrom, sharedText } from '../clinical/text';
import type { Finding } from '../clinical/types';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { compileSchema, formatErrors } from '../config/schemas';
import { RULE_TOPIC_SYSTEM, renderCard, ruleTitleIn } from './cards';
import {
  checkProfilesAgainstServices,
  discoveryFor,
  EHR_PROFILES_FILE,
  type EhrProfiles,
  loadEhrProfiles,
  profileNamed,
  selectionBehaviorFor,
} from './ehr-profiles';
import { loadServices } from './services';

const k = loadKnowledgeSync();
const services = loadServices();
const patientView = services.get('bone-muscle-patient-view')!;
const profiles = loadEhrProfiles();
const validateResponse = compileSchema('cds-response.schema.json');

const write = (o: unknown) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-prof-')), 'profiles.json');
  fs.writeFileSync(f, JSON.stringify(o));
  return f;
};

/** A glucocorticoid finding with two order sets: the DXA, and the creatinine + cystatin C pair (two orders). */
function finding(): Finding {
  return {
    ruleId: 'glucocorticoid-bone',
    indicator: 'warning',
    summary: 'Long-term prednisone 7.5 mg/day with no bone assessment: order DXA with VFA',
    statements: [],
    measures: [],
    context: [],
    caveats: [],
    citations: [{ label: 'ACR 2022', url: 'https://example.org/acr-2022' } as Finding['citations'][number]],
    suggestions: [
      {
        label: 'Order DXA with vertebral fracture assessment (VFA)',
        orders: [
          { system: 'http://loinc.org', code: '38269-7', display: 'DXA bone density', provenance: 'test order' },
        ],
      },
      {
        label: 'Order creatinine and cystatin C',
        orders: [
          { system: 'http://loinc.org', code: '2160-0', display: 'Creatinine', provenance: 'test order' },
          { system: 'http://loinc.org', code: '33863-2', display: 'Cystatin C', provenance: 'test order' },
        ],
      },
    ],
    brief: {
      advisory: sharedText(k, 'advisory'),
      appLink: sharedText(k, 'appLink'),
      ...briefFrom(k.rules['glucocorticoid-bone'].text),
      found: ['**Prednisone 7.5 mg/day** since 2026-07-05.'],
    },
  } as Finding;
}

const render = (profile: string) =>
  renderCard(finding(), {
    service: patientView,
    patientId: 'p1',
    knowledgeVersion: k.version,
    appLaunchUrl: 'https://crosstalk.example.org/app/launch.html',
    profile: profileNamed(profiles, profile),
    ruleTitle: ruleTitleIn(k),
  });

describe('the EHR profiles file', () => {
  it('defines generic, epic and oracle, and names only prefetch keys the services have', () => {
    expect(Object.keys(profiles.profiles).sort()).toEqual(['epic', 'generic', 'oracle']);
    expect(() => checkProfilesAgainstServices(profiles, services.values())).not.toThrow();
  });

  it('stops start-up on a profile that is not valid, naming the file and the field', () => {
    const raw = JSON.parse(fs.readFileSync(EHR_PROFILES_FILE, 'utf8')) as EhrProfiles;
    const bad = structuredClone(raw);
    (bad.profiles.epic as { selectionBehaviors: string[] }).selectionBehaviors = ['some'];
    expect(() => loadEhrProfiles(write(bad))).toThrow(/profiles\.json: \/profiles\/epic\/selectionBehaviors/);
    const noGeneric = structuredClone(raw) as { profiles: Record<string, unknown> };
    delete noGeneric.profiles.generic;
    expect(() => loadEhrProfiles(write(noGeneric))).toThrow(/generic/);
  });

  it('refuses a profile that names a prefetch key no service on that hook has', () => {
    const p = structuredClone(profiles);
    p.profiles.oracle = { ...p.profiles.oracle!, prefetch: { 'patient-view': ['patient', 'creatinin'] } };
    expect(() => checkProfilesAgainstServices(p, services.values())).toThrow(/"creatinin"/);
  });

  it('answers an unknown or absent profile name with generic', () => {
    expect(profileNamed(profiles, undefined)).toBe(profiles.profiles.generic);
    expect(profileNamed(profiles, 'nope')).toBe(profiles.profiles.generic);
  });
});

describe('discovery as each EHR sees it', () => {
  it('gives Oracle Health no prefetch on patient-view (it sends none), and every other EHR all of it', () => {
    const d = patientView.definition.discovery;
    expect(discoveryFor(profileNamed(profiles, 'oracle'), d)).not.toHaveProperty('prefetch');
    expect(discoveryFor(profileNamed(profiles, 'oracle'), d).id).toBe(d.id);
    for (const p of ['generic', 'epic'])
      expect(discoveryFor(profileNamed(profiles, p), d).prefetch).toEqual(d.prefetch);
    const validate = compileSchema('discovery-response.schema.json');
    for (const p of Object.values(profiles.profiles))
      expect(validate({ services: [...services.values()].map((s) => discoveryFor(p, s.definition.discovery)) })).toBe(
        true,
      );
  });
});

describe('a card for each EHR', () => {
  it('carries source.topic naming its rule (system, rule id, rule title) for every profile', () => {
    for (const p of Object.keys(profiles.profiles)) {
      const card = render(p);
      expect(card.source.topic).toEqual({
        system: RULE_TOPIC_SYSTEM,
        code: 'glucocorticoid-bone',
        display: k.rules['glucocorticoid-bone'].title,
      });
      expect(validateResponse({ cards: [card] }), `${p}: ${formatErrors(validateResponse.errors)}`).toBe(true);
    }
  });

  it('for Epic: selectionBehavior any and one action per suggestion, with every order still offered', () => {
    const card = render('epic');
    expect(card.selectionBehavior).toBe('any');
    expect(card.suggestions!.every((s) => s.actions?.length === 1)).toBe(true);
    const codes = (c: typeof card) =>
      c.suggestions!.flatMap((s) =>
        s.actions!.map((a) => (a.resource as { code: { coding: { code: string }[] } }).code.coding[0]!.code),
      );
    expect(codes(card)).toEqual(codes(render('generic')));
    expect(card.suggestions!.map((s) => s.label)).toEqual([
      'Order DXA with vertebral fracture assessment (VFA)',
      'Order creatinine and cystatin C: Creatinine',
      'Order creatinine and cystatin C: Cystatin C',
    ]);
    expect(new Set(card.suggestions!.map((s) => s.uuid)).size).toBe(3);
  });

  it('for a generic client: the order pair stays one suggestion of two actions', () => {
    const card = render('generic');
    expect(card.suggestions!.map((s) => s.actions!.length)).toEqual([1, 2]);
    expect(card.selectionBehavior).toBe('any');
  });

  it('for Oracle Health: the app link carries no appContext (it is not passed on); for the others it does', () => {
    expect(render('oracle').links!.find((l) => l.type === 'smart')).not.toHaveProperty('appContext');
    expect(render('epic').links!.find((l) => l.type === 'smart')?.appContext).toBe('{"ruleId":"glucocorticoid-bone"}');
  });

  it('picks a selectionBehavior the EHR supports: at-most-one for one suggestion, any where that is all it takes', () => {
    expect(selectionBehaviorFor({ selectionBehaviors: ['at-most-one', 'any'] }, 1)).toBe('at-most-one');
    expect(selectionBehaviorFor({ selectionBehaviors: ['any'] }, 1)).toBe('any');
    expect(selectionBehaviorFor({ selectionBehaviors: ['at-most-one', 'any'] }, 2)).toBe('any');
  });
});
