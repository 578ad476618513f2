import { describe, expect, it } from 'vitest';
import { memoText } from './memo';

describe('memoText', () => {
  it('answers what the function answers, and asks the function once per text', () => {
    const seen: string[] = [];
    const upper = memoText((t) => {
      seen.push(t);
      return t.toUpperCase();
    });
    expect([upper('a'), upper('b'), upper('a'), upper('')]).toEqual(['A', 'B', 'A', '']);
    expect(seen).toEqual(['a', 'b', '']);
  });

  it('forgets everything when full rather than grow past its bound', () => {
    let calls = 0;
    const same = memoText((t) => {
      calls += 1;
      return t;
    }, 2);
    same('a');
    same('b');
    same('c'); // full: starts again with c
    same('c');
    same('a');
    expect(calls).toBe(4);
  });
});
