/**
 * Spent DPoP proofs at a resource (RFC 9449 §11.1), in this instance's memory: a proof's `jti` is
 * remembered until the proof would be stale anyway, so each is accepted once per instance. Bounded,
 * and failing closed: only expired entries are ever forgotten, so a flood cannot push a live
 * proof out to make its replay acceptable. When the cache is full of live proofs, new ones are
 * refused until some expire; each key (`jkt`) may hold at most `maxPerKey` of them, so one
 * client's flood of proofs with its own key fills its own share, not everyone's. Instances do not
 * share it (each Lambda container has its own): `ath`, `htm`, `htu` and the short `iat` window are
 * what limit a proof replayed to another one.
 */
export class ProofReplayCache {
  /** key → its group and expiry (epoch seconds), in insertion order, roughly expiry order. */
  private readonly spent = new Map<string, { group: string; until: number }>();
  private readonly perGroup = new Map<string, number>();

  constructor(
    private readonly maxEntries = 50_000,
    private readonly maxPerKey = 1_000,
  ) {}

  /**
   * True for the first claim of `key` while it is live; false for a replay, and false while the
   * cache (or this `group`'s share of it) is full of live proofs.
   */
  claim(key: string, group: string, until: number, now: number): boolean {
    this.forgetExpired(now);
    if (this.spent.has(key)) return false;
    const inGroup = this.perGroup.get(group) ?? 0;
    if (this.spent.size >= this.maxEntries || inGroup >= this.maxPerKey) return false;
    this.spent.set(key, { group, until });
    this.perGroup.set(group, inGroup + 1);
    return true;
  }

  get size(): number {
    return this.spent.size;
  }

  private forgetExpired(now: number): void {
    for (const [key, { group, until }] of this.spent) {
      if (until >= now) break;
      this.spent.delete(key);
      const left = (this.perGroup.get(group) ?? 1) - 1;
      if (left > 0) this.perGroup.set(group, left);
      else this.perGroup.delete(group);
    }
  }
}
