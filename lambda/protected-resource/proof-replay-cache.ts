/**
 * Spent DPoP proofs at a resource (RFC 9449 §11.1), in this instance's memory: a proof's `jti` is
 * remembered until the proof would be stale anyway, so each is accepted once per instance. Bounded:
 * past `maxEntries` the entries nearest their expiry go first, so memory stays flat under a flood,
 * at the price of forgetting early. Instances do not share it (each Lambda container has its own):
 * `ath`, `htm`, `htu` and the short `iat` window are what limit a proof replayed to another one.
 */
export class ProofReplayCache {
  /** key → expiry (epoch seconds), in insertion order, which is roughly expiry order. */
  private readonly spent = new Map<string, number>();

  constructor(private readonly maxEntries = 50_000) {}

  /** True for the first claim of `key` while it is live; false for a replay. */
  claim(key: string, until: number, now: number): boolean {
    const expiry = this.spent.get(key);
    if (expiry !== undefined && expiry >= now) return false;
    if (expiry !== undefined) this.spent.delete(key);
    this.evict(now);
    this.spent.set(key, until);
    return true;
  }

  get size(): number {
    return this.spent.size;
  }

  private evict(now: number): void {
    for (const [key, expiry] of this.spent) {
      if (this.spent.size < this.maxEntries && expiry >= now) break;
      this.spent.delete(key);
    }
  }
}
