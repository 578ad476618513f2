/**
 * Remembers JWT ids for as long as their tokens live, so a captured token cannot be replayed.
 * In memory here; a shared store can implement the same interface for several replicas.
 */
export interface ReplayCache {
  /** True the first time a key is seen before `expiresAtMs`; false for a replay (or when full: fail closed). */
  remember(key: string, expiresAtMs: number): Promise<boolean>;
}

export class MemoryReplayCache implements ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  async remember(key: string, expiresAtMs: number): Promise<boolean> {
    const t = this.now();
    const prior = this.seen.get(key);
    if (prior !== undefined && prior > t) return false;
    if (this.seen.size >= this.maxEntries) this.purge(t);
    if (this.seen.size >= this.maxEntries) return false;
    this.seen.set(key, expiresAtMs);
    return true;
  }

  private purge(t: number): void {
    for (const [k, exp] of this.seen) if (exp <= t) this.seen.delete(k);
  }
}
