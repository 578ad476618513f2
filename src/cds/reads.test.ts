import { describe, expect, it } from 'vitest';
import { fillTokens } from './reads';
import { loadServices } from './services';

/** What a proxy that normalises `//` across the whole URL (the SMART App Launcher's) does to a request. */
const collapseSlashes = (url: string) => url.replace(/\/{2,}/g, '/');

describe('a filled prefetch template', () => {
  it('percent-encodes every query value, system URLs and bars included, and keeps the commas of an "or"', () => {
    const url = fillTokens(
      'k',
      'Observation?patient={{context.patientId}}&code=http://loinc.org|2160-0,http://loinc.org|14682-9&_sort=-date',
      { patientId: 'p 1' },
    );
    expect(url).toBe(
      'Observation?patient=p%201&code=http%3A%2F%2Floinc.org%7C2160-0,http%3A%2F%2Floinc.org%7C14682-9&_sort=-date',
    );
  });

  it('does not encode a value twice when the template is already encoded', () => {
    expect(fillTokens('k', 'Observation?code=http%3A%2F%2Floinc.org%7C2160-0', {})).toBe(
      'Observation?code=http%3A%2F%2Floinc.org%7C2160-0',
    );
  });

  it('of every configured service survives a proxy that collapses // and means what the template says', () => {
    for (const s of loadServices().values()) {
      for (const [key, template] of Object.entries(s.definition.discovery.prefetch ?? {})) {
        const url = fillTokens(key, template, { patientId: 'p1', userId: 'Practitioner/u1' });
        expect(collapseSlashes(url), `${s.definition.discovery.id} ${key}`).toBe(url);
        const q = template.indexOf('?');
        if (q < 0) continue;
        const sent = new URLSearchParams(url.slice(url.indexOf('?') + 1));
        const meant = new URLSearchParams(template.slice(q + 1).replace(/\{\{context\.patientId\}\}/g, 'p1'));
        expect([...sent.entries()], `${s.definition.discovery.id} ${key}`).toEqual([...meant.entries()]);
      }
    }
  });
});
