import { describe, expect, it } from 'vitest';
import { JsonDepthCounter, withinDepth } from './json-depth';

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('the JSON depth counter', () => {
  it('counts objects and arrays alike, and agrees with the nesting JSON.parse sees', () => {
    for (const [text, depth] of [
      ['{}', 1],
      ['[[[]]]', 3],
      ['{"a":[{"b":{}}]}', 4],
      ['"[[[["', 0],
      ['[1,[2,[3]],{"x":[]}]', 3],
    ] as const) {
      JSON.parse(text);
      const c = new JsonDepthCounter(100);
      expect(c.feed(bytes(text))).toBe(true);
      expect(c.maxSeen).toBe(depth);
      expect(withinDepth(bytes(text), depth)).toBe(true);
      if (depth > 0) expect(withinDepth(bytes(text), depth - 1)).toBe(false);
    }
  });

  it('does not count brackets inside strings, escaped quotes and backslashes included', () => {
    const text = JSON.stringify({ a: '[[[[\\"{{{{', b: ['\\', '"[', 'ü[ü{'] });
    const c = new JsonDepthCounter(2);
    expect(c.feed(bytes(text))).toBe(true);
    expect(c.maxSeen).toBe(2);
  });

  it('keeps its place across chunks split anywhere, even inside an escape or a multi-byte character', () => {
    const text = bytes(JSON.stringify({ s: 'x\\"]]]ü', deep: [[[[{ t: '}' }]]]] }));
    for (let cut = 1; cut < text.length; cut++) {
      const c = new JsonDepthCounter(100);
      c.feed(text.subarray(0, cut));
      c.feed(text.subarray(cut));
      expect(c.maxSeen).toBe(6);
    }
  });

  it('stops at the first byte past the limit of a million-deep text, in milliseconds', () => {
    const text = bytes(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
    const t0 = performance.now();
    expect(withinDepth(text, 100)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(50);
  });
});
