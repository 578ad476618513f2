import type { Store } from './types';

/**
 * The JWT replay cache kept in the store, so replicas sharing PostgreSQL refuse a token replayed
 * against any of them. Shaped as client authentication asks of a replay cache: `remember(key,
 * expiresAtMs)` with the key `iss + "\u0000" + jti`, true only the first time before expiry.
 */
export class StoreReplayCache {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  remember(key: string, expiresAtMs: number): Promise<boolean> {
    const cut = key.indexOf('\u0000');
    const [iss, jti] = cut >= 0 ? [key.slice(0, cut), key.slice(cut + 1)] : ['', key];
    return this.store.rememberJti(iss, jti, new Date(expiresAtMs), new Date(this.now()));
  }
}
