import { describe, expect, it } from 'vitest';
import { cardText, malformed, placeholders, reasonFrom, render } from './text';

describe('text templates', () => {
  it('fill named placeholders and format a number to the decimals asked for', () => {
    expect(render('CCR {ccr:2} is below {threshold:2} for {sex}', { ccr: 0.6, threshold: 0.7, sex: 'women' })).toBe(
      'CCR 0.60 is below 0.70 for women',
    );
  });

  it('insert a value as given when no decimals are asked for', () => {
    expect(render('age {age} is under {minimum}', { age: 16, minimum: 18 })).toBe('age 16 is under 18');
  });

  it('throw on a placeholder without a value rather than put "{name}" on a card', () => {
    expect(() => render('below {minimum}', {})).toThrow(/needs \{minimum\}/);
  });

  it('throw on a malformed placeholder', () => {
    expect(malformed('below {minimum')).toBeDefined();
    expect(() => render('below {mini mum}', { minimum: 1 })).toThrow(/malformed/);
  });

  it('refuse to format text as a number', () => {
    expect(() => render('{x:1}', { x: 'one' })).toThrow(/not a number/);
  });

  it('list the placeholders a template uses, once each', () => {
    expect(placeholders('{a} and {b:2} and {a}')).toEqual(['a', 'b']);
  });

  it('build a reason whose text comes from the template and whose numbers stay as parameters', () => {
    const r = reasonFrom({ reasons: { 'age-below-minimum': 'age {age} is under {minimum}' } }, 'age-below-minimum', {
      age: 40,
      minimum: 50,
    });
    expect(r).toEqual({ code: 'age-below-minimum', text: 'age 40 is under 50', params: { age: 40, minimum: 50 } });
  });

  it('keep names and references in the words only, not in the parameters', () => {
    const r = reasonFrom({ reasons: { 'recent-dxa': 'DXA {reference} is within {months} months' } }, 'recent-dxa', {
      reference: 'DiagnosticReport/d',
      months: 24,
    });
    expect(r).toEqual({
      code: 'recent-dxa',
      text: 'DXA DiagnosticReport/d is within 24 months',
      params: { months: 24 },
    });
  });

  it('throw when a rule asks for a sentence its text does not have', () => {
    expect(() => cardText({ card: {} }, 'lead')).toThrow(/no card template "lead"/);
    expect(() => reasonFrom(undefined, 'x')).toThrow(/no reason template "x"/);
  });
});
