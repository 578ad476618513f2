import { describe, expect, it } from 'vitest';
import { MemoryReplayCache } from './replay';

describe('the jti replay cache', () => {
  it('accepts a jti once and refuses it again while the token lives', async () => {
    let now = 1_000;
    const c = new MemoryReplayCache(10, () => now);
    expect(await c.remember('iss\u0000a', 5_000)).toBe(true);
    expect(await c.remember('iss\u0000a', 5_000)).toBe(false);
    now = 6_000;
    expect(await c.remember('iss\u0000a', 9_000)).toBe(true);
  });

  it('fails closed when full of live entries, after purging the expired ones', async () => {
    let now = 0;
    const c = new MemoryReplayCache(2, () => now);
    await c.remember('a', 10);
    await c.remember('b', 1_000);
    now = 20;
    expect(await c.remember('c', 1_000)).toBe(true); // 'a' expired and was purged
    expect(await c.remember('d', 1_000)).toBe(false);
  });
});
